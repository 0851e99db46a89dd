"""A second process for the fault-injection tests, standing in for a Celery worker.

Reads lines "<cohort id> <point> <action>" on stdin ("-" as the point: no fault), runs that cohort with
the point armed (pauses wait in NEOLIGHT_FAULT_DIR/<cohort id>/), and answers "done <id> <status>".
The database comes from DATABASE_URL, as for any NeoLight process.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")

import django  # noqa: E402

django.setup()

from cohorts.services.cohorts import cohort_run  # noqa: E402
from neolight import faults  # noqa: E402

print("ready", flush=True)
for line in sys.stdin:
    cohort_id, point, action = line.split()
    plan = {} if point == "-" else {point: action}
    with faults.armed(plan, directory=Path(os.environ["NEOLIGHT_FAULT_DIR"]) / cohort_id):
        cohort = cohort_run(cohort_id=int(cohort_id))
    print("done", cohort_id, cohort.status, flush=True)
