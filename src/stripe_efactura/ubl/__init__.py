"""ubl package."""
