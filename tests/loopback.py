"""The HTTP server every stand-in of an outside service runs on: 127.0.0.1, a free port, a thread of its own,
each request handed to the stand-in's `_serve(handler)`. Used by the market-data providers' stand-ins
(tests/providers/stubs.py) and Alpaca's trading API (tests/promotions/alpaca_stub.py)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Start with `start()` or `with`; `url` is the base URL to give the client under test. `_stopping` is set
    when it stops, which wakes any answer a fault holds back."""

    name = "stub"  # the server thread's name
    methods: tuple[str, ...] = ("GET",)  # the HTTP methods it answers
    url_prefix = ""  # appended to the server's address in `url`

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self):
        stub = self

        def serve(handler: BaseHTTPRequestHandler) -> None:
            stub._serve(handler)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

            def log_message(self, *args):  # quiet
                pass

        for method in self.methods:
            setattr(Handler, f"do_{method}", serve)
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name,
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.url_prefix}"
