"""Event body models, one module per owning service."""
