"""A second process for the live-cohort crash tests, standing in for a worker.

`live_worker.py <cohort id> <bar>` runs the live cohort on the replay clock (no waits) and is killed
with SIGKILL (as `kill -9` of a worker) right after bar <bar>'s transaction commits; with <bar> = -1
it runs to the end and prints "done <id> <status>". The database comes from DATABASE_URL.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")

import django  # noqa: E402

django.setup()

from cohorts.services.live import cohort_run_live  # noqa: E402
from tests.live.crashing_clock import CrashingClock  # noqa: E402

cohort_id, crash_at = int(sys.argv[1]), int(sys.argv[2])
cohort = cohort_run_live(cohort_id=cohort_id, clock=CrashingClock(crash_at))
print("done", cohort_id, cohort.status, flush=True)
