"""Sending one Drift transaction: priced, signed once, rebroadcast, confirmed within a deadline.

driftpy's own sender adds no priority fee, waits up to ~90 s for a confirmation and never reads
the transaction's error, so a landed failure looked like success. Here:

- every transaction asks for `drift.compute_unit_limit` compute units at a priority fee per unit
  (fixed, or a percentile of `getRecentPrioritizationFees`, read at most every 10 s);
- it is signed once and the *same bytes* are rebroadcast every `drift.rebroadcast_s` (one
  signature can land only once, so a rebroadcast never doubles an order) while its status is
  read every `drift.signature_poll_s`, until it is confirmed or `drift.send_deadline_s` passed;
- a simulation failure (preflight) or a confirmed transaction with an error raises `TxFailed`
  with the program's own error name and message: nothing happened on chain;
- past the deadline `SendExpired` says the transaction may still land, until its blockhash's
  `last_valid_block_height`; `attempt_state` later tells whether it did.

The clock and the sleep are injected, so tests drive the deadline without wall-clock races;
each RPC request is also bounded by what is left of the deadline. driftpy, solana and solders
are imported only inside functions (they cost seconds to import).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.base import BrokerError
from adapters.drift.errors import describe_error
from cockpit.config import DriftConfig

log = logging.getLogger(__name__)

Clock = Callable[[], int]
Sleep = Callable[[float], Awaitable[None]]

FEE_CACHE_MS = 10_000
"""How long a read of the recent prioritization fees is used before it is read again."""


class TxFailed(BrokerError):
    """The program refused the transaction (simulated or landed with an error): nothing changed
    on chain. `reason` is the program's error name and message ("OrderDoesNotExist (6061): ...").
    """

    def __init__(self, message: str, reason: str, signature: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.cause = reason
        self.signature = signature


class NotSent(BrokerError):
    """Nothing reached the network (no blockhash, or the transaction could not be built)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.cause = message


class SendExpired(BrokerError):
    """Not confirmed within the deadline. The transaction may still land until the chain passes
    `last_valid_block_height`; it is never sent again (a new one would be a second order)."""

    def __init__(
        self, message: str, signature: str, last_valid_block_height: int, cause: str
    ) -> None:
        super().__init__(message)
        self.signature = signature
        self.last_valid_block_height = last_valid_block_height
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Sent:
    signature: str
    slot: int
    last_valid_block_height: int


