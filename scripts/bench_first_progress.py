"""Time from a cohort's start to its first progress report, in a fresh process (prints JSON figures).

    DATABASE_URL=sqlite:///var/neolight.sqlite3 NUMBA_CACHE_DIR=/tmp/empty .venv/bin/python scripts/bench_first_progress.py [--warm-up]

Run it on a database holding the bundled bars. With an empty NUMBA_CACHE_DIR and no --warm-up it measures
the cold first run (the kernel compiles inside the run); with --warm-up it first does what the server and
workers now do at start (compile, or load from numba's cache) and times that separately.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")

import django  # noqa: E402

django.setup()

from cohorts import engine  # noqa: E402
from cohorts.services.cohorts import cohort_launch, cohort_run  # noqa: E402
from cohorts.services.inputs import cohort_input  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm-up", action="store_true", help="warm the engine before the run, as servers do at start")
    args = parser.parse_args()
    figures = {"numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", "(beside the sources)")}
    if args.warm_up:
        began = time.perf_counter()
        engine.warm_up()
        figures["warm_up_s"] = round(time.perf_counter() - began, 2)
    data = cohort_input(bankroll="1000", agents=30, symbols="BTC-USDT,ETH-USDT,DOGE-USDT,LTC-USDT,XRP-USDT,ADA-USDT",
                        start="2021-05-10T00:00:00Z", end="2021-05-11T00:00:00Z")
    cohort = cohort_launch(data=data, run=False)
    reports = []
    began = time.perf_counter()
    cohort_run(cohort_id=cohort.pk, progress=lambda percent: reports.append((percent, time.perf_counter() - began)))
    figures.update(first_progress_s=round(reports[0][1], 2), first_progress_percent=reports[0][0],
                   run_s=round(time.perf_counter() - began, 2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
