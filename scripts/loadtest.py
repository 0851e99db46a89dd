"""Load and soak test of a running NeoLight, on this machine only (127.0.0.1).

N simulated operators each log in through the login form, launch one cohort through the API, then until the time
is up: list cohorts (page and API), open the market page and the cohort's page, and keep a websocket on the
cohort list open, counting the pushes it receives. At the end it prints, per endpoint, the requests, the errors
and the 50th / 99th percentile latency.

    .venv/bin/python scripts/loadtest.py --prepare --users 50           # once: users load1…load50 (may launch)
    .venv/bin/python scripts/loadtest.py --users 50 --seconds 300        # 5 minutes of 50 users
    .venv/bin/python scripts/loadtest.py --users 20 --soak 30 --server-pid $(pgrep -o daphne)

`--soak MINUTES` runs that long and prints, every `--sample-seconds` (60), the server's resident memory (from
/proc/PID/status, with --server-pid), the error rate and the latencies of the last interval: flat memory and a
steady p99 over half an hour is what a soak should show. Any answer other than the one expected (2xx, the login's
302) is an error; a refused or dropped connection too.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the report
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LAUNCH = {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT"], "start": "2021-05-06T00:00:00Z",
          "end": "2021-05-06T01:00:00Z"}


@dataclass
class Tally:
    """Latencies (ms) and errors per endpoint; `since` marks the start of the current soak interval."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    messages: int = 0
    problems: list[str] = field(default_factory=list)

    def record(self, endpoint: str, started: float, ok: bool, problem: str = "") -> None:
        self.latencies[endpoint].append((time.perf_counter() - started) * 1000)
        if not ok:
            self.errors[endpoint] += 1
            if len(self.problems) < 20:
                self.problems.append(f"{endpoint}: {problem}")

    def report(self) -> dict[str, dict]:
        return {endpoint: {"requests": len(values), "errors": self.errors.get(endpoint, 0),
                           "p50_ms": round(percentile(values, 50), 1), "p99_ms": round(percentile(values, 99), 1)}
                for endpoint, values in sorted(self.latencies.items())}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else max(values)


