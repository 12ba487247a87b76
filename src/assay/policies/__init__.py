"""Policy-as-code: CEL assertions over collected facts."""
