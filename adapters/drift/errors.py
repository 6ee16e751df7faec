"""The broker's errors and the short, single-line descriptions of RPC/driftpy errors."""

from __future__ import annotations

from adapters.base import BrokerError
from adapters.drift.orders import PlacedOrder


class OrderNotConfirmed(BrokerError):
    """Sent (or maybe sent) but the account does not show it yet: the order is "placed".

    The caller must keep its order row as placed and must not send a new order for the same
    intent while the transaction (`placed.tx_sig`) may still land, i.e. until the chain passes
    `placed.last_valid_block_height` (`attempt_state` tells). Calling again with the same
    OrderRequest checks the account before sending anything.
    """

    def __init__(self, message: str, placed: PlacedOrder, cause: str = "") -> None:
        super().__init__(message)
        self.placed = placed
        self.cause = cause or message
        """The venue's or the RPC's own words, short enough for a table's note."""


class Refused(BrokerError):
    """Nothing happened on chain: the program refused the order (its error in `cause`), or it
    could not be sent at all. The caller treats it as a rejection with this reason."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message


class StopNotPlaced(BrokerError):
    """The on-chain stop could not be placed or moved: keep a software stop and retry."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message


class OrderGone(StopNotPlaced):
    """The order is not on the venue (any more): a stop cancelled behind the cockpit's back, or
    a modify the program refused with `OrderDoesNotExist` (MustModify). Re-sending the same
    instruction cannot help; the caller places a new stop."""


GONE_MARKERS = ("OrderDoesNotExist", "Order does not exist", "0x17ad")
"""How the program says an order id is unknown (error 6061 = 0x17ad, by name or message)."""


def is_gone(text: str) -> bool:
    return any(marker in text for marker in GONE_MARKERS)


def describe_error(exc: BaseException) -> str:
    """A short, single-line description of an RPC/driftpy error for logs and the feed status."""
    text = " ".join(str(exc).split())
    if not text and exc.__cause__ is not None and exc.__cause__ is not exc:
        # solana-py wraps httpx errors in a SolanaRpcException with no text of its own
        text = describe_error(exc.__cause__)
    if len(text) > 240:
        text = text[:240] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_rate_limit(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "429" in text or "too many requests" in text or "rate limit" in text
