"""Fixtures of the gate tests: a small completed cohort on two hours of bundled bars, and a 3-day campaign."""
from __future__ import annotations

import pytest

from tests.conftest import sample_slice

PAIR = ["BTC-USDT", "ETH-USDT"]


@pytest.fixture
def crypto_hours(db, tmp_path):
    """The first two hours (120 bars) of BTC-USDT and ETH-USDT, imported through the real service."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 120) for s in PAIR])


def run_cohort(bankroll: str = "1000", agents: int = 10, run: bool = True):
    """A cohort on `crypto_hours`, launched and (unless `run` is False) run to completion."""
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input

    data = cohort_input(bankroll=bankroll, agents=agents, symbols="BTC-USDT,ETH-USDT",
                        start="2021-05-06T00:00:00Z", end="2021-05-06T02:00:00Z")
    cohort = cohort_launch(data=data, run=False)
    return cohort_run(cohort_id=cohort.pk) if run else cohort


@pytest.fixture
def cohort(crypto_hours):
    """A completed cohort of 10 agents on two hours of two pairs."""
    return run_cohort()


@pytest.fixture
def two_day_campaign(db, tmp_path):
    """A completed 2-day replay campaign (10 agents, 3 trials per family) on two bundled pairs, 2021-05-08 and 09."""
    from cohorts.services.market import bars_import_files
    from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay

    bars_import_files(paths=[sample_slice(tmp_path, s, 4 * 1440) for s in PAIR])
    data = campaign_input(bankroll="1000", days=2, start="2021-05-08", agents=10, symbols=",".join(PAIR),
                          lookback_hours=6, trials=3)
    return campaign_replay(campaign_id=campaign_create(data=data).pk)
