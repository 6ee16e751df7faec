"""The three things analytics reads from a trade's `plan_json`, read by SQLite where it can.

`record_from_row` needs the plan's TP2 level, its stop, and for an imported trade whether MFE
and MAE were recorded. Parsing every plan with Python's `json` was a large part of reading a
long journal (issue 18 item 8: 100k plans per `cockpit report`). SQLite's JSON functions read
them in C instead, and only plans they cannot answer exactly are parsed in Python:

- a plan is read by SQLite ("simple") when it is valid RFC 8259 JSON (Python also accepts NaN
  and Infinity, SQLite's `json_valid` does not: those go to Python), an object, without an
  "import" section, and neither TP2 nor stop is `true` (Python reads `true` as the number 1);
- a number is returned as its own JSON text (`->`), and Python's `float` parses that text, as
  `json.loads` would: the same double to the bit, never SQLite's own text-to-double;
- anything else (an import, a malformed or odd plan) comes back whole and is parsed in Python.

One difference is left on purpose: in a plan with the same key twice, SQLite reads the first
and Python the last. The cockpit writes plans with `json.dumps` of a dict, which never repeats
a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

_VALID: Final = "json_valid(plan_json)"
_SIMPLE: Final = (
    f"CASE WHEN {_VALID} THEN CASE WHEN json_type(plan_json) = 'object'"
    " AND json_type(plan_json, '$.import') IS NULL"
    " AND coalesce(json_type(plan_json, '$.tp2_price'), '') != 'true'"
    " AND coalesce(json_type(plan_json, '$.stop_loss'), '') != 'true'"
    " THEN 1 ELSE 0 END ELSE 0 END"
)


def _number(key: str) -> str:
    return (
        f"CASE WHEN {_VALID} THEN CASE WHEN json_type(plan_json, '$.{key}')"
        f" IN ('integer', 'real') THEN plan_json -> '$.{key}' END END"
    )


PLAN_COLUMNS: Final[tuple[str, ...]] = ("plan_simple", "plan_tp2", "plan_stop", "plan_json")
"""What replaces `plan_json` in a select (`PLAN_SQL`), by name."""

PLAN_SQL: Final = ", ".join(
    (
        f"({_SIMPLE}) AS plan_simple",
        f"({_number('tp2_price')}) AS plan_tp2",
        f"({_number('stop_loss')}) AS plan_stop",
        f"(CASE WHEN ({_SIMPLE}) = 1 THEN NULL ELSE plan_json END) AS plan_json",
    )
)
"""SQLite select terms for `PLAN_COLUMNS` (the whole plan only when Python must parse it)."""


def plan_fields(row: Mapping[str, Any]) -> tuple[float | None, float | None, bool, bool]:
    """(TP2 level, plan stop, MFE recorded, MAE recorded) of a row with either `PLAN_COLUMNS`
    (read through `PLAN_SQL`) or only `plan_json` (an ORM row)."""
    return plan_values(
        row.get("plan_simple"), row.get("plan_tp2"), row.get("plan_stop"), row["plan_json"]
    )


def plan_values(
    simple: int | None, tp2: str | None, stop: str | None, text: str | None
) -> tuple[float | None, float | None, bool, bool]:
    """`plan_fields` of the four `PLAN_COLUMNS` values."""
    if simple == 1:
        return _positive(tp2), _positive(stop), True, True
    plan = _plan_dict(text or "")
    source = plan.get("import")
    imported = source if isinstance(source, dict) else {}
    return (
        _positive_value(plan.get("tp2_price")),
        _positive_value(plan.get("stop_loss")),
        bool(imported.get("mfe_recorded", True)),
        bool(imported.get("mae_recorded", True)),
    )


def _positive(text: str | None) -> float | None:
    """A JSON number's text as `json.loads` reads it, kept when above 0."""
    if text is None:
        return None
    value = float(text)
    return value if value > 0 else None


def _positive_value(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _plan_dict(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
