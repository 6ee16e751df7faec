"""Exceptions the store raises to its callers (database errors from SQLAlchemy pass through)."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for errors raised by `state`."""


class StoreClosedError(StoreError):
    """A write or read arrived after `Store.close()`, or the writer task is gone."""


class NotFoundError(StoreError, LookupError):
    """A write referred to an order or trade id the database does not have."""
