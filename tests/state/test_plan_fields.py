"""The plan's TP2, stop and import flags are read by SQLite's JSON functions when they can be
read exactly, and by Python's `json` otherwise: both ways must give the same fields, to the bit,
on every plan a journal can hold (issue 18 item 8)."""

from __future__ import annotations

import json
import sqlite3

from hypothesis import example, given, settings
from hypothesis import strategies as st

from state.plan_fields import PLAN_COLUMNS, PLAN_SQL, plan_fields

NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**25), 10**25),
    st.sampled_from([0, -0.0, 1e-320, 2.5e308, 0.1, 93.7055]),
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
IMPORTS = st.one_of(
    st.just(None),
    VALUES,
    st.fixed_dictionaries(
        {}, optional={"mfe_recorded": VALUES, "mae_recorded": VALUES, "file": st.text(max_size=4)}
    ),
)


@st.composite
def plans(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["object", "object", "object", "other", "text"]))
    if kind == "text":  # malformed, NaN, not JSON at all
        return draw(
            st.one_of(
                st.text(max_size=20),
                st.sampled_from(['{"tp2_price": NaN}', '{"stop_loss": Infinity}', "{", ""]),
            )
        )
    if kind == "other":
        return json.dumps(draw(VALUES))
    plan: dict[str, object] = {"policy": "fixed"}
    for key, values in (("tp2_price", VALUES), ("stop_loss", VALUES), ("import", IMPORTS)):
        if draw(st.booleans()):
            plan[key] = draw(values)
    return json.dumps(plan, sort_keys=draw(st.booleans()), indent=draw(st.sampled_from([None, 1])))


def read_by_sqlite(conn: sqlite3.Connection, text: str) -> tuple[object, ...]:
    values = conn.execute(f"SELECT {PLAN_SQL} FROM (SELECT ? AS plan_json)", (text,)).fetchone()
    return plan_fields(dict(zip(PLAN_COLUMNS, values, strict=True)))


@settings(max_examples=300)
@given(plans())
@example('{"tp2_price": true, "stop_loss": 5}')
@example('{"tp2_price": 0.1000000000000000055511151231257827, "stop_loss": 1E2}')
@example('{"tp2_price": 123456789012345678901234567890}')
@example('{"import": {"mfe_recorded": false}, "tp2_price": 2}')
@example('{"tp2_price": NaN, "stop_loss": 4}')
@example("[1, 2]")
def test_sqlite_reads_every_plan_as_python_json_does(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        got = read_by_sqlite(conn, text)
    finally:
        conn.close()
    assert got == plan_fields({"plan_json": text})
    assert [type(v) for v in got] == [type(v) for v in plan_fields({"plan_json": text})]


def test_a_plain_plan_is_read_by_sqlite_and_an_import_by_python() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        simple, tp2, stop, whole = conn.execute(
            f"SELECT {PLAN_SQL} FROM (SELECT ? AS plan_json)",
            ('{"tp2_price": 93.7055, "stop_loss": 90}',),
        ).fetchone()
        assert (simple, tp2, stop, whole) == (1, "93.7055", "90", None)  # no plan text sent
        imported = '{"import": {"mfe_recorded": false}, "tp2_price": 2}'
        row = conn.execute(
            f"SELECT {PLAN_SQL} FROM (SELECT ? AS plan_json)", (imported,)
        ).fetchone()
        assert row[0] == 0 and row[3] == imported
    finally:
        conn.close()
