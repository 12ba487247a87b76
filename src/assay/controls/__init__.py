"""Controls: models, YAML loading with file:line:col errors."""
