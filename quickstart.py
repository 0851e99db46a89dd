#!/usr/bin/env python3
"""Set up and run NeoLight on a machine with only Python 3.11+.

    python3 quickstart.py               # virtualenv, install, migrate, bundled data, demo login, serve :8000
    python3 quickstart.py test [ARGS]   # virtualenv with test tools, then pytest ARGS (the whole suite)

Runs embedded by default (SQLite, in-process channel layer and tasks); set DATABASE_URL and REDIS_URL
to use PostgreSQL and Redis instead. Uses only the standard library, so it runs before anything is installed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("NEOLIGHT_VENV", ROOT / ".venv"))
PYTHON = VENV / "bin" / "python"
DEMO_USER = "demo"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "test"])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to serve on")
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="port to serve on")
    args, rest = parser.parse_known_args()
    if sys.version_info < (3, 11):
        sys.exit("NeoLight needs Python 3.11 or newer.")
    if args.command == "test":
        ensure_venv(ROOT / "requirements-dev.txt")
        return subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    ensure_venv(ROOT / "requirements.txt")
    return serve(args.host, args.port)


def ensure_venv(requirements: Path) -> None:
    """Creates the virtualenv and installs `requirements` unless that exact file is installed already."""
    if not PYTHON.exists():
        print(f"Creating a virtualenv in {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(ROOT.glob("requirements*.txt")))).hexdigest()
    stamp = VENV / f".installed-{requirements.stem}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing {requirements.name} (first run takes a few minutes) …", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(requirements)])
    stamp.write_text(digest)


def serve(host: str, port: str) -> int:
    (ROOT / "var").mkdir(exist_ok=True)
    manage = [str(PYTHON), str(ROOT / "manage.py")]
    run([*manage, "migrate", "--noinput", "-v", "0"])
    print("Loading the bundled market data …", flush=True)
    run([*manage, "load_sample_data"])
    # Embedded, one process serves and runs everything: whatever a previous start left pending or running
    # has no worker any more, so it is failed and its capital refunded before serving. With Redis, workers
    # elsewhere may be running cohorts: only those whose lease lapsed are recovered.
    run([*manage, "recover_runs", *([] if os.environ.get("REDIS_URL") else ["--orphaned"])])
    password = secrets.token_urlsafe(12)
    run([*manage, "shell", "-c", DEMO_USER_SNIPPET], env={**os.environ, "NEOLIGHT_DEMO_PASSWORD": password})
    print(
        f"\nNeoLight is starting on http://{host}:{port}/\n"
        f"  demo login:  {DEMO_USER} / {password}   (also an admin; the password is new on each start)\n"
        "  stop with Ctrl+C\n",
        flush=True,
    )
    daphne = VENV / "bin" / "daphne"
    return subprocess.call([str(daphne), "-b", host, "-p", str(port), "neolight.asgi:application"], cwd=ROOT)


DEMO_USER_SNIPPET = f"""
import os
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username={DEMO_USER!r}, defaults={{"email": "demo@example.com"}})
user.is_staff = user.is_superuser = True
user.set_password(os.environ["NEOLIGHT_DEMO_PASSWORD"])
user.save()
"""


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(f"Failed ({result.returncode}): {' '.join(command)}")


if __name__ == "__main__":
    sys.exit(main())
