"""The engine: collect, evaluate, record; readiness per category."""
