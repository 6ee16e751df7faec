"""What a manual runner action would do, in words, before the trader confirms it.

The dialogs (widgets/runner_dialogs.py) show these previews as the trader types; the app builds
them from the live position with the engine's own rules (`engine.manual`), so the dialog cannot
promise something the session would then refuse. No Textual here: a preview is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.domain import PositionState, favorable_move
from cockpit.engine.manual import (
    ManualRefused,
    StopInput,
    check_stop,
    check_trail_mult,
    close_amount,
    effective_trail_mult,
    stop_from_input,
    trail_stop_now,
)


@dataclass(frozen=True, slots=True)
class Preview:
    """`value` is what the dialog returns if confirmed (None: the input is refused, see text)."""

    value: float | None
    text: str
    loosens: bool = False


def parse_number(raw: str, what: str) -> float:
    """A number from a text field, or ManualRefused saying what was typed and what is wanted."""
    text = raw.strip().replace(",", "").removesuffix("%").strip()
    if not text:
        raise ManualRefused(f"enter {what}")
    try:
        return float(text)
    except ValueError:
        raise ManualRefused(f"'{raw.strip()}' is not a number; enter {what}") from None


def stop_preview(
    pos: PositionState,
    how: StopInput,
    raw: str,
    mark: float,
    *,
    price_tick: float | None = None,
) -> Preview:
    """The stop the input means, where it sits, and whether it loosens (and by how much).

    `price_tick` is the venue's price precision (None: the 4 decimals prices are shown with, see
    `engine.manual.same_price`); a stop equal to the current one at it reads `stop unchanged`
    and cannot be confirmed.
    """
    wanted = {
        StopInput.PRICE: "a stop price",
        StopInput.FROM_ENTRY: "a move from entry in % (e.g. -1 or 0.5)",
        StopInput.LOCK_MOVE: "the share of the move to lock in % (e.g. 50)",
    }[how]
    try:
        new = stop_from_input(pos, how, parse_number(raw, wanted), mark)
        check = check_stop(pos, new, mark, price_tick=price_tick)
    except ManualRefused as exc:
        return Preview(None, f"✗ {exc}")
    from_entry = 100.0 * favorable_move(pos.side, pos.entry, new)
    where = f"{new:.4f} ({from_entry:+.2f}% from entry, {check.distance_pct:.2f}% from mark)"
    if check.loosens:
        return Preview(
            new,
            f"⚠ {where} LOOSENS the stop from {check.old:.4f}: "
            f"{check.risk_change_quote:+.2f} USDT more at risk. Needs a second confirmation.",
            loosens=True,
        )
    return Preview(
        new,
        f"✓ {where} tightens the stop from {check.old:.4f} "
        f"({-check.risk_change_quote:.2f} USDT less at risk)",
    )


def close_preview(
    pos: PositionState, raw: str, mark: float, *, min_order_size: float = 0.0
) -> Preview:
    """How much a "close N % now" sends and what stays on.

    `min_order_size` is the venue's minimum order in base units (0 on paper): a close that would
    leave less than it closes everything and says so, and then confirms as 100 %, so the session
    does what the preview promised.
    """
    try:
        percent = parse_number(raw, "a share of the position in % (e.g. 50)")
        amount = close_amount(pos, percent, min_order_size=min_order_size)
    except ManualRefused as exc:
        return Preview(None, f"✗ {exc}")
    size = amount.size
    pnl = pos.side.sign * (mark - pos.entry) * size
    money = f"≈ {size * mark:.2f} USDT, P&L ≈ {pnl:+.2f}"
    if amount.below_minimum:
        return Preview(
            100.0,
            f"✓ closes all {size:.6g} {pos.symbol}: {amount.left_wanted:.6g} left would be below "
            f"the venue's minimum {min_order_size:.6g} ({money}), market, reduce-only",
        )
    left = pos.size - size
    rest = "closes the position" if left <= 0.0 or size == pos.size else f"leaves {left:.6g}"
    return Preview(
        percent,
        f"✓ market close of {size:.6g} {pos.symbol} ({money}), reduce-only; {rest}",
    )


def trail_preview(pos: PositionState, raw: str) -> Preview:
    """The trail the multiple gives now, and whether the engine would apply it."""
    try:
        mult = parse_number(raw, "a multiple of ATR (e.g. 2.5)")
        check_trail_mult(pos, mult)
    except ManualRefused as exc:
        return Preview(None, f"✗ {exc}")
    atr = pos.plan.atr or 0.0
    distance = mult * atr
    text = f"✓ trail {mult:g} x ATR {atr:.4g} = {distance:.4f} behind the peak"
    if not pos.trailing_active:
        return Preview(mult, text + "; starts when the runner does (after the last target)")
    trail = trail_stop_now(pos, mult)
    if trail is None:
        return Preview(mult, text)
    tighter = pos.side.sign * (trail - pos.stop) > 0.0
    effect = (
        f"moves the stop {pos.stop:.4f} -> {trail:.4f} on the next price"
        if tighter
        else f"would be {trail:.4f}, looser than the stop {pos.stop:.4f}, which stays"
    )
    resumes = " Resumes the paused trail." if pos.trail_paused else ""
    return Preview(mult, f"{text}: {effect}.{resumes}")


def trail_refusal(pos: PositionState) -> str | None:
    """Why the trailing dialog should not even open for `pos` (None: it may)."""
    try:
        check_trail_mult(pos, effective_trail_mult(pos) or 1.0)
    except ManualRefused as exc:
        return str(exc)
    return None
