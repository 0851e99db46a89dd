"""Named fault points: places in a run where a test can pause, crash or fail the process on purpose.

`point("cohort.mid_persist")` does nothing unless that point is armed, so it costs one dict lookup in
production. A test arms points in-process with `armed({...})`, or in a second process with the
environment: `NEOLIGHT_FAULTS="cohort.mid_persist=crash,cohort.after_simulate=pause"` and
`NEOLIGHT_FAULT_DIR=/tmp/…`. Actions:

- `pause`: creates `<dir>/<name>.reached`, then waits until `<dir>/<name>.release` exists (at most
  `NEOLIGHT_FAULT_PAUSE_SECONDS`, 120 by default) — so a race can be forced, not timed;
- `crash`: SIGKILL of the process at that point (what `kill -9` of a worker does);
- `raise`: raises `FaultInjected` (an ordinary error in the middle of the work).
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

ACTIONS = ("pause", "crash", "raise")


class FaultInjected(RuntimeError):
    """Raised at a point armed with `raise`."""


def _parse(text: str) -> dict[str, str]:
    plan = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, action = item.partition("=")
        if action not in ACTIONS:
            raise ValueError(f"fault point {name!r}: action must be one of {', '.join(ACTIONS)}, not {action!r}")
        plan[name] = action
    return plan


_plan: dict[str, str] = _parse(os.environ.get("NEOLIGHT_FAULTS", ""))
_directory = Path(os.environ.get("NEOLIGHT_FAULT_DIR", "."))


def point(name: str) -> None:
    """A named place in the work; acts only when a test armed it."""
    action = _plan.get(name)
    if action is None:
        return
    if action == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "raise":
        raise FaultInjected(f"fault injected at {name}")
    (_directory / f"{name}.reached").touch()
    release = _directory / f"{name}.release"
    deadline = time.monotonic() + float(os.environ.get("NEOLIGHT_FAULT_PAUSE_SECONDS", "120"))
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


@contextlib.contextmanager
def armed(plan: Mapping[str, str], directory: Path | None = None) -> Iterator[None]:
    """Arms `plan` ({point: action}) in this process for the duration of the block."""
    global _directory
    before, before_directory = dict(_plan), _directory
    _plan.update(_parse(",".join(f"{k}={v}" for k, v in plan.items())))
    _directory = directory or _directory
    try:
        yield
    finally:
        _plan.clear()
        _plan.update(before)
        _directory = before_directory


def wait_reached(name: str, directory: Path, timeout: float = 60) -> bool:
    """Waits until a paused process has reached point `name`; False on timeout."""
    deadline = time.monotonic() + timeout
    while not (directory / f"{name}.reached").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def release(name: str, directory: Path) -> None:
    """Lets a process paused at `name` go on."""
    (directory / f"{name}.release").touch()
