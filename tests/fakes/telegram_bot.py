"""A fake Telegram Bot API on 127.0.0.1: `POST /bot<TOKEN>/sendMessage`, checked as the real one.

It answers as api.telegram.org does (`{"ok": true, "result": {...}}`, or `{"ok": false,
"error_code", "description"[, "parameters": {"retry_after"}]}`), and refuses what the real one
refuses: a wrong token (401), a method other than POST or a path it does not serve (404), a
body that is not JSON or lacks `chat_id` / `text`, an unknown chat, an empty or over-long text
(400). Tests queue faults (`fail_next(429, 500, ...)`) that are answered before any real one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._server import LOOPBACK


@dataclass
class SentMessage:
    chat_id: str
    text: str
    content_type: str


@dataclass
class FakeBotApi:
    token: str
    chat_id: str
    retry_after: int = 1
    messages: list[SentMessage] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # "<status> <path without token>"
    faults: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    def fail_next(self, *statuses: int) -> None:
        self.faults.extend(statuses)

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _answer(self, status: int, description: str, **extra: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        body.update(extra)
        self.requests[-1] = f"{status} {self.requests[-1]}"
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        shown = path.replace(self.token, "<TOKEN>") if self.token else path
        self.requests.append(f"{request.method} {shown}")
        prefix, _, method = path.lstrip("/").partition("/")
        if not prefix.startswith("bot") or request.method != "POST" or method != "sendMessage":
            return self._answer(404, "Not Found")
        if prefix[3:] != self.token:
            return self._answer(401, "Unauthorized")
        if self.faults:
            status = self.faults.pop(0)
            if status == 429:
                return self._answer(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    parameters={"retry_after": self.retry_after},
                )
            return self._answer(status, "Internal Server Error" if status >= 500 else "Bad")
        content_type = request.headers.get("Content-Type", "")
        try:
            data = json.loads(await request.text())
        except ValueError:
            return self._answer(400, "Bad Request: can't parse JSON")
        if not content_type.startswith("application/json") or not isinstance(data, dict):
            return self._answer(400, "Bad Request: expected a JSON object")
        chat_id, text = data.get("chat_id"), data.get("text")
        if chat_id is None:
            return self._answer(400, "Bad Request: chat_id is empty")
        if str(chat_id) != self.chat_id:
            return self._answer(400, "Bad Request: chat not found")
        if not isinstance(text, str) or not text.strip():
            return self._answer(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._answer(400, "Bad Request: message is too long")
        self.messages.append(SentMessage(str(chat_id), text, content_type))
        self.requests[-1] = f"200 {self.requests[-1]}"
        result = {"message_id": len(self.messages), "chat": {"id": chat_id}, "text": text}
        return web.json_response({"ok": True, "result": result})
