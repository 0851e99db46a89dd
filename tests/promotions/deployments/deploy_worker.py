"""A second process for the deployment crash test, standing in for a Celery worker.

`deploy_worker.py <deployment id> <bar>` runs the deployment on the replay clock and is killed with SIGKILL (as
`kill -9` of a worker) right after bar <bar>'s transaction — its fills and their broker orders — commits. The
database comes from DATABASE_URL.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")

import django  # noqa: E402

django.setup()

from promotions.services.deploy_run import deployment_run  # noqa: E402
from tests.live.crashing_clock import CrashingClock  # noqa: E402

deployment_id, crash_at = int(sys.argv[1]), int(sys.argv[2])
deployment = deployment_run(deployment_id=deployment_id, clock=CrashingClock(crash_at))
print("done", deployment_id, deployment.status, flush=True)
