"""Every launch input is bounded: the reported cases through the API, the Advanced form and the command,
and `cohort_input`'s refusals field by field. A refusal names the field and writes nothing."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from cohorts.models import Account, Agent, Bankroll, Cohort, Entry, LedgerTransaction, ParentWallet
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input
from neolight.errors import ApplicationError
from tests.cohorts.conftest import HOURS
from tests.conftest import sample_slice

MONEY_TABLES = [Cohort, Agent, ParentWallet, Account, LedgerTransaction, Entry, Bankroll]
VALID = {"bankroll": "1000", "agents": "10", "policy": "equal", "symbols": ["BTC-USDT", "ETH-USDT"], **HOURS,
         "seed": "7", "exposure_limit": "1", "leverage_ceiling": "2", "daily_stop": "0.05"}

# The outside tester's findings, each with the field that must be named.
REPORTED = [
    ({"seed": -1}, "seed"),
    ({"seed": 2**63}, "seed"),
    ({"exposure_limit": "1e30"}, "exposure_limit"),
    ({"leverage_ceiling": "1e309"}, "leverage_ceiling"),
    ({"exposure_limit": "0.000000001"}, "exposure_limit"),
    ({"leverage_ceiling": "999999"}, "leverage_ceiling"),
    ({"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T00:01:00Z"}, "start"),
]
IDS = ["seed=-1", "seed=2**63", "exposure=1e30", "leverage=1e309", "exposure=1e-9", "leverage=999999", "one-bar"]


def nothing_written() -> bool:
    return not any(model.objects.exists() for model in MONEY_TABLES)


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), REPORTED, ids=IDS)
def test_api_refuses_each_reported_input_with_a_400_naming_the_field(launcher, crypto_hours, change, field):
    body = {**VALID, "agents": 10, "seed": 7, **change}
    response = launcher["api"].post("/api/experiments/cohorts", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), REPORTED, ids=IDS)
def test_advanced_form_refuses_each_reported_input_beside_the_field(launcher, crypto_hours, change, field):
    start, end = datetime.fromisoformat(HOURS["start"]), datetime.fromisoformat(HOURS["end"])
    form = {**VALID, "mode": "advanced", "start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%Y-%m-%d %H:%M}"}
    form.update({k: (f"{datetime.fromisoformat(v):%Y-%m-%d %H:%M}" if k in ("start", "end") else str(v))
                 for k, v in change.items()})
    response = launcher["page"].post(reverse("cohort-launch"), form)
    assert response.status_code == 400
    assert re.search(rf'id="id_{field}-error"', response.content.decode()), response.context["form"].errors
    assert nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field"), REPORTED, ids=IDS)
def test_command_refuses_each_reported_input_naming_the_field(crypto_hours, change, field):
    options = {**VALID, "symbols": ",".join(VALID["symbols"]), **change}
    args = [f"--{name.replace('_', '-')}={value}" for name, value in options.items()]
    with pytest.raises(CommandError) as refused:
        call_command("run_intraday_cohort", *args, "--json", stdout=StringIO())
    assert str(refused.value).startswith(f"{field}: ") and "Nothing was written" in str(refused.value)
    assert nothing_written()


BASE = {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT", "ETH-USDT"], **HOURS}
REFUSED = [
    ({"seed": -1}, "seed", "Seed must be a whole number from 0 to 2,147,483,647; got -1."),
    ({"seed": 2**31}, "seed", "from 0 to 2,147,483,647; got 2147483648"),
    ({"seed": 10**5000}, "seed", "from 0 to 2,147,483,647"),
    ({"seed": True}, "seed", "whole number"),
    ({"seed": "7.5"}, "seed", "whole number"),
    ({"seed": 7.0}, "seed", "whole number"),
    ({"seed": "1_000"}, "seed", "whole number"),
    ({"agents": "30.5"}, "agents", "whole number"),
    ({"agents": False}, "agents", "whole number"),
    ({"agents": "9" * 5000}, "agents", "whole number"),
    ({"bankroll": "1e999999999"}, "bankroll", "between $50 and $100,000"),
    ({"bankroll": "9" * 5000}, "bankroll", "between $50 and $100,000"),
    ({"bankroll": "1000.001"}, "bankroll", "whole cents"),
    ({"bankroll": True}, "bankroll", "must be a number"),
    ({"exposure_limit": "0"}, "exposure_limit", "between 0.000001 and 10"),
    ({"exposure_limit": "10.000001"}, "exposure_limit", "between 0.000001 and 10"),
    ({"exposure_limit": "0.0000001"}, "exposure_limit", "at most 6 decimal places"),
    ({"exposure_limit": "NaN"}, "exposure_limit", "must be a number"),
    ({"leverage_ceiling": "-2"}, "leverage_ceiling", "between 0.000001 and 10"),
    ({"leverage_ceiling": "11"}, "leverage_ceiling", "between 0.000001 and 10"),
    ({"leverage_ceiling": "Infinity"}, "leverage_ceiling", "must be a number"),
    ({"daily_stop": "1"}, "daily_stop", "strictly between 0 and 1"),
    ({"daily_stop": "0"}, "daily_stop", "strictly between 0 and 1"),
    ({"daily_stop": "0.0500001"}, "daily_stop", "at most 6 decimal places"),
    ({"symbols": ["BTC-USDT", 5]}, "symbols", "text"),
    ({"symbols": ["BTC\x00USDT"]}, "symbols", "letters, digits"),
    ({"symbols": ["X" * 33]}, "symbols", "letters, digits"),
    ({"symbols": [f"S{i}" for i in range(51)]}, "symbols", "at most 50"),
    ({"symbols": 7}, "symbols", "list"),
    ({"start": "0001-01-01T00:00:00+05:00"}, "start", "between 1970 and 2100"),
    ({"end": "9999-12-31T23:59:59-05:00"}, "end", "between 1970 and 2100"),
    ({"start": datetime(2021, 5, 6, 0, 0)}, "start", None),  # naive: taken as UTC, accepted
    ({"start": "x" * 100_000}, "start", "ISO-8601"),
    ({"compliance_notes": "n" * 2001}, "compliance_notes", "at most 2,000 characters"),
    ({"compliance_notes": "a\x00b"}, "compliance_notes", "control characters"),
    ({"policy": ["equal"]}, "policy", "Unknown policy"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "message"), REFUSED, ids=[f"{r[1]}-{i}" for i, r in enumerate(REFUSED)])
def test_cohort_input_refuses_out_of_bounds_input_naming_the_field(crypto_hours, change, field, message):
    if message is None:
        assert cohort_input(**{**BASE, **change}).start == datetime(2021, 5, 6, tzinfo=UTC)
        return
    with pytest.raises(ApplicationError) as refused:
        cohort_input(**{**BASE, **change})
    assert refused.value.field == field
    assert message in refused.value.message
    assert len(refused.value.message) < 300


@pytest.mark.django_db
def test_cohort_input_accepts_the_bounds_themselves(crypto_hours):
    data = cohort_input(**BASE, seed=2**31 - 1, exposure_limit="10", leverage_ceiling="0.000001",
                        daily_stop="0.999999", compliance_notes="n" * 2000)
    assert data.seed == 2**31 - 1 and str(data.leverage_ceiling) == "0.000001"
    assert cohort_input(**{**BASE, "seed": "0", "start": "2021-05-06T01:58:00Z"}).seed == 0  # the last two bars
    assert cohort_input(**BASE, seed=np.int64(5)).seed == 5


@pytest.mark.django_db
def test_window_needs_two_bars_of_every_symbol(db, tmp_path):
    from cohorts.services.market import bars_import_files

    bars_import_files(paths=[sample_slice(tmp_path, "BTC-USDT", 120), sample_slice(tmp_path, "ETH-USDT", 1)])
    with pytest.raises(ApplicationError) as refused:
        cohort_input(**BASE)
    assert refused.value.field == "start"
    assert "ETH-USDT" in refused.value.message and "BTC-USDT" not in refused.value.message
    assert cohort_input(**{**BASE, "symbols": ["BTC-USDT"]}).symbols == ("BTC-USDT",)


@pytest.mark.django_db
def test_launch_page_explains_a_launch_the_house_bankroll_cannot_cover(launcher, crypto_hours, settings):
    settings.HOUSE_BANKROLL_FUNDING = 500
    response = launcher["page"].post(reverse("cohort-launch"), {"mode": "easy", "bankroll": "1000",
                                                                 "day": "2021-05-06"})
    assert response.status_code == 400
    assert "available" in response.content.decode()
    assert not Cohort.objects.exists() and not LedgerTransaction.objects.exclude(kind="funding").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("bounds", [
    {"leverage_ceiling": "0.000001", "exposure_limit": "0.000001", "daily_stop": "0.000001", "seed": 0},
    {"leverage_ceiling": "10", "exposure_limit": "10", "daily_stop": "0.999999", "seed": 2**31 - 1},
])
def test_a_launch_at_the_bounds_on_a_two_bar_window_runs_to_completion(crypto_hours, bounds):
    data = cohort_input(**{**BASE, "start": "2021-05-06T01:58:00Z"}, **bounds)
    cohort = cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)
    assert cohort.status == "completed", cohort.status_reason
    assert cohort.is_reconciled and cohort.is_ledger_balanced
