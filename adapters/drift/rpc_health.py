"""The RPC budget and the account loader's health, for the feed status and the log.

A public Solana RPC allows about 100 requests per 10 s per IP (`drift.rpc_limit_per_10s`). The
cockpit's steady load does not grow with the number of markets: driftpy's BulkAccountLoader
reads every account (markets, oracles, state, the user) in one batched getMultipleAccounts per
`drift.poll_interval_s`, the keeper re-reads the user account once per poll, and the oracle feed
reads the loader's cache instead of fetching (adapters/drift/oracle_feed.py). That is 2 calls a
second, 20 per 10 s with the defaults and three markets (a send adds its broadcasts and status
reads while it runs): under half of the public limit. What is really sent is counted here, at
the HTTP client every request goes through, and shown in the feed status.

driftpy's loader runs its loop in a task that ends at the first error it does not catch (an RPC
refusing a request, a 429 page); the markets then silently stop updating and the feed only looks
stale. `LoaderWatch.check` notices a dead loop, says why (the error's own text), and starts it
again with backoff.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from adapters.backoff import Backoff
from adapters.drift.errors import describe_error
from cockpit.config import DriftConfig

log = logging.getLogger(__name__)

WINDOW_S = 10.0


class RpcBudget:
    """JSON-RPC calls in the last 10 s (a batch counts each call), and the last RPC error."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._calls: deque[tuple[float, int]] = deque()
        self.total = 0
        self.rate_limited = 0
        self.last_error: str | None = None
        self._error_at: float | None = None

    def record(self, calls: int) -> None:
        now = self._clock()
        self._calls.append((now, calls))
        self.total += calls
        self._trim(now)

    def failed(self, text: str, *, rate_limited: bool = False) -> None:
        self.last_error = text
        self._error_at = self._clock()
        if rate_limited:
            self.rate_limited += 1

    @property
    def per_10s(self) -> int:
        self._trim(self._clock())
        return sum(n for _, n in self._calls)

    @property
    def recent_error(self) -> str | None:
        """The last RPC error if it is less than 10 s old."""
        if self._error_at is None or self._clock() - self._error_at > WINDOW_S:
            return None
        return self.last_error

    def describe(self) -> str:
        used = self.per_10s
        over = " (over half the limit)" if used > self.limit / 2 else ""
        return f"rpc {used}/{self.limit} per 10 s{over}"

    def _trim(self, now: float) -> None:
        while self._calls and now - self._calls[0][0] > WINDOW_S:
            self._calls.popleft()

    def instrument(self, connection: Any) -> None:
        """Count every request solana-py's AsyncClient (and driftpy through it) sends, and the
        HTTP errors it gets back. Idempotent per HTTP session."""
        session = connection._provider.session
        hooks = session.event_hooks
        if any(getattr(h, "__self__", None) is self for h in hooks.get("request", [])):
            return
        hooks.setdefault("request", []).append(self._on_request)
        hooks.setdefault("response", []).append(self._on_response)
        session.event_hooks = hooks

    async def _on_request(self, request: Any) -> None:
        try:
            body = json.loads(request.content or b"null")
        except ValueError:
            body = None
        self.record(len(body) if isinstance(body, list) else 1)

    async def _on_response(self, response: Any) -> None:
        status = int(response.status_code)
        if status >= 400:
            limited = status == 429
            text = "rate limited (HTTP 429)" if limited else f"HTTP {status}"
            self.failed(text, rate_limited=limited)


class LoaderWatch:
    """Restarts driftpy's BulkAccountLoader loop when it has died, with backoff."""

    def __init__(
        self,
        client: Any,
        config: DriftConfig,
        budget: RpcBudget,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._budget = budget
        self._clock = clock
        self._backoff = Backoff(config.backoff_initial_s, config.backoff_max_s, jitter=0.0)
        self._retry_at = 0.0
        self.error: str | None = None
        """Why the loader's loop last died (None while it runs)."""
        self.restarts = 0
        self._reported: Any = object()  # the dead task last said (none yet)

    def check(self) -> str | None:
        """Restart the loader's loop if it died (not more often than the backoff allows);
        returns why it died while it is down, None while it runs."""
        loader = getattr(self._client.account_subscriber, "bulk_account_loader", None)
        if loader is None or not loader.accounts_to_load:
            return None  # not a polling subscription (or nothing to poll yet)
        task = loader.task
        if task is not None and not task.done():
            self.error = None
            return None
        if task is not self._reported:  # a death not said yet: its own words, once
            self._reported = task
            if task is not None and not task.cancelled() and task.exception() is not None:
                error = f"account loader stopped: {describe_error(task.exception())}"
                http = self._budget.recent_error
                self.error = error if http is None or http in error else f"{error} ({http})"
            else:
                self.error = "account loader stopped"
            self._budget.failed(self.error, rate_limited="HTTP 429" in self.error)
        assert self.error is not None
        now = self._clock()
        if now < self._retry_at:
            return self.error
        delay = self._backoff.next_delay()
        self._retry_at = now + delay
        log.warning("drift: %s; restarting it (next check in %g s)", self.error, delay)
        loader.task = None
        loader._start_loading()
        self.restarts += 1
        return self.error
