"""Alembic revision scripts, one file per schema version (Alembic skips this `__init__`)."""
