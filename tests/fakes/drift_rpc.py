"""Solana's JSON-RPC, as far as sending Drift transactions goes, over httpx's MockTransport.

The DriftClient's real solana-py `AsyncClient` talks to it: real JSON-RPC request bodies in,
real JSON answers out (parsed by solders), no socket at all, so nothing can reach a network.
Served: getMultipleAccounts and getAccountInfo (the chain's accounts, encoded by the
program's own account coder), getLatestBlockhash, sendTransaction (the signed v0 transaction is
decoded with the IDL's instruction coder, recorded, and applied to the fake chain as the program
would), getSignatureStatuses, getBlockHeight, getRecentPrioritizationFees. Anything else is
answered with a JSON-RPC error and remembered in `unexpected`.

Faults are scripted per new transaction (the first broadcast of a signature), one entry of
`failures` each:
- ``"lost"``: HTTP 503, nothing lands (a rebroadcast of the same bytes is a new try);
- ``"dropped"``: taken, never lands (a send that never confirms);
- ``"late"``: taken, lands when the test calls `land_late()`;
- ``"landed"``: lands, its status never shows;
- ``"error:<Name>"``: lands with the program error <Name>;
- ``"hang"``: the request is held until `release()`, then taken, and it never lands;
- ``"ignored"``: lands, succeeds, changes nothing;
- None: lands.
`down` makes every broadcast a "lost" one. A program error of the fake chain fails the
simulation (preflight) or, without preflight, lands as the transaction's error.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from anchorpy.coder.accounts import AccountToSerialize
from driftpy.constants.config import DRIFT_PROGRAM_ID
from solders.hash import Hash
from solders.transaction import VersionedTransaction

BUDGET_IXS = 2  # compute-unit limit and price come first in every transaction


@dataclass
class DecodedIx:
    """One Drift instruction as the program would read it: its name, decoded arguments and
    the accounts it carries."""

    name: str
    args: dict[str, Any]
    accounts: list[Any] = field(default_factory=list)


@dataclass
class SentTx:
    instructions: list[DecodedIx]
    landed: bool
    error: str | None = None
    """The program's error (simulated or landed), or the RPC's refusal."""
    signature: str = ""
    compute_unit_limit: int | None = None
    compute_unit_price: int | None = None


@dataclass
class _Status:
    slot: int
    err: Any = None
    hidden: bool = False


class FakeRpc:
    """See the module docstring. `chain` is the FakeChain the transactions are applied to."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.failures: list[str | None] = []
        self.sent: list[SentTx] = []
        self.raw: list[bytes] = []
        self.requests: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.fees: list[int] = []
        """Recent prioritization fees getRecentPrioritizationFees answers with."""
        self.fee_accounts: list[list[str]] = []
        self.read_faults: list[int | str] = []
        """getMultipleAccounts faults, one per request: an HTTP status, or a JSON-RPC error."""
        self.status_faults = 0
        """How many getSignatureStatuses requests answer HTTP 503 from now on."""
        self.down = False
        """While True every sendTransaction answers HTTP 503 (an RPC that takes nothing)."""
        self.broadcasts = 0
        self.hanging = 0
        """Requests held by a "hang" fault right now."""
        self._statuses: dict[str, _Status] = {}
        self._dropped: set[str] = set()
        self._late: list[tuple[str, list[DecodedIx], SentTx]] = []
        self._release = asyncio.Event()

    # ------------------------------------------------------------------ wiring
    def install(self, connection: Any) -> None:
        """Make the solana-py AsyncClient `connection` talk to this fake."""
        provider = connection._provider
        provider.session = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def release(self) -> None:
        """Let every held ("hang") request go on."""
        self._release.set()

    def land_late(self) -> int:
        """The "late" transactions land now (in the order sent). Returns how many."""
        landed = 0
        for sig, decoded, record in self._late:
            for ix in decoded:
                self.chain.apply(ix)
            record.landed = True
            self._dropped.discard(sig)
            self._statuses[sig] = _Status(self.chain.slot)
            landed += 1
        self._late.clear()
        return landed

    @property
    def block_height(self) -> int:
        return int(self.chain.slot)

    # ------------------------------------------------------------------ what was sent
    def drift_ixs(self, landed_only: bool = False) -> list[DecodedIx]:
        return [ix for tx in self.sent if tx.landed or not landed_only for ix in tx.instructions]

    # ------------------------------------------------------------------ the wire
    async def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if isinstance(body, list):
            if body and body[0].get("method") == "getMultipleAccounts" and self.read_faults:
                self.requests["getMultipleAccounts"] += len(body)
                fault = self.read_faults.pop(0)
                if isinstance(fault, int):  # the whole batch refused at the HTTP level
                    return httpx.Response(fault, text="Too Many Requests")
                error = {"code": -32005, "message": fault}  # one error for the whole batch
                return httpx.Response(200, json={"jsonrpc": "2.0", "id": None, "error": error})
            answers = [await self._answer(one) for one in body]
            return httpx.Response(200, json=[a for a in answers if a is not None])
        try:
            answer = await self._answer(body)
        except _HttpError as exc:
            return httpx.Response(exc.status, text=exc.text)
        return httpx.Response(200, json=answer)

    async def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        method = str(body.get("method"))
        self.requests[method] += 1
        rid = body.get("id", 0)
        params = body.get("params") or []
        handler = {
            "getLatestBlockhash": self._blockhash,
            "sendTransaction": self._send,
            "getSignatureStatuses": self._statuses_of,
            "getBlockHeight": self._height,
            "getRecentPrioritizationFees": self._fees,
            "getMultipleAccounts": self._multiple_accounts,
            "getAccountInfo": self._account_info,
        }.get(method)
        if handler is None:
            self.unexpected.append(method)
            return _error(rid, -32601, f"the fake RPC does not serve {method}")
        return await handler(rid, params)

    def _context(self) -> dict[str, Any]:
        return {"slot": int(self.chain.slot)}

    async def _blockhash(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        value = {
            "blockhash": str(Hash.new_unique()),
            "lastValidBlockHeight": self.block_height + 150,
        }
        return {"jsonrpc": "2.0", "id": rid, "result": {"context": self._context(), "value": value}}

    async def _height(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": rid, "result": self.block_height}

    async def _fees(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        self.fee_accounts.append(list(params[0]) if params else [])
        result = [
            {"slot": int(self.chain.slot) - i, "prioritizationFee": fee}
            for i, fee in enumerate(self.fees)
        ]
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    # ------------------------------------------------------------------ account reads
    def account_bytes(self, pubkey: str) -> bytes | None:
        """The account's data as the chain holds it now (None: no such account)."""
        accounts = self.chain.accounts()
        found = accounts.get(pubkey)
        if found is None:
            return None
        name, data = found
        return bytes(self.chain.program.coder.accounts.build(AccountToSerialize(data, name)))

    def _account_json(self, pubkey: str) -> dict[str, Any] | None:
        raw = self.account_bytes(pubkey)
        if raw is None:
            return None
        return {
            "data": [base64.b64encode(raw).decode(), "base64"],
            "executable": False,
            "lamports": 1_000_000,
            "owner": str(DRIFT_PROGRAM_ID),
            "rentEpoch": 0,
            "space": len(raw),
        }

    async def _multiple_accounts(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        if self.read_faults:
            fault = self.read_faults.pop(0)
            if isinstance(fault, int):
                raise _HttpError(fault, "Too Many Requests" if fault == 429 else "error")
            return _error(rid, -32005, fault)
        value = [self._account_json(key) for key in params[0]]
        return {"jsonrpc": "2.0", "id": rid, "result": {"context": self._context(), "value": value}}

    async def _account_info(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        value = self._account_json(params[0])
        return {"jsonrpc": "2.0", "id": rid, "result": {"context": self._context(), "value": value}}

    async def _statuses_of(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        if self.status_faults:
            self.status_faults -= 1
            raise _HttpError(503, "Service Unavailable")
        out: list[Any] = []
        for sig in params[0]:
            status = self._statuses.get(sig)
            if status is None or status.hidden:
                out.append(None)
                continue
            err = status.err
            out.append(
                {
                    "slot": status.slot,
                    "confirmations": None,
                    "status": {"Ok": None} if err is None else {"Err": err},
                    "err": err,
                    "confirmationStatus": "confirmed",
                }
            )
        return {"jsonrpc": "2.0", "id": rid, "result": {"context": self._context(), "value": out}}

    async def _send(self, rid: Any, params: list[Any]) -> dict[str, Any]:
        self.broadcasts += 1
        wire = base64.b64decode(params[0])
        options = params[1] if len(params) > 1 else {}
        tx = VersionedTransaction.from_bytes(wire)
        sig = str(tx.signatures[0])
        ok = {"jsonrpc": "2.0", "id": rid, "result": sig}
        if sig in self._statuses or sig in self._dropped:
            return ok  # a rebroadcast: one signature lands once
        if self.down:
            outcome: str | None = "lost"
        else:
            outcome = self.failures.pop(0) if self.failures else None
        self.raw.append(wire)
        decoded = self.decode(tx)
        budget = _budget(tx)
        record = SentTx(decoded, False, signature=sig, **budget)
        if outcome == "hang":  # held until released; then taken, and never lands
            self.hanging += 1
            try:
                await self._release.wait()
            finally:
                self.hanging -= 1
            outcome = "dropped"
        if outcome == "lost":
            record.error = "HTTP 503"
            self.sent.append(record)
            raise _HttpError(503, "node is behind")
        self.sent.append(record)
        if outcome == "dropped":
            self._dropped.add(sig)
            return ok
        if outcome == "late":  # accepted; lands only when the test says so (`land_late`)
            self._late.append((sig, decoded, record))
            self._dropped.add(sig)
            return ok
        if outcome == "ignored":  # lands, succeeds, and changes nothing on the account
            self.chain.slot += 1
            record.landed = True
            self._statuses[sig] = _Status(self.chain.slot)
            return ok
        if outcome is not None and outcome.startswith("error:"):
            name = outcome.split(":", 1)[1]
            self.chain.slot += 1
            record.landed, record.error = True, name
            self._statuses[sig] = _Status(self.chain.slot, self._instruction_error(name))
            return ok
        from tests.fakes.drift_harness import ProgramError

        try:
            for ix in decoded:
                self.chain.apply(ix)
        except ProgramError as exc:
            record.error = str(exc)
            err = self._instruction_error(exc.name)
            if not options.get("skipPreflight"):
                return _preflight_failure(rid, err, exc.name)
            self.chain.slot += 1
            record.landed = True
            self._statuses[sig] = _Status(self.chain.slot, err)
            return ok
        record.landed = True
        self._statuses[sig] = _Status(self.chain.slot, None, hidden=outcome == "landed")
        return ok

    def _instruction_error(self, name: str) -> dict[str, Any]:
        code = next(e.code for e in self.chain.program.idl.errors if e.name == name)
        return {"InstructionError": [BUDGET_IXS, {"Custom": int(code)}]}

    # ------------------------------------------------------------------ decoding
    def decode(self, tx: VersionedTransaction) -> list[DecodedIx]:
        message = tx.message
        keys = message.account_keys
        out = []
        for compiled in message.instructions:
            if keys[compiled.program_id_index] != DRIFT_PROGRAM_ID:
                continue  # compute budget
            parsed = self.chain.program.coder.instruction.parse(bytes(compiled.data))
            args = {k: v for k, v in parsed.data.items() if not k.startswith("_")}
            accounts = [keys[i] for i in bytes(compiled.accounts)]
            out.append(DecodedIx(parsed.name, args, accounts))
        return out


class _HttpError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


def _preflight_failure(rid: Any, err: dict[str, Any], name: str) -> dict[str, Any]:
    code = err["InstructionError"][1]["Custom"]
    data = {
        "err": err,
        "logs": [f"Program log: AnchorError occurred. Error Code: {name}. Error Number: {code}."],
        "accounts": None,
        "unitsConsumed": 0,
        "returnData": None,
        "innerInstructions": None,
    }
    message = (
        f"Transaction simulation failed: Error processing Instruction {BUDGET_IXS}: "
        f"custom program error: {hex(code)}"
    )
    error = {"code": -32002, "message": message, "data": data}
    return {"jsonrpc": "2.0", "id": rid, "error": error}


def _budget(tx: VersionedTransaction) -> dict[str, int | None]:
    """The compute-unit limit and price the transaction asks for (ComputeBudget program)."""
    message = tx.message
    keys = message.account_keys
    out: dict[str, int | None] = {"compute_unit_limit": None, "compute_unit_price": None}
    for compiled in message.instructions:
        if str(keys[compiled.program_id_index]) != "ComputeBudget111111111111111111111111111111":
            continue
        data = bytes(compiled.data)
        if data[0] == 2:
            out["compute_unit_limit"] = int.from_bytes(data[1:5], "little")
        elif data[0] == 3:
            out["compute_unit_price"] = int.from_bytes(data[1:9], "little")
    return out
