"""anaf package."""
