"""The exceptions a trader's command can end in: the message is what the trader reads."""

from __future__ import annotations


class OrderRejected(Exception):
    """A user command could not be carried out; the message says why, in trader's words."""


class EntryPending(OrderRejected):
    """The entry went out to the venue but its fill is not confirmed yet: no position is listed
    until the account shows it (the session keeps watching; the message says so)."""
