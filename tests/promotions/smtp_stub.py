"""A mail server on 127.0.0.1 for tests: speaks enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT) for Django's SMTP backend, and keeps every message it accepted, parsed."""
from __future__ import annotations

import email
import socketserver
import threading
from email.message import Message


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        server: SmtpStub = self.server.stub  # type: ignore[attr-defined]
        self.reply("220 127.0.0.1 ESMTP test server")
        sender, recipients = "", []
        while line := self.rfile.readline():
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-127.0.0.1")
                self.reply("250 8BITMIME")
            elif verb in ("HELO", "NOOP"):
                self.reply("250 OK")
            elif verb == "MAIL":
                sender, recipients = line.decode().split(":", 1)[1].strip(" <>\r\n"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                server.keep(sender, recipients, self._data())
                self.reply("250 OK: queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _data(self) -> bytes:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class SmtpStub:
    """`with SmtpStub() as smtp:` listens on 127.0.0.1:`smtp.port`; `smtp.messages` holds (sender, recipients,
    message) of every mail accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []
        self._lock = threading.Lock()
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Session)
        self._server.daemon_threads = True
        self._server.stub = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]

    def keep(self, sender: str, recipients: list[str], data: bytes) -> None:
        with self._lock:
            self.messages.append((sender, list(recipients), email.message_from_bytes(data)))

    def __enter__(self) -> SmtpStub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
