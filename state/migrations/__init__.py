"""Alembic environment for the cockpit schema; run through `state.migrate`, no alembic.ini."""
