"""pdf package."""
