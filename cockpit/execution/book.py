"""The open positions, one per (venue, symbol), the way the venues hold them (DESIGN.md 3).

Drift and one-way-mode exchange accounts keep ONE net position per market: a long and a short
on the same symbol cancel out on the venue, and neither can then be exited (every reduce-only
order finds nothing to reduce). So an entry on a symbol that already has an open position on the
same venue is refused before any order row, whichever side it is on (scaling in is out of scope
for now). A database written before this rule may hold two open positions on one symbol: both are
restored, flagged, each can still be closed, and no entry on that symbol is accepted until they
are resolved.
"""

from __future__ import annotations

from collections import defaultdict

from cockpit.domain import PositionState, Side

HEDGED = "hedged"
"""The red label of a position that shares its (venue, symbol) with another open one."""


class PositionBook:
    """The session's open positions (the same list the UI renders) and the netting rule."""

    def __init__(self, positions: list[PositionState]) -> None:
        self.positions = positions
        # trade id -> why it is flagged (restored beside another open position on its symbol)
        self.hedged: dict[int, str] = {}
        # symbol -> its open positions, so a tick touches only its own symbol's positions (the
        # feed loop runs once per tick per symbol: a scan of every position would be N x N).
        self._by_symbol: dict[str, tuple[PositionState, ...]] = {}
        self._index()

    def _index(self) -> None:
        by_symbol: dict[str, list[PositionState]] = defaultdict(list)
        for pos in self.positions:
            by_symbol[pos.symbol].append(pos)
        self._by_symbol = {symbol: tuple(group) for symbol, group in by_symbol.items()}

    def of_symbol(self, symbol: str) -> tuple[PositionState, ...]:
        """The open positions on `symbol` (any venue); a snapshot, safe to iterate while one
        of them closes."""
        return self._by_symbol.get(symbol, ())

    def find(self, trade_id: int) -> PositionState | None:
        return next((p for p in self.positions if p.trade_id == trade_id), None)

    def on(self, venue: str, symbol: str) -> list[PositionState]:
        """The open positions on one venue's market (one, unless restored from before the rule)."""
        return [p for p in self.positions if p.venue == venue and p.symbol == symbol]

    def add(self, pos: PositionState) -> None:
        self.positions.append(pos)
        self._index()

    def remove(self, pos: PositionState) -> None:
        if pos in self.positions:
            self.positions.remove(pos)
            self._index()
        if pos.trade_id is not None:
            self.hedged.pop(pos.trade_id, None)
        self._unflag_lone_positions()

    def entry_refusal(
        self, venue: str, symbol: str, side: Side, pending_entries: int = 0
    ) -> str | None:
        """Why an entry on (venue, symbol) must not go out, or None.

        `pending_entries` counts entries sent on that market whose fill is not confirmed yet: they
        may still become the position.
        """
        held = self.on(venue, symbol)
        if len(held) > 1:
            ids = ", ".join(f"#{p.trade_id}" for p in held)
            return (
                f"{symbol} on {venue} holds {len(held)} open positions ({ids}) that the venue nets "
                "into one: close them first; no entry on it until they are resolved"
            )
        if held:
            pos = held[0]
            what = (
                "close it first"
                if pos.side is not side
                else "scaling in is not supported: close it first"
            )
            return f"already {pos.side.value} {symbol} #{pos.trade_id}: {what}"
        if pending_entries:
            return (
                f"an entry on {symbol} is placed on {venue} and not confirmed yet: wait for it "
                "(the venue holds one position per market)"
            )
        return None

    def flag_hedged(self) -> list[str]:
        """Flag every position that shares its (venue, symbol) with another open one (a database
        from before the rule); returns one line per flagged market for the event log."""
        groups: dict[tuple[str, str], list[PositionState]] = defaultdict(list)
        for pos in self.positions:
            groups[(pos.venue, pos.symbol)].append(pos)
        lines = []
        for (venue, symbol), group in groups.items():
            if len(group) < 2:
                continue
            ids = ", ".join(f"#{p.trade_id} {p.side.value} {p.size:g}" for p in group)
            for pos in group:
                if pos.trade_id is not None:
                    self.hedged[pos.trade_id] = (
                        f"{HEDGED}: {symbol} holds {len(group)} open positions on {venue}, which "
                        "the venue nets into one; close them (c), no entry on it until then"
                    )
            lines.append(
                f"{symbol} on {venue} has {len(group)} open positions ({ids}); the venue nets "
                "them into one: each can still be closed (c), no entry on it until they are"
            )
        return lines

    def _unflag_lone_positions(self) -> None:
        for trade_id in list(self.hedged):
            pos = self.find(trade_id)
            if pos is None or len(self.on(pos.venue, pos.symbol)) < 2:
                self.hedged.pop(trade_id, None)
