"""What the broker sent and what the account says about it: PlacedOrder, Confirmation."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.drift.fills import PositionMark
from cockpit.domain import Fill, OrderSide


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order the broker sent (or tried to), with the account state it was sent against.

    Amounts are Drift integers: base in BASE_PRECISION, prices in PRICE_PRECISION. The
    `*_before` fields are the market's position when the order was built (adapters/drift/fills.py
    PositionMark); a fill is read as the change from them, net of funding and settled P&L.
    """

    client_order_id: str
    user_order_id: int
    symbol: str
    market_index: int
    side: OrderSide
    base_amount: int
    reduce_only: bool
    kind: str
    reason: str
    sent_ms: int
    base_before: int = 0
    quote_before: int = 0
    settled_before: int = 0
    funding_before: int = 0
    trigger_price: int | None = None
    tx_sig: str | None = None
    slot: int = 0
    """The slot the transaction landed in (0 until one did): an account read older than this
    cannot tell whether the order is there."""
    last_valid_block_height: int = 0
    """Past this block height the transaction (`tx_sig`) can no longer land (0: unknown)."""

    @property
    def mark_before(self) -> PositionMark:
        return PositionMark(
            self.base_before, self.quote_before, self.settled_before, self.funding_before
        )


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the account says about a placed order: still `placed`, `open` (resting on the
    book), or `filled` (with the Fill the position change implies)."""

    placed: PlacedOrder
    status: str
    fill: Fill | None = None
