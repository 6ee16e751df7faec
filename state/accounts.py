"""Desk accounts: which account a row belongs to, stamped in one place.

A desk's cockpits share one database, one cockpit per account (the lock: `state.instance_lock`).
Each store session carries its account in `Session.info`; a `before_flush` hook stamps it on every
new row that has an `account` column (trades, orders, audit events: migration 0013), so no writer
job has to remember it and an import, an adopted position or an audit line all land on the
account of the cockpit that wrote them.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session

from cockpit.domain import ALL_ACCOUNTS, check_account

ACCOUNT_INFO_KEY: Final = "cockpit_account"
__all__ = ["ACCOUNT_INFO_KEY", "ALL_ACCOUNTS", "account_filter", "check_account"]


def account_filter(name: str) -> str | None:
    """An analytics `--account`: None for every account, else the checked name."""
    return None if name == ALL_ACCOUNTS else check_account(name)


@event.listens_for(Session, "before_flush")
def _stamp_account(session: Session, _context: Any, _instances: Any) -> None:
    account = session.info.get(ACCOUNT_INFO_KEY)
    if account is None:
        return
    for row in session.new:
        if hasattr(row, "account") and getattr(row, "account", None) is None:
            row.account = account
