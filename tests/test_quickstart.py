"""The README's first command, end to end: set up, load the bundled data, serve a login page on ASGI."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.smoke
def test_quickstart_serves_login_with_bundled_data(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'quickstart.sqlite3'}"
    log = tmp_path / "quickstart.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "quickstart.py", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz", server, log)
        password = re.search(r"demo login:\s+demo / (\S+)", log.read_text()).group(1)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        login_page = opener.open(f"{base}/login/").read().decode()
        assert "Log in to NeoLight" in login_page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode({"username": "demo", "password": password, "csrfmiddlewaretoken": token})
        request = urllib.request.Request(f"{base}/login/", data=form.encode(), headers={"Referer": f"{base}/login/"})
        landing = opener.open(request).read().decode()
        assert "No cohorts yet" in landing and "Start intraday cohort" in landing  # the demo user may launch
        market = opener.open(f"{base}/market/").read().decode()

        assert "BTC-USDT" in market and "20160" in market and "SPY" in market
        assert "BTC-USDT" in log.read_text()  # the load was reported per symbol
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def wait_until_up(url: str, server: subprocess.Popen, log: Path, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"quickstart exited with {server.returncode}:\n{log.read_text()}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"quickstart did not serve {url} within {seconds} s:\n{log.read_text()}")