def rss_kib(pid: int | None) -> int | None:
    """Resident memory of the process, in KiB (Linux /proc), or None."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Operator:
    """One simulated user with its own session."""

    def __init__(self, base: str, username: str, password: str, tally: Tally, think: float):
        self.base, self.username, self.password, self.tally, self.think = base, username, password, tally, think
        self.client = httpx.AsyncClient(base_url=base, timeout=30.0, follow_redirects=False)
        self.cohort_id: int | None = None

    async def request(self, endpoint: str, method: str, url: str, expect: tuple[int, ...] = (200,), **kwargs):
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.tally.record(endpoint, started, False, f"{type(error).__name__}: {error}")
            return None
        ok = response.status_code in expect
        self.tally.record(endpoint, started, ok, f"{response.status_code} {response.text[:120]!r}")
        return response

    def csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "Referer": f"{self.base}/"}

    async def login(self) -> bool:
        await self.request("GET /login/", "GET", "/login/")
        response = await self.request("POST /login/", "POST", "/login/", expect=(302,), headers=self.csrf(), data={
            "username": self.username, "password": self.password,
            "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")})
        return response is not None and response.status_code == 302

    async def launch(self) -> None:
        response = await self.request("POST /api/experiments/cohorts", "POST", "/api/experiments/cohorts",
                                      expect=(202,), json=LAUNCH, headers=self.csrf())
        if response is not None and response.status_code == 202:
            self.cohort_id = response.json()["id"]

    async def browse(self, until: float) -> None:
        while time.monotonic() < until:
            await self.request("GET /trading/cohorts", "GET", "/trading/cohorts")
            await self.request("GET /api/experiments/cohorts", "GET", "/api/experiments/cohorts")
            await self.request("GET /market/", "GET", "/market/")
            if self.cohort_id is not None:
                await self.request("GET /trading/cohorts/<id>/", "GET", f"/trading/cohorts/{self.cohort_id}/")
                await self.request("GET /api/experiments/cohorts/<id>", "GET",
                                   f"/api/experiments/cohorts/{self.cohort_id}")
            await asyncio.sleep(self.think * random.uniform(0.5, 1.5))

    async def watch(self, until: float) -> None:
        """A websocket on the cohort list, open until the end; its handshake time is its latency."""
        try:
            from websockets.asyncio.client import connect
        except ImportError:  # no websockets client installed: pages and API only
            return
        url = self.base.replace("http", "ws", 1) + "/ws/cohorts/"
        cookie = "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())
        started = time.perf_counter()
        try:
            async with connect(url, additional_headers={"Cookie": cookie, "Origin": self.base},
                               open_timeout=30) as socket:
                self.tally.record("WS /ws/cohorts/", started, True)
                while (left := until - time.monotonic()) > 0:
                    try:
                        await asyncio.wait_for(socket.recv(), timeout=left)
                        self.tally.messages += 1
                    except TimeoutError:
                        break
        except Exception as error:  # noqa: BLE001 (a refused or dropped socket is an error to report)
            self.tally.record("WS /ws/cohorts/", started, False, f"{type(error).__name__}: {error}")

    async def run(self, until: float, launch: bool, delay: float = 0.0) -> None:
        try:
            await asyncio.sleep(delay)
            if not await self.login():
                return
            if launch:
                await self.launch()
            await asyncio.gather(self.browse(until), self.watch(until))
        finally:
            await self.client.aclose()


async def load(*, base: str, users: int, seconds: float, password: str, prefix: str = "load", launch: bool = True,
               think: float = 1.0, soak_minutes: float | None = None, sample_seconds: float = 60.0,
               server_pid: int | None = None, ramp: float = 0.0, out=sys.stdout) -> dict:
    """Runs the load (or, with `soak_minutes`, the soak) and returns the report: per endpoint requests, errors,
    p50 and p99 in ms; websocket pushes received; soak samples. Users start evenly spread over `ramp` seconds."""
    host = urlsplit(base).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"{base} is not on this machine: the load test only runs against 127.0.0.1.")
    duration = soak_minutes * 60 if soak_minutes else seconds
    tally = Tally()
    until = time.monotonic() + duration
    operators = [Operator(base, f"{prefix}{i}", password, tally, think) for i in range(1, users + 1)]
    samples = []
    started = time.monotonic()
    work = asyncio.gather(*(op.run(until, launch, ramp * i / users) for i, op in enumerate(operators)))
    if soak_minutes:
        baseline = rss_kib(server_pid)
        while not work.done():
            seen = {name: len(values) for name, values in tally.latencies.items()}
            failed = dict(tally.errors)
            await asyncio.wait([work], timeout=sample_seconds)
            recent = [v for name, values in tally.latencies.items() for v in values[seen.get(name, 0):]]
            errors = sum(tally.errors.values()) - sum(failed.values())
            sample = {"minute": round((time.monotonic() - started) / 60, 2), "rss_kib": rss_kib(server_pid),
                      "requests": len(recent), "error_rate": round(errors / len(recent), 4) if recent else 0.0,
                      "p50_ms": round(percentile(recent, 50), 1), "p99_ms": round(percentile(recent, 99), 1)}
            samples.append(sample)
            print(f"[{sample['minute']:6.2f} min] rss {sample['rss_kib'] or '-'} KiB (start {baseline or '-'}), "
                  f"{sample['requests']} requests, error rate {sample['error_rate']:.2%}, "
                  f"p50 {sample['p50_ms']} ms, p99 {sample['p99_ms']} ms", file=out, flush=True)
    await work
    report = {"users": users, "seconds": round(time.monotonic() - started, 1), "endpoints": tally.report(),
              "errors": sum(tally.errors.values()), "ws_messages": tally.messages, "problems": tally.problems,
              "launched": sum(op.cohort_id is not None for op in operators), "samples": samples}
    return report


def print_report(report: dict, out=sys.stdout) -> None:
    print(f"{report['users']} users, {report['seconds']} s, {report['launched']} cohorts launched, "
          f"{report['ws_messages']} websocket pushes received", file=out)
    print(f"{'endpoint':42} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}", file=out)
    for endpoint, row in report["endpoints"].items():
        print(f"{endpoint:42} {row['requests']:>8} {row['errors']:>6} {row['p50_ms']:>8} {row['p99_ms']:>8}", file=out)
    print(f"errors: {report['errors']}", file=out)
    for problem in report["problems"]:
        print(f"  - {problem}", file=out)


def prepare(users: int, password: str, prefix: str = "load") -> None:
    """Creates (or resets) users PREFIX1…PREFIXn with the password and the right to launch cohorts."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    launch = Permission.objects.get(codename="add_cohort", content_type__app_label="cohorts")
    for index in range(1, users + 1):
        user, _ = get_user_model().objects.get_or_create(username=f"{prefix}{index}")
        user.set_password(password)
        user.save()
        user.user_permissions.add(launch)
    print(f"{users} users ready: {prefix}1…{prefix}{users}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the server (127.0.0.1 only)")
    parser.add_argument("--users", type=int, default=10, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="soak: run this long, sampling as it goes")
    parser.add_argument("--sample-seconds", type=float, default=60.0, help="soak sampling period")
    parser.add_argument("--server-pid", type=int, help="the server's process id, for its memory in a soak")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a user's rounds, seconds")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the users start (logins hash passwords: 50 at once queue up)")
    parser.add_argument("--no-launch", action="store_true", help="do not launch cohorts")
    parser.add_argument("--prefix", default="load", help="user names: PREFIX1, PREFIX2, …")
    parser.add_argument("--password", default=os.environ.get("LOADTEST_PASSWORD", "load-test-password-1"))
    parser.add_argument("--prepare", action="store_true", help="create the users (needs the database settings)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.prepare:
        prepare(args.users, args.password, args.prefix)
        return 0
    report = asyncio.run(load(base=args.base.rstrip("/"), users=args.users, seconds=args.seconds,
                              password=args.password, prefix=args.prefix, launch=not args.no_launch,
                              think=args.think, soak_minutes=args.soak, sample_seconds=args.sample_seconds,
                              server_pid=args.server_pid, ramp=args.ramp))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
