"""What every fake exchange shares: an aiohttp server on 127.0.0.1, a log of requests, websocket
connections with their subscriptions, and the fault switches tests flip.

Anything a fake does not know is answered 404 with a loud body and remembered in `unexpected`,
so a client that calls an endpoint nobody faked fails the test instead of hanging or, worse,
quietly reaching the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

LOOPBACK = "127.0.0.1"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class FakeClock:
    """A market clock a test can move: wall time plus an offset, or frozen at a value."""

    def __init__(self, frozen_ms: int | None = None) -> None:
        self.frozen_ms = frozen_ms
        self.offset_ms = 0

    def __call__(self) -> int:
        base = self.frozen_ms if self.frozen_ms is not None else wall_ms()
        return base + self.offset_ms

    def advance(self, ms: int) -> None:
        if self.frozen_ms is not None:
            self.frozen_ms += ms
        else:
            self.offset_ms += ms


@dataclass(eq=False)
class Connection:
    """One websocket client: where it connected and what it subscribed to."""

    ws: web.WebSocketResponse
    path: str
    transport: asyncio.BaseTransport | None
    streams: set[str] = field(default_factory=set)
    received: list[Any] = field(default_factory=list)


@dataclass
class HttpFault:
    status: int
    path_prefix: str | None
    remaining: int


class FakeExchangeServer:
    """Base of the fakes: subclasses add REST routes, websocket paths and message handling."""

    name = "fake"

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self.clock: Callable[[], int] = clock or wall_ms
        self.requests: list[str] = []
        self.unexpected: list[str] = []
        self.subscribed: Counter[str] = Counter()
        self.connections: list[Connection] = []
        self.connects = 0
        self.stalled = False
        """While True no frame reaches any client (the socket stays open): a dead upstream."""
        self.frames_sent = 0
        self._faults: list[HttpFault] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        self._runner = runner
        sockets = site._server.sockets if site._server is not None else ()  # type: ignore[union-attr]
        self._port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeExchangeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the fake is not started")
        return self._port

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # ----------------------------------------------------------------- subclasses
    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def on_ws_message(self, conn: Connection, message: Any) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- HTTP plumbing
    def fail_http(self, status: int, count: int = 1, path_prefix: str | None = None) -> None:
        """The next `count` REST requests (under `path_prefix`) answer `status`."""
        self._faults.append(HttpFault(status, path_prefix, count))

    def fault_body(self, status: int) -> tuple[dict[str, Any] | str, dict[str, str]]:
        """What the exchange sends with an injected error status (subclasses imitate theirs)."""
        return {"error": status}, {}

    def log_request(self, request: web.Request) -> web.Response | None:
        """Record the request; answer an injected fault if one is armed for it."""
        self.requests.append(f"{request.method} {request.path_qs}")
        for fault in self._faults:
            if fault.remaining > 0 and (
                fault.path_prefix is None or request.path.startswith(fault.path_prefix)
            ):
                fault.remaining -= 1
                body, headers = self.fault_body(fault.status)
                if isinstance(body, str):
                    return web.Response(status=fault.status, text=body, headers=headers)
                return web.json_response(body, status=fault.status, headers=headers)
        return None

    async def _unknown(self, request: web.Request) -> web.Response:
        line = f"{request.method} {request.path_qs}"
        self.requests.append(line)
        self.unexpected.append(line)
        return web.json_response(
            {"code": -1, "msg": f"{self.name} fake: nobody faked {line}"}, status=404
        )

    @property
    def rest_requests(self) -> list[str]:
        return [r for r in self.requests if not r.startswith("WS ")]

    # ----------------------------------------------------------------- websocket plumbing
    async def serve_ws(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(f"WS {request.path}")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request.path, request.transport)
        self.connections.append(conn)
        self.connects += 1
        self._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    message = json.loads(msg.data)
                except ValueError:
                    self.unexpected.append(f"WS {request.path} non-JSON {msg.data[:80]!r}")
                    continue
                conn.received.append(message)
                await self.on_ws_message(conn, message)
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
            self._notify()
        return ws

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait until `predicate()` holds (re-checked on every connection change). The timeout
        is a ceiling for a loaded machine, not a duration: it returns as soon as it holds."""
        async with asyncio.timeout(timeout):
            while not predicate():
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await changed.wait()

    async def wait_subscribed(self, stream: str, count: int = 1, timeout: float = 60.0) -> None:
        """Until `count` SUBSCRIBEs to `stream` have arrived and one connection holds it."""
        await self.wait_for(
            lambda: (
                self.subscribed[stream] >= count
                and any(stream in c.streams for c in self.connections)
            ),
            timeout,
        )

    def mark_subscribed(self, conn: Connection, stream: str) -> None:
        conn.streams.add(stream)
        self.subscribed[stream] += 1
        self._notify()

    async def push(self, stream: str, payload: Any) -> int:
        """Send `payload` to every connection subscribed to `stream`; returns how many got it."""
        if self.stalled:
            return 0
        text = payload if isinstance(payload, str) else json.dumps(payload)
        sent = 0
        for conn in list(self.connections):
            if stream in conn.streams and not conn.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.ws.send_str(text)
                    sent += 1
        self.frames_sent += sent
        return sent

    async def drop_connections(self, *, clean: bool = False) -> int:
        """Cut every websocket: a close frame (`clean`) or the TCP connection aborted."""
        dropped = 0
        for conn in list(self.connections):
            dropped += 1
            if clean:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"maintenance")
            elif conn.transport is not None:
                conn.transport.abort()  # type: ignore[attr-defined]
            if conn in self.connections:
                self.connections.remove(conn)
        self._notify()
        return dropped


