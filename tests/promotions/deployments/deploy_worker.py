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

from cohorts.services.clocks import ReplayClock  # noqa: E402
from neolight import faults  # noqa: E402
from promotions.services.deploy_run import deployment_run  # noqa: E402


class CrashingClock(ReplayClock):
    """The replay clock, with a SIGKILL armed after the transaction of bar `crash_at`."""

    def __init__(self, crash_at: int):
        super().__init__(0)
        self.crash_at = crash_at

    def feed(self, **window):
        feed = super().feed(**window)
        arrivals = feed.arrivals

        def armed_arrivals(start):
            for t in arrivals(start):
                if t == self.crash_at:
                    faults._plan["live.after_bar"] = "crash"
                yield t

        feed.arrivals = armed_arrivals
        return feed


deployment_id, crash_at = int(sys.argv[1]), int(sys.argv[2])
deployment = deployment_run(deployment_id=deployment_id, clock=CrashingClock(crash_at))
print("done", deployment_id, deployment.status, flush=True)
