"""Use-case implementations; ``app.py`` is their facade."""
