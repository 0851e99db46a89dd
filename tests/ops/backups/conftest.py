"""Fixtures of the backup tests: a completed cohort (its ledger posted) on an hour of bundled bars."""
from __future__ import annotations

import uuid

import pytest
from django.db import connection

from tests.conftest import sample_slice


@pytest.fixture
def posted_cohort(transactional_db, tmp_path):
    """A completed 10-agent cohort on the first hour of BTC-USDT, committed (a dump made by another process sees
    it): funding, the draw, the fills and the return of its capital are in the ledger."""
    return run_cohort(tmp_path)


@pytest.fixture
def completed_cohort(db, tmp_path):
    """The same cohort inside the test's transaction."""
    return run_cohort(tmp_path)


def run_cohort(tmp_path):
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input
    from cohorts.services.market import bars_import_files

    bars_import_files(paths=[sample_slice(tmp_path, "BTC-USDT", 60)])
    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT",
                        start="2021-05-06T00:00:00Z", end="2021-05-06T01:00:00Z")
    return cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)


@pytest.fixture
def fresh_postgres():
    """An empty PostgreSQL database beside the test database (created with createdb, dropped after): its
    settings dict."""
    import subprocess

    from neolight.ops.backup import _pg_env

    if connection.vendor != "postgresql":
        pytest.skip("restoring a pg_dump needs PostgreSQL")
    target = {**connection.settings_dict, "NAME": f"neolight_restore_{uuid.uuid4().hex[:10]}"}
    env = _pg_env({**target, "NAME": "postgres"})
    subprocess.run(["createdb", target["NAME"]], env=env, check=True, capture_output=True)
    yield target
    subprocess.run(["dropdb", "--if-exists", "--force", target["NAME"]], env=env, check=True, capture_output=True)
