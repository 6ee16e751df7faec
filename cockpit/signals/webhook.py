"""The signals webhook: `POST /signal`, `/pause`, `/resume` on 127.0.0.1 by default (aiohttp).

An adapter-like part: it reads HTTP and hands signals to the intake and pause requests to the
entry pause; it decides nothing about trading. In order, for every request: the source's rate
limit (429), the body size (413 over 16 KB, read no further), the token (401, compared in
constant time, from `Authorization: Bearer` or the body's `token` field), the JSON (400),
then the intake (which stores the signal before anything else). A refusal before the intake
leaves an audit row and nothing else. The token is never logged, stored or echoed, and the
access log is off (it would print on the trader's terminal).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cockpit.config_outside import WebhookConfig
from cockpit.execution.commands import Audit
from cockpit.execution.pause import EntryPause
from cockpit.signals.intake import SignalIntake
from cockpit.signals.payload import MAX_BODY_BYTES, Invalid, Malformed, parse_body, read_signal
from cockpit.signals.ratelimit import RateLimiter

log = logging.getLogger(__name__)


class BodyError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _answer(status: int, body: dict[str, object]) -> web.Response:
    return web.json_response(body, status=status)


class WebhookServer:
    """Serves the webhook until `stop()`; `port` is the bound port (0 in the config: any)."""

    def __init__(
        self,
        config: WebhookConfig,
        token: str,
        intake: SignalIntake,
        pause: EntryPause,
        audit: Audit,
        event: Callable[[str, str], None],
        clock: Callable[[], int],
    ) -> None:
        if not token:
            raise ValueError("the webhook needs a token")
        self.config = config
        self._token = token.encode()
        self._intake = intake
        self._pause = pause
        self._audit = audit
        self._event = event
        self._limiter = RateLimiter(config.rate_per_min, config.burst, clock)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES + 1)
        app.router.add_post("/signal", self._signal)
        app.router.add_post("/pause", self._pause_entries)
        app.router.add_post("/resume", self._resume_entries)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server  # aiohttp keeps the asyncio server here; its socket has the port
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ handlers
    async def _signal(self, request: web.Request) -> web.Response:
        async def accepted(data: dict[str, Any], source: str) -> web.Response:
            try:
                signal = read_signal(data)
            except Malformed as exc:
                await self._refused(source, "signal", str(exc))
                return _answer(400, {"error": str(exc)})
            except Invalid as exc:
                verdict = await self._intake.receive(exc.signal, source, refusal=str(exc))
                return _answer(verdict.status, verdict.body)
            verdict = await self._intake.receive(signal, source)
            return _answer(verdict.status, verdict.body)

        return await self._guarded(request, "signal", accepted)

    async def _pause_entries(self, request: web.Request) -> web.Response:
        async def pause(data: dict[str, Any], source: str) -> web.Response:
            changed = await self._pause.pause(source, _reason(data))
            return _answer(200, {"paused": True, "changed": changed})

        return await self._guarded(request, "pause", pause)

    async def _resume_entries(self, request: web.Request) -> web.Response:
        async def resume(data: dict[str, Any], source: str) -> web.Response:
            changed = await self._pause.resume(source, _reason(data))
            # still paused when the resume could not be recorded (the event log says why)
            return _answer(200, {"paused": self._pause.paused is not None, "changed": changed})

        return await self._guarded(request, "resume", resume)

    async def _guarded(
        self,
        request: web.Request,
        what: str,
        handle: Callable[[dict[str, Any], str], Awaitable[web.Response]],
    ) -> web.Response:
        """Rate limit, size, token and JSON, then `handle(data, source)`."""
        source = f"webhook:{request.remote or 'unknown'}"
        allowed, wait_s, first = self._limiter.take(source)
        if not allowed:
            if first:  # one row per streak: a flood must not flood the audit table either
                await self._refused(source, what, "rate limit reached")
            return web.json_response(
                {"error": "rate limit reached"},
                status=429,
                headers={"Retry-After": str(max(1, round(wait_s)))},
            )
        try:
            body = await _read_body(request)
        except BodyError as exc:
            await self._refused(source, what, str(exc))
            return _answer(exc.status, {"error": str(exc)})
        header = request.headers.get("Authorization")
        header_ok = header is not None and self._token_ok(_bearer(header))
        if header is not None and not header_ok:
            return await self._unauthorized(source, what)
        try:
            data, body_token = parse_body(body) if body.strip() else ({}, None)
        except Malformed as exc:
            if not header_ok:
                return await self._unauthorized(source, what)
            await self._refused(source, what, str(exc))
            return _answer(400, {"error": str(exc)})
        if not header_ok and not self._token_ok(body_token):
            return await self._unauthorized(source, what)
        try:
            return await handle(data, source)
        except Exception as exc:  # the database or the session failed: said, not hidden
            log.exception("webhook %s failed", what)
            self._event("error", f"webhook {what} from {source} failed: {exc}")
            return _answer(503, {"error": f"not taken: {exc}"})

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self._token)

    async def _unauthorized(self, source: str, what: str) -> web.Response:
        await self._refused(source, what, "bad or missing token")
        return _answer(401, {"error": "bad or missing token"})

    async def _refused(self, source: str, what: str, reason: str) -> None:
        try:
            await self._audit("webhook", source, f"POST /{what}", reason)
        except Exception as exc:
            log.warning("webhook refusal not audited: %s", exc)


async def _read_body(request: web.Request) -> bytes:
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise BodyError(413, f"body of {length} bytes is over {MAX_BODY_BYTES // 1024} KB")
    chunks: list[bytes] = []
    total = 0
    while chunk := await request.content.read(65_536):
        total += len(chunk)
        if total > MAX_BODY_BYTES:  # chunked, no length said: stop reading at the limit
            raise BodyError(413, f"body is over {MAX_BODY_BYTES // 1024} KB")
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _reason(data: dict[str, Any]) -> str:
    reason = data.get("reason")
    return reason[:200] if isinstance(reason, str) else ""


def webhook_token(config: WebhookConfig, env: dict[str, str]) -> str | None:
    """The token from the environment variable first, then the config file; None without one."""
    from_env = env.get(config.token_env, "").strip()
    if from_env:
        return from_env
    if config.token is not None and config.token.get_secret_value().strip():
        return config.token.get_secret_value().strip()
    return None
