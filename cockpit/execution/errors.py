"""The exceptions a trader's command can end in: the message is what the trader reads."""

from __future__ import annotations


class OrderRejected(Exception):
    """A user command could not be carried out; the message says why, in trader's words."""


class EntryPending(OrderRejected):
    """The entry went out to the venue but its fill is not confirmed yet: no position is listed
    until the account shows it (the session keeps watching; the message says so)."""

    ab_group: str | None = None
    """The A/B group the entry got (set by the entry path; it went out, so it used its turn)."""


def first_line(exc: BaseException) -> str:
    """An error as the event log says it: its first line, without the SQL statement and
    parameters SQLAlchemy appends (the log file has the whole of it)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