def assert_loopback(urls: Any, where: str = "urls") -> None:
    """Fail if any URL in a (nested) ccxt `urls['api']` structure leaves 127.0.0.1."""
    if isinstance(urls, dict):
        for key, value in urls.items():
            assert_loopback(value, f"{where}.{key}")
    elif isinstance(urls, list | tuple):
        for i, value in enumerate(urls):
            assert_loopback(value, f"{where}[{i}]")
    elif isinstance(urls, str) and "://" in urls:
        host = urlsplit(urls).hostname
        assert host == LOOPBACK, f"{where} = {urls} is not on the loopback interface"


class LoopbackGuard:
    """While active, any TCP connect or name lookup off 127.0.0.1 is refused and recorded.

    Installed by the live-feed tests around every test: a client that reaches for a real
    exchange fails the test (the recorded `violations` are asserted empty at teardown) instead
    of touching the internet. Patched at the socket layer, so it holds for REST and websockets
    alike, whatever the client library does with the URLs.
    """

    ALLOWED = frozenset({LOOPBACK, "localhost", "::1"})

    def __init__(self) -> None:
        self.violations: list[str] = []
        self._connect: Any = None
        self._getaddrinfo: Any = None

    def __enter__(self) -> LoopbackGuard:
        import socket

        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex
        self._getaddrinfo = socket.getaddrinfo
        guard = self

        def check(address: Any) -> None:
            host = address[0] if isinstance(address, tuple) else None
            if host is not None and host not in guard.ALLOWED:
                guard.violations.append(f"connect to {address!r}")
                raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                check(address)
            return guard._connect(sock, address)  # type: ignore[no-any-return]

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                check(address)
            return guard._connect_ex(sock, address)  # type: ignore[no-any-return]

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and name not in guard.ALLOWED:
                guard.violations.append(f"name lookup of {name!r}")
                raise OSError(f"test guard: lookup of {name!r} refused (not loopback)")
            return guard._getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
        return self

    def __exit__(self, *exc: object) -> None:
        import socket

        socket.socket.connect = self._connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self._connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = self._getaddrinfo
