"""Persistence: SQLAlchemy 2 models, Alembic migrations and the async single-writer `Store`.

Nothing here imports Textual. The session writes through `state.store.Store`; the UI only reads
the plain records in `state.records` (DESIGN.md section 4).
"""
