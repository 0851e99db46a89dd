"""A campaign request is bounded like a cohort launch: days, lookback, trials, seed, start and name are
refused naming the field, before any arithmetic can overflow, and nothing is written."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cohorts.models import Cohort, LedgerTransaction
from knowledge.models import Campaign
from knowledge.services.campaigns import campaign_input
from neolight.errors import ApplicationError

GOOD = {"bankroll": "1000", "days": 2, "start": "2021-05-07", "agents": 10, "symbols": "BTC-USDT,ETH-USDT",
        "lookback_hours": 6, "trials": 3}
REFUSED = [
    ({"days": "2.5"}, "days"), ({"days": True}, "days"), ({"days": 10**5000}, "days"), ({"days": "1_0"}, "days"),
    ({"lookback_hours": -1}, "lookback_hours"), ({"lookback_hours": "6.0"}, "lookback_hours"),
    ({"trials": 2**63}, "trials"), ({"trials": 0}, "trials"), ({"trials": "9" * 5000}, "trials"),
    ({"seed": -1}, "seed"), ({"seed": 2**63}, "seed"), ({"seed": "7.5"}, "seed"),
    ({"start": "9999-12-31"}, "start"), ({"start": "0001-01-01"}, "start"), ({"start": 20210507}, "start"),
    ({"start": "x" * 10_000}, "start"), ({"name": "n" * 121}, "name"), ({"name": 5}, "name"),
    ({"name": "a\x00b"}, "name"), ({"symbols": ["BTC-USDT", None]}, "symbols"),
]


@pytest.mark.django_db
def test_campaign_input_refuses_out_of_bounds_input_naming_the_field(crypto_days):
    assert campaign_input(**GOOD, seed="2147483647").seed == 2**31 - 1
    for change, field in REFUSED:
        with pytest.raises(ApplicationError) as refused:
            campaign_input(**{**GOOD, **change})
        assert refused.value.field == field, (change, refused.value.message)
        assert len(refused.value.message) < 300


@pytest.mark.django_db
@pytest.mark.parametrize(("option", "field"), [("--seed=-1", "seed"), ("--seed=9223372036854775808", "seed"),
                                               ("--days=1e3", "days"), ("--start=9999-12-31", "start")])
def test_run_campaign_refuses_out_of_bounds_input_and_writes_nothing(crypto_days, option, field):
    with pytest.raises(CommandError, match=rf"^{field}: .*Nothing was written"):
        call_command("run_campaign", "--bankroll=1000", "--days=2", "--start=2021-05-07", "--agents=10",
                     "--trials=3", option, stdout=StringIO())
    assert not Campaign.objects.exists() and not Cohort.objects.exists() and not LedgerTransaction.objects.exists()
