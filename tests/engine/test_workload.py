"""The cohort-day benchmark workload reproduces the reference checksums exactly."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cohorts.engine import Market, bench_engine, generate_market, run_workload

ROOT = Path(__file__).resolve().parents[2]
NPZ = Path(__file__).resolve().parent / "data" / "cohort_day_s10_d1.npz"  # the workload's published arrays


def test_generator_matches_the_workload_fingerprint():
    m = generate_market(10, 1)
    assert m.close.shape == (1440, 10)
    assert m.open.sum() == pytest.approx(21434067.040311694, rel=1e-13)
    assert m.close.sum() == pytest.approx(21433261.64855182, rel=1e-13)
    assert m.high.sum() == pytest.approx(21449774.110500596, rel=1e-13)
    assert m.low.sum() == pytest.approx(21417686.028242163, rel=1e-13)
    assert m.close[0, 0] == pytest.approx(1246.75291, rel=1e-8)


@pytest.mark.parametrize("days, agents, expected", [
    (1, 30, "eq=9473.3599;trades=5351;mdd=1.622733"),
    (10, 30, "eq=6286.8054;trades=54303;mdd=11.229363"),
    (1, 300, "eq=9573.6161;trades=43260;mdd=13.231841"),
    (1, 3, "eq=8830.7509;trades=1256;mdd=0.351066"),
])
def test_reference_checksums(days, agents, expected):
    assert run_workload(generate_market(10, days), agents) == expected


def test_shared_arrays_give_the_same_checksum():
    with np.load(NPZ) as arrays:
        market = Market.from_arrays(arrays)
    assert run_workload(market, 30) == "eq=9473.3599;trades=5351;mdd=1.622733"


def test_bench_report_fields():
    report = bench_engine(generate_market(10, 1), 3, repeats=1)
    assert set(report) == {"engine", "agents", "symbols", "bars", "seconds", "cells_per_s",
                           "warmup_s", "checksum"}
    assert (report["agents"], report["symbols"], report["bars"]) == (3, 10, 1440)
    assert report["checksum"] == "eq=8830.7509;trades=1256;mdd=0.351066"


def test_benchmark_command_prints_one_json_line():
    cmd = [sys.executable, "manage.py", "benchmark", "engine", "--agents", "3", "--symbols", "10",
           "--days", "1", "--repeats", "1", "--json"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["checksum"] == "eq=8830.7509;trades=1256;mdd=0.351066"
