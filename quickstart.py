#!/usr/bin/env python3
"""Set up and run NeoLight on a machine with only Python 3.11+.

    python3 quickstart.py                      # virtualenv, install, migrate, bundled data, demo login, serve :8000
    python3 quickstart.py reset-demo-password  # make a new demo password (signs the demo user out everywhere)
    python3 quickstart.py test [ARGS]          # virtualenv with test tools, then pytest ARGS (the whole suite)

Runs embedded by default (SQLite, in-process channel layer and tasks); set DATABASE_URL and REDIS_URL
to use PostgreSQL and Redis instead. Uses only the standard library, so it runs before anything is installed.
The embedded state lives in var/ (NEOLIGHT_VAR_DIR): the database, the secret key and the demo password.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("NEOLIGHT_VENV", ROOT / ".venv"))
VAR = Path(os.environ.get("NEOLIGHT_VAR_DIR", ROOT / "var"))
PYTHON = VENV / "bin" / "python"
DEMO_USER = "demo"
RESET_HINT = "python3 quickstart.py reset-demo-password"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "test", "reset-demo-password"])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to serve on")
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="port to serve on")
    parser.add_argument("--verbose", action="store_true", help="show every set-up step's output and each request")
    args, rest = parser.parse_known_args()
    if sys.version_info < (3, 11):
        sys.exit("NeoLight needs Python 3.11 or newer.")
    if args.command == "test":
        ensure_venv(ROOT / "requirements-dev.txt")
        return subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    ensure_venv(ROOT / "requirements.txt")
    # SIGTERM (kill, a service manager) stops a set-up step as cleanly as Ctrl+C: its child is ended too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.command == "reset-demo-password":
            return reset_demo_password(verbose=args.verbose)
        return serve(args.host, args.port, verbose=args.verbose)
    except KeyboardInterrupt:
        return 130


def ensure_venv(requirements: Path) -> None:
    """Creates the virtualenv and installs `requirements` unless that exact file is installed already
    (the test tools' file includes the runtime one, so its stamp counts for both)."""
    if not PYTHON.exists():
        print(f"Creating a virtualenv in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(ROOT.glob("requirements*.txt")))).hexdigest()
    stamp = VENV / f".installed-{requirements.stem}"
    covering = [stamp, VENV / ".installed-requirements-dev"]
    if any(s.exists() and s.read_text() == digest for s in covering):
        return
    print(f"Installing {requirements.name} (first run takes a few minutes) …", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(requirements)])
    stamp.write_text(digest)


def serve(host: str, port: str, *, verbose: bool) -> int:
    """Prepares everything, then replaces this process with the server (so a signal to this pid reaches it)."""
    env = server_env(verbose)
    hold_state_lock()
    print(f"NeoLight: {describe_mode()}", flush=True)
    # The engine's first compilation (a minute or so, once: numba caches it) overlaps the database work.
    warming = subprocess.Popen(in_venv("warm-up"), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        step("Preparing the database and the bundled market data", verbose)
        password = kept_secret("demo-password", lambda: secrets.token_urlsafe(12))
        report = setup(env, password, verbose)
        done()
        say_recovered(report)
        step("Preparing the simulation engine (the first start compiles it: a minute or two)", verbose)
        if warming.wait():
            print(" not yet (the server compiles it before it listens)", flush=True)
        else:
            done()
    finally:
        if warming.poll() is None:
            warming.kill()
            warming.wait()
    login = password if report["demo"] != "changed" else "(the password was changed in the app since)"
    print(f"\nServing on http://{host}:{port}/\n"
          f"  log in:  {DEMO_USER} / {login}   (an admin; kept in {VAR / 'demo-password'}; "
          f"for a new one: {RESET_HINT})\n"
          "  stop:    Ctrl+C\n", flush=True)
    daphne = ["-b", host, "-p", str(port), "-v", "1" if verbose else "0", "neolight.asgi:application"]
    os.chdir(ROOT)
    os.execve(str(PYTHON), in_venv("serve", *daphne), env)


def hold_state_lock() -> None:
    """One server per state directory: the start-up fails whatever an earlier start left running, which
    must never be the work of a server still alive. The lock is held by the server process (kept across
    exec) and released by the system however it ends, even killed."""
    import fcntl

    lock = os.open(VAR / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"Another NeoLight server is running on {VAR}; stop it first (or set NEOLIGHT_VAR_DIR).")
    os.set_inheritable(lock, True)


def describe_mode() -> str:
    if os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
        return "DATABASE_URL / REDIS_URL set: using them; workers and beat run separately."
    return f"embedded mode (SQLite and state in {VAR}, tasks run in the server process)."


def server_env(verbose: bool) -> dict[str, str]:
    """The environment of every step and of the server: the kept secret key, the database in VAR
    unless DATABASE_URL says otherwise, and warnings only unless asked for more."""
    VAR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if not env.get("SECRET_KEY"):  # kept, so sessions outlive a restart
        env["SECRET_KEY"] = kept_secret("secret-key", lambda: secrets.token_urlsafe(50))
    env.setdefault("DATABASE_URL", f"sqlite:///{VAR / 'neolight.sqlite3'}")
    if verbose:
        env["NEOLIGHT_VERBOSE"] = "1"
    else:
        env.setdefault("LOG_LEVEL", "WARNING")
    return env


def kept_secret(name: str, make, *, renew: bool = False) -> str:
    """The secret in VAR/name (readable by its owner only), made on first use, or anew with `renew`."""
    path = VAR / name
    if path.exists() and not renew:
        return path.read_text().strip()
    value = make()
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def setup(env: dict[str, str], password: str, verbose: bool, *, reset: bool = False) -> dict:
    """Runs the set-up inside the virtualenv (one Django process); returns its report."""
    extra = {"NEOLIGHT_DEMO_PASSWORD": password, "NEOLIGHT_DEMO_RESET": "1" if reset else ""}
    result = subprocess.run(in_venv("setup"), cwd=ROOT, env={**env, **extra}, capture_output=True, text=True)
    if verbose or result.returncode != 0:
        sys.stdout.write(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"\nSet-up failed ({result.returncode}); the output above says why.")
    return json.loads(result.stdout.strip().splitlines()[-1])


def say_recovered(report: dict) -> None:
    if report["cohorts"]:
        print(f"  The last stop cut short cohort(s) {', '.join(map(str, report['cohorts']))}: failed, capital "
              "refunded.", flush=True)
    if report.get("resumed"):
        print(f"  The last stop cut short live cohort(s) {', '.join(map(str, report['resumed']))}: they resume from "
              "their checkpoints as the server starts.", flush=True)
    if report["campaigns"]:
        print(f"  The last stop cut short campaign(s) {', '.join(map(str, report['campaigns']))}: failed (start "
              "them again to go on).", flush=True)


def reset_demo_password(*, verbose: bool) -> int:
    env = server_env(verbose)
    password = kept_secret("demo-password", lambda: secrets.token_urlsafe(12), renew=True)
    setup(env, password, verbose, reset=True)
    print(f"The demo login is now {DEMO_USER} / {password} (kept in {VAR / 'demo-password'}); "
          "browsers logged in as demo must log in again.")
    return 0


def in_venv(task: str, *args: str) -> list[str]:
    """The command running `task` of this file with the virtualenv's Python (see `inside_venv`)."""
    return [str(PYTHON), str(Path(__file__).resolve()), INSIDE, task, *args]


# --- the parts that run inside the virtualenv, where Django, numba and Daphne are installed ---------

INSIDE = "--inside-venv"


def inside_venv(task: str, args: list[str]) -> int:
    """`warm-up`: compile the engine (or load it from numba's cache); `setup`: migrate, bundled data,
    recovery, demo user, then a JSON report on the last line; `serve`: warm up, then Daphne with `args`."""
    from cohorts.engine import warm_up

    if task == "warm-up":
        warm_up()
        return 0
    if task == "serve":
        warm_up()  # loads from the cache the warm-up process filled: no run waits for the compiler
        if not os.environ.get("REDIS_URL"):  # embedded: the live runs the set-up left to resume run in this process
            resume_live_runs()
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(args)
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")
    import django

    django.setup()
    print(json.dumps(setup_django(verbose=bool(os.environ.get("NEOLIGHT_VERBOSE")))))
    return 0


def setup_django(*, verbose: bool) -> dict:
    import io

    from django.core.management import call_command

    from cohorts.management.commands.load_sample_data import SAMPLE_DIR
    from cohorts.selectors.market import instrument_overview

    def command(*args: str) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out)
        sys.stdout.write(out.getvalue() if verbose else "")
        return out.getvalue()

    call_command("migrate", interactive=False, verbosity=1 if verbose else 0, stdout=sys.stdout if verbose else io.StringIO())
    if os.environ.get("NEOLIGHT_DEMO_RESET"):  # a server may be running: touch nothing but the demo user
        return {"cohorts": [], "campaigns": [], "demo": demo_user()}
    bundled = {p.name.removesuffix("_1m.csv") for p in SAMPLE_DIR.glob("*_1m.csv")}
    if bundled - {i.symbol for i in instrument_overview() if i.bar_count}:
        command("load_sample_data")  # only what is missing matters; loading again is harmless but slow
    resumed: list[int] = []
    if os.environ.get("REDIS_URL"):  # workers elsewhere may be running: only lapsed leases are recovered
        cohorts, campaigns = json.loads(command("recover_runs", "--json"))["recovered"], []
    else:  # embedded: nothing of an earlier start can still be running; live cohorts resume once the server runs
        runs = json.loads(command("recover_runs", "--orphaned", "--defer-live", "--json"))
        cohorts, resumed = runs["failed"], runs["resumed"]
        campaigns = json.loads(command("recover_campaigns", "--orphaned", "--json"))["campaigns"]
    return {"cohorts": cohorts, "resumed": resumed, "campaigns": campaigns, "demo": demo_user()}


def resume_live_runs() -> None:
    """Embedded: queues the runs of the live cohorts an earlier start left running (each goes on from its
    checkpoint) in this process, the server's, whose background threads run tasks; the set-up only named them."""
    import io

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("recover_runs", "--orphaned", stdout=io.StringIO())


def demo_user() -> str:
    """Creates the demo user with the kept password; sets it again only when a reset asks, so a restart keeps
    every browser's session (a session is bound to the password's hash). Returns created, kept or changed."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(username=DEMO_USER, defaults={"email": "demo@example.com"})
    password = os.environ["NEOLIGHT_DEMO_PASSWORD"]
    if created or os.environ.get("NEOLIGHT_DEMO_RESET"):
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return "created" if created else "kept"
    return "kept" if user.check_password(password) else "changed"


def step(text: str, verbose: bool) -> None:
    print(f"  {text} …", end="\n" if verbose else "", flush=True)


def done() -> None:
    print(" done", flush=True)


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(f"Failed ({result.returncode}): {' '.join(command)}")


if __name__ == "__main__":
    sys.exit(inside_venv(sys.argv[2], sys.argv[3:]) if sys.argv[1:2] == [INSIDE] else main())
