"""Stand-ins on 127.0.0.1 for the two HTTP services alerts go to, speaking their wire formats.

Slack incoming webhook (`SlackWebhookStub`): POST a JSON body to the webhook's path (/services/T…/B…/secret).
It answers 200 with the body `ok`; 400 `invalid_payload` for a body that is not JSON, 400 `no_text` for JSON
without "text", 404 `no_service` for an unknown webhook path; a scripted 429 carries `Retry-After`.

Telegram Bot API (`TelegramBotStub`): POST /bot<token>/sendMessage with JSON {"chat_id", "text"}. It answers
200 {"ok": true, "result": {message}}; 401 {"ok": false, "error_code": 401, "description": "Unauthorized"} for an
unknown token; 400 {"ok": false, "error_code": 400, "description": "Bad Request: chat not found"} for an unknown
chat; a scripted flood limit is 429 {"ok": false, "error_code": 429, "description": "Too Many Requests: retry
after N", "parameters": {"retry_after": N}}.

Scripting: `stub.script(*answers)` queues answers given to the next requests instead of the normal one, e.g.
`slack.script(slack.rate_limited(2), slack.server_error())` or `telegram.script(telegram.flood(3))`; each
request received is kept in `stub.calls` (path, headers, the JSON body or the raw bytes)."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackServer


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw bytes when it was not JSON


class ScriptedStub(LoopbackServer):
    methods = ("POST",)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()

    def reset(self):
        """Forgets the calls received and any answers still scripted; returns the stub."""
        with self._lock:
            self.calls.clear()
            self._script.clear()
        return self

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        call = Call(handler.path, dict(handler.headers.items()), body)
        with self._lock:
            self.calls.append(call)
            reply = self._script.popleft() if self._script else self._answer(call)
        handler.send_response(reply.status)
        for name, value in {"Content-Length": str(len(reply.body)), **reply.headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(reply.body)

    def _answer(self, call: Call) -> Reply:
        raise NotImplementedError


class SlackWebhookStub(ScriptedStub):
    name = "slack-stub"
    path = "/services/T0NEOLIGHT/B0ALERTS/x9Secret"

    @property
    def webhook_url(self) -> str:
        return self.url + self.path

    @staticmethod
    def text(status: int, body: str, **headers: str) -> Reply:
        return Reply(status, body.encode(), {"Content-Type": "text/html", **headers})

    def rate_limited(self, seconds: int) -> Reply:
        return self.text(429, "rate_limited", **{"Retry-After": str(seconds)})

    def server_error(self) -> Reply:
        return self.text(500, "rollup_error")

    def _answer(self, call: Call) -> Reply:
        if call.path != self.path:
            return self.text(404, "no_service")
        if not isinstance(call.body, dict):
            return self.text(400, "invalid_payload")
        if not call.body.get("text"):
            return self.text(400, "no_text")
        return self.text(200, "ok")

    def texts(self) -> list[str]:
        return [c.body["text"] for c in self.calls if isinstance(c.body, dict) and "text" in c.body]


class TelegramBotStub(ScriptedStub):
    name = "telegram-stub"
    token = "123456789:AAFakeTokenForTestsOnly_x9"
    chat_id = "-1001234567890"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict] = []  # the messages delivered, as sendMessage returned them

    def reset(self):
        self.sent.clear()
        return super().reset()

    @staticmethod
    def reply(status: int, payload: dict, **headers: str) -> Reply:
        return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})

    def flood(self, seconds: int) -> Reply:
        return self.reply(429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {seconds}",
                                "parameters": {"retry_after": seconds}})

    def bad_gateway(self) -> Reply:
        return self.reply(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})

    def _answer(self, call: Call) -> Reply:
        if not call.path.endswith("/sendMessage"):
            return self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if call.path != f"/bot{self.token}/sendMessage":
            return self.reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if not isinstance(call.body, dict) or not call.body.get("text"):
            return self.reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"})
        if str(call.body.get("chat_id")) != self.chat_id:
            return self.reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        message = {"message_id": len(self.sent) + 1, "from": {"id": 123456789, "is_bot": True, "first_name": "NeoLight"},
                   "chat": {"id": int(self.chat_id), "title": "desk", "type": "supergroup"}, "date": int(time.time()),
                   "text": call.body["text"]}
        self.sent.append(message)
        return self.reply(200, {"ok": True, "result": message})


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (a service that is away)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