class Sender:
    """Sends instructions for one fee payer over one RPC connection (see the module docstring)."""

    def __init__(
        self,
        connection: Any,
        payer: Any,
        config: DriftConfig,
        *,
        program_errors: dict[int, tuple[str, str]],
        clock: Clock,
        sleep: Sleep,
        fee_accounts: Callable[[], Sequence[str]] = list,
    ) -> None:
        self._connection = connection
        self._payer = payer
        self._config = config
        self._errors = program_errors
        self._clock = clock
        self._sleep = sleep
        self._fee_accounts = fee_accounts
        self._fee: tuple[int, int] | None = None  # (read at ms, micro-lamports)
        self.last_fee: int | None = None
        """The priority fee (micro-lamports per compute unit) of the last transaction built."""

    # ------------------------------------------------------------------ the fee
    async def priority_fee(self) -> int:
        """Micro-lamports per compute unit: the fixed fee, or the configured percentile of the
        recent prioritization fees (at least the fixed fee, at most the max). A failed read
        falls back to the fixed fee: a fee must never stop a stop from going out."""
        cfg = self._config
        fixed = cfg.priority_fee_micro_lamports
        if cfg.priority_fee_percentile is None:
            return fixed
        now = self._clock()
        if self._fee is not None and now - self._fee[0] < FEE_CACHE_MS:
            return self._fee[1]
        try:
            async with asyncio.timeout(max(cfg.send_deadline_s / 4, 0.1)):
                fees = await self._recent_fees()
        except Exception as exc:
            log.warning(
                "drift: recent priority fees unreadable (%s); fixed fee", describe_error(exc)
            )
            return fixed
        fee = min(
            max(percentile(fees, cfg.priority_fee_percentile), fixed),
            cfg.priority_fee_max_micro_lamports,
        )
        self._fee = (now, fee)
        return fee

    async def _recent_fees(self) -> list[int]:
        """`getRecentPrioritizationFees` for the accounts the orders write (solana-py 0.36 has
        no method for it: the same raw JSON-RPC request driftpy's fee subscriber sends)."""
        provider = self._connection._provider
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getRecentPrioritizationFees",
            "params": [list(self._fee_accounts())],
        }
        resp = await provider.session.post(provider.endpoint_uri, json=body)
        resp.raise_for_status()
        payload = resp.json()
        if "error" in payload:
            raise RuntimeError(f"getRecentPrioritizationFees: {payload['error'].get('message')}")
        return [int(item["prioritizationFee"]) for item in payload.get("result") or []]

    # ------------------------------------------------------------------ sending
    async def send(self, ixs: Sequence[Any], lookup_tables: Sequence[Any]) -> Sent:
        """Price, sign and send `ixs` as one transaction; see the module docstring."""
        from solana.rpc.commitment import Confirmed
        from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
        from solders.message import MessageV0
        from solders.transaction import VersionedTransaction

        cfg = self._config
        deadline = self._clock() + int(cfg.send_deadline_s * 1000)
        fee = await self.priority_fee()
        self.last_fee = fee
        budget = [set_compute_unit_limit(cfg.compute_unit_limit), set_compute_unit_price(fee)]
        try:
            async with asyncio.timeout(self._left(deadline)):
                latest = (await self._connection.get_latest_blockhash(Confirmed)).value
            message = MessageV0.try_compile(
                self._payer.pubkey(), [*budget, *ixs], list(lookup_tables), latest.blockhash
            )
            tx = VersionedTransaction(message, [self._payer])
        except Exception as exc:  # nothing was broadcast: the caller may try again
            raise NotSent(f"transaction not sent: {describe_error(exc)}") from None
        signature = tx.signatures[0]
        last_valid = int(latest.last_valid_block_height)
        raw = bytes(tx)
        return await self._until_confirmed(raw, signature, last_valid, deadline, len(budget))

    async def _until_confirmed(
        self, raw: bytes, signature: Any, last_valid: int, deadline: int, offset: int
    ) -> Sent:
        cfg = self._config
        next_broadcast = self._clock()
        broadcasts = 0
        last_error = ""
        while True:
            now = self._clock()
            if now >= next_broadcast:
                next_broadcast = now + int(cfg.rebroadcast_s * 1000)
                try:
                    # Only the first broadcast is simulated: a rebroadcast of a transaction that
                    # has landed would fail its simulation ("already processed").
                    await self._broadcast(raw, deadline, offset, preflight=not broadcasts)
                    broadcasts += 1
                except TxFailed:
                    raise
                except Exception as exc:  # the RPC did not take it: rebroadcast, same bytes
                    last_error = describe_error(exc)
                    log.warning("drift: broadcasting %s failed: %s", signature, last_error)
            if broadcasts:
                status = await self._status(signature, deadline)
                if status is not None:
                    if status.err is not None:
                        reason = self.explain(status.err, offset)
                        raise TxFailed(
                            f"transaction {signature} landed with an error: {reason}",
                            reason,
                            str(signature),
                        )
                    if _confirmed(status):
                        return Sent(str(signature), int(status.slot), last_valid)
            if self._clock() >= deadline:
                what = "not confirmed" if broadcasts else "never taken by the RPC"
                cause = f"{what} within {cfg.send_deadline_s:g} s" + (
                    f" (last error: {last_error})" if last_error and not broadcasts else ""
                )
                raise SendExpired(
                    f"transaction {signature} {cause}; it may still land until block height "
                    f"{last_valid}",
                    str(signature),
                    last_valid,
                    cause,
                )
            await self._sleep(min(cfg.signature_poll_s, cfg.rebroadcast_s))

    async def _broadcast(self, raw: bytes, deadline: int, offset: int, *, preflight: bool) -> None:
        from solana.rpc.commitment import Confirmed
        from solana.rpc.core import RPCException
        from solana.rpc.types import TxOpts
        from solders.transaction_status import TransactionErrorFieldless

        opts = TxOpts(
            skip_confirmation=True,
            skip_preflight=not preflight,
            preflight_commitment=Confirmed,
            max_retries=0,
        )
        try:
            async with asyncio.timeout(self._left(deadline)):
                await self._connection.send_raw_transaction(raw, opts)
        except RPCException as exc:
            failure = _preflight_failure(exc)
            if failure is None or failure == TransactionErrorFieldless.BlockhashNotFound:
                raise  # the RPC node is behind or unwell: rebroadcast later
            if failure == TransactionErrorFieldless.AlreadyProcessed:
                return  # it has landed: its status says how
            reason = self.explain(failure, offset)
            raise TxFailed(f"Drift refused the transaction: {reason}", reason) from None

    async def _status(self, signature: Any, deadline: int) -> Any | None:
        try:
            async with asyncio.timeout(self._left(deadline)):
                resp = await self._connection.get_signature_statuses([signature])
        except Exception as exc:  # unreadable now: read again on the next round
            log.warning(
                "drift: reading the status of %s failed: %s", signature, describe_error(exc)
            )
            return None
        return resp.value[0]

    def _left(self, deadline: int) -> float:
        """Seconds left before `deadline` for one request (at least a moment to try)."""
        return max((deadline - self._clock()) / 1000, 0.05)

    # ------------------------------------------------------------------ after the deadline
    async def attempt_state(self, signature: str, last_valid_block_height: int) -> tuple[str, str]:
        """What became of a transaction that outlived its deadline: ("landed", ""),
        ("failed", reason), ("expired", "") once its blockhash can no longer land, or
        ("pending", "") while it still may. Two RPC reads; errors propagate."""
        from solders.signature import Signature

        sig = Signature.from_string(signature)
        resp = await self._connection.get_signature_statuses([sig], True)
        status = resp.value[0]
        if status is not None:
            if status.err is not None:
                return "failed", self.explain(status.err, 2)
            return "landed", ""
        height = (await self._connection.get_block_height()).value
        return ("expired", "") if int(height) > last_valid_block_height else ("pending", "")

    # ------------------------------------------------------------------ errors
    def explain(self, err: Any, offset: int) -> str:
        """A transaction error in the program's words: "OrderDoesNotExist (6061): Order does not
        exist" for a Drift error, the runtime's text for anything else."""
        from solders.transaction_status import (
            InstructionErrorCustom,
            TransactionErrorInstructionError,
        )

        if isinstance(err, TransactionErrorInstructionError):
            inner = err.err
            if isinstance(inner, InstructionErrorCustom):
                known = self._errors.get(int(inner.code))
                if known is not None:
                    return f"{known[0]} ({inner.code}): {known[1]}"
                which = "compute budget" if err.index < offset else "instruction"
                return f"custom program error {inner.code} in {which} {err.index}"
            return f"instruction {err.index}: {inner}"
        return str(err)


def percentile(values: Sequence[int], pct: float) -> int:
    """The `pct` percentile of `values` (nearest rank), 0 for none."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return int(ordered[min(rank, len(ordered)) - 1])


def program_errors(idl_errors: Sequence[Any]) -> dict[int, tuple[str, str]]:
    """code -> (name, message) from the program's IDL (anchorpy's IdlErrorCode list)."""
    out: dict[int, tuple[str, str]] = {}
    for e in idl_errors:
        out[int(e.code)] = (str(e.name), str(e.msg or e.name))
    return out


def _confirmed(status: Any) -> bool:
    from solders.transaction_status import TransactionConfirmationStatus

    level = status.confirmation_status
    return level in (
        TransactionConfirmationStatus.Confirmed,
        TransactionConfirmationStatus.Finalized,
    )


def _preflight_failure(exc: Exception) -> Any | None:
    """The transaction error of a failed simulation (the RPC's preflight), or None."""
    with contextlib.suppress(Exception):
        from solders.rpc.errors import SendTransactionPreflightFailureMessage

        message = exc.args[0] if exc.args else None
        if isinstance(message, SendTransactionPreflightFailureMessage):
            return message.data.err
    return None
