"""The README's first command, end to end, as real processes: set up, serve, stop, restart, crash.

Each test runs `quickstart.py` in the embedded mode (SQLite, tasks in the server process) with its own
state directory (NEOLIGHT_VAR_DIR) and port, whatever database the rest of the suite uses.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from neolight import faults

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = Path(sys.executable)
NOISE = (".env", "HTTP/2", "objects imported", "AXES", "Operations to perform", "rows  2021")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Quickstart:
    """One `python3 quickstart.py` process (its own process group) with a state directory and a port."""

    def __init__(self, tmp_path: Path, **extra_env: str):
        self.var, self.port = tmp_path / "var", free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "LOG_LEVEL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
        self.env.update(NEOLIGHT_VAR_DIR=str(self.var), NEOLIGHT_VENV=str(Path(sys.prefix)), **extra_env)
        self.logs: list[Path] = []
        self.process: subprocess.Popen | None = None

    def start(self, **extra_env: str) -> str:
        """Starts it and waits until it serves; returns what it printed."""
        log = self.var.parent / f"quickstart-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("w") as out:
            self.process = subprocess.Popen([sys.executable, "quickstart.py", "--port", str(self.port)], cwd=ROOT,
                                            env={**self.env, **extra_env}, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"quickstart exited with {self.process.returncode}:\n{log.read_text()}")
            try:
                if urllib.request.urlopen(f"{self.base}/healthz", timeout=2).status == 200:
                    return log.read_text()
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"quickstart did not serve within 600 s:\n{log.read_text()}")

    def password(self) -> str:
        return re.search(r"log in:\s+demo / (\S+)", self.logs[-1].read_text()).group(1)

    def manage(self, *args: str) -> str:
        env = {**self.env, "DATABASE_URL": f"sqlite:///{self.var / 'neolight.sqlite3'}", "LOG_LEVEL": "WARNING",
               "SECRET_KEY": (self.var / "secret-key").read_text().strip()}
        return subprocess.run([str(VENV_PYTHON), "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=True).stdout

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Browser:
    """A cookie-keeping HTTP client logged in the way a browser is: the login form, then its session."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> tuple[str, str]:
        """(final URL, body) after redirects."""
        response = self.opener.open(f"{self.base}{path}")
        return response.url, response.read().decode()

    def log_in(self, password: str) -> str:
        _, page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": "demo", "password": password, "csrfmiddlewaretoken": token})
        request = urllib.request.Request(f"{self.base}/login/", data=form.encode(),
                                         headers={"Referer": f"{self.base}/login/"})
        return self.opener.open(request).read().decode()

    def post_json(self, path: str, body: dict) -> dict:
        csrf = next(c.value for c in self.cookies if c.name == "csrftoken")
        request = urllib.request.Request(f"{self.base}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
        return json.loads(self.opener.open(request).read())

    def get_json(self, path: str) -> dict:
        return json.loads(self.get(path)[1])


@pytest.fixture
def quickstart(tmp_path):
    server = Quickstart(tmp_path)
    yield server
    server.stop()


def test_quickstart_serves_quietly_and_sigterm_leaves_nothing_running(quickstart):
    output = quickstart.start()

    assert f"Serving on {quickstart.base}/" in output and "stop:    Ctrl+C" in output
    assert "reset-demo-password" in output
    assert not [noise for noise in NOISE if noise in output], output
    assert len(output.strip().splitlines()) <= 8, output
    browser = Browser(quickstart.base)
    landing = browser.log_in(quickstart.password())
    assert "No cohorts yet" in landing and "Start intraday cohort" in landing  # the demo user may launch
    _, market = browser.get("/market/")
    assert "BTC-USDT" in market and "20,160" in market and "SPY" in market

    os.kill(quickstart.process.pid, signal.SIGTERM)  # `kill <quickstart pid>`
    assert quickstart.process.wait(timeout=60) is not None

    assert not listening(quickstart.port)
    assert not quickstart.group_alive()  # no orphaned server or helper


def test_a_restart_keeps_the_demo_password_and_every_browsers_session(quickstart):
    quickstart.start()
    password = quickstart.password()
    browser = Browser(quickstart.base)
    browser.log_in(password)
    os.kill(quickstart.process.pid, signal.SIGTERM)
    quickstart.process.wait(timeout=60)

    quickstart.start()

    assert quickstart.password() == password
    url, page = browser.get("/trading/cohorts")
    assert "/login/" not in url and "Start intraday cohort" in page  # still logged in
    for name in ("demo-password", "secret-key"):
        assert stat.S_IMODE((quickstart.var / name).stat().st_mode) == 0o600

    reset = subprocess.run([sys.executable, "quickstart.py", "reset-demo-password"], cwd=ROOT, env=quickstart.env,
                           capture_output=True, text=True, check=True).stdout
    new_password = re.search(r"demo / (\S+)", reset).group(1)

    assert new_password != password and (quickstart.var / "demo-password").read_text().strip() == new_password
    assert "/login/" in browser.get("/trading/cohorts")[0]  # a reset signs the old sessions out
    assert "Start intraday cohort" in Browser(quickstart.base).log_in(new_password)


def test_a_server_killed_mid_run_fails_and_refunds_the_cohort_at_the_next_start(quickstart, tmp_path):
    fault_dir = tmp_path / "faults"
    fault_dir.mkdir()
    quickstart.start(NEOLIGHT_FAULTS="cohort.after_simulate=pause", NEOLIGHT_FAULT_DIR=str(fault_dir))
    browser = Browser(quickstart.base)
    browser.log_in(quickstart.password())
    cohort = browser.post_json("/api/experiments/cohorts", {
        "bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT", "ETH-USDT"],
        "start": "2021-05-10T00:00:00Z", "end": "2021-05-10T02:00:00Z"})
    assert faults.wait_reached("cohort.after_simulate", fault_dir, timeout=300)
    assert browser.get_json(f"/api/experiments/cohorts/{cohort['id']}")["status"] == "running"
    second = subprocess.run([sys.executable, "quickstart.py", "--port", str(free_port())], cwd=ROOT,
                            env=quickstart.env, capture_output=True, text=True, timeout=120)
    assert second.returncode != 0 and "Another NeoLight server is running" in second.stderr  # it fails nothing
    assert browser.get_json(f"/api/experiments/cohorts/{cohort['id']}")["status"] == "running"

    os.killpg(quickstart.process.pid, signal.SIGKILL)  # the whole server, mid-run
    quickstart.process.wait(timeout=30)
    output = quickstart.start()

    assert f"cut short cohort(s) {cohort['id']}: failed, capital refunded" in output
    after = browser.get_json(f"/api/experiments/cohorts/{cohort['id']}")  # the session survived the crash too
    assert after["status"] == "failed" and "server stopped" in after["status_reason"]
    ledger = json.loads(quickstart.manage("ledger_check", "--json"))
    assert ledger["sound"] and ledger["cohorts"] == 1, ledger  # refunded exactly once, nothing left in it
    house = quickstart.manage("shell", "--no-imports", "-c", HOUSE_BALANCE).strip()
    assert Decimal(house) == Decimal(1_000_000)

    os.kill(quickstart.process.pid, signal.SIGTERM)
    quickstart.process.wait(timeout=60)
    assert not listening(quickstart.port) and not quickstart.group_alive()


HOUSE_BALANCE = """
from cohorts.selectors.ledger import account_balance
from cohorts.services.cohorts import house_bankroll
from cohorts.services.ledger import bankroll_cash_account
print(account_balance(bankroll_cash_account(house_bankroll())))
"""
