"""A launch request hears about every bad field at once (API, page, command), and the documented sample
launches as given."""
from __future__ import annotations

import html
import re
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohorts.services import cohorts as cohort_services
from cohorts.services.inputs import cohort_input
from neolight.errors import ApplicationError
from tests.cohorts.conftest import HOURS
from tests.cohorts.test_launch_bounds import nothing_written

URL = "/api/experiments/cohorts"
THREE_FAULTS = {"bankroll": "10", "agents": 5, "symbols": ["BTC-USDT", "NOPE-USDT"], **HOURS}


@pytest.fixture
def queued_only(monkeypatch):
    monkeypatch.setattr(cohort_services, "enqueue", lambda *args: None)


@pytest.mark.django_db
def test_api_reports_bankroll_agents_and_unknown_symbol_together(launcher, crypto_hours):
    response = launcher["api"].post(URL, THREE_FAULTS, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["bankroll", "agents", "symbols"]
    assert all(len(messages) == 1 for messages in errors.values())
    assert "between $50 and $100,000" in errors["bankroll"][0] and "from 10 to 300" in errors["agents"][0]
    assert "NOPE-USDT" in errors["symbols"][0] and "BTC-USDT" not in errors["symbols"][0]
    assert nothing_written()


@pytest.mark.django_db
def test_api_reports_type_errors_beside_the_other_fields_faults(launcher, crypto_hours):
    response = launcher["api"].post(URL, {**THREE_FAULTS, "agents": "many", "seed": -1}, format="json")

    errors = response.json()["errors"]
    assert response.status_code == 400 and set(errors) == {"bankroll", "agents", "symbols", "seed"}
    assert errors["agents"] == ["A valid integer is required."]
    assert nothing_written()


@pytest.mark.django_db
def test_launch_page_shows_each_fault_beside_its_field(launcher, crypto_hours):
    form = {"mode": "advanced", "bankroll": "10", "agents": "5", "policy": "equal", "symbols": ["BTC-USDT", "NOPE"],
            "start": "2021-05-06T00:00", "end": "2021-05-06T02:00", "seed": "7", "exposure_limit": "1",
            "leverage_ceiling": "2", "daily_stop": "0.05"}
    response = launcher["page"].post(reverse("cohort-launch"), form)

    page = response.content.decode()
    assert response.status_code == 400
    for field in ("bankroll", "agents", "symbols"):
        assert re.search(rf'id="id_{field}-error"', page), field
    assert "3 inputs need attention" in page
    assert nothing_written()


@pytest.mark.django_db
def test_window_bars_are_checked_only_once_symbols_and_window_are_valid(crypto_hours):
    with pytest.raises(ApplicationError) as refused:
        cohort_input(bankroll="1000", symbols=["NOPE"], start="2019-01-01T00:00:00Z", end="2019-01-02T00:00:00Z")
    assert list(refused.value.errors) == ["symbols"]  # no "no bars for NOPE" on start

    with pytest.raises(ApplicationError) as refused:
        cohort_input(bankroll="1000", symbols=["BTC-USDT"], start="2019-01-01T00:00:00Z", end="soon")
    assert list(refused.value.errors) == ["end"]


@pytest.mark.django_db
def test_command_prints_every_fault_and_writes_nothing(crypto_hours):
    args = ["--bankroll=10", "--agents=5", "--symbols=BTC-USDT,NOPE-USDT", f"--start={HOURS['start']}",
            f"--end={HOURS['end']}"]
    with pytest.raises(CommandError) as refused:
        call_command("run_intraday_cohort", *args, stdout=StringIO())

    lines = str(refused.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["bankroll", "agents", "symbols", "Nothing was written."]
    assert nothing_written()


@pytest.mark.django_db
def test_advanced_form_offers_pickers_and_ticks_every_symbol_of_the_latest_day(launcher, crypto_day):
    page = launcher["page"].get(reverse("cohort-launch"), {"mode": "advanced"}).content.decode()

    assert re.search(r'type="datetime-local" name="start" value="2021-05-06T00:00"', page)
    assert re.search(r'type="datetime-local" name="end" value="2021-05-07T00:00"', page)
    ticked = re.findall(r'<input type="checkbox" name="symbols" value="([^"]+)"[^>]* checked', page)
    assert ticked == ["ADA-USDT", "BTC-USDT", "DOGE-USDT", "ETH-USDT", "LTC-USDT", "XRP-USDT"]
    assert "Start (UTC)" in page and "End (UTC)" in page


@pytest.mark.django_db
def test_the_documented_launch_sample_launches_as_given(launcher, crypto_day, queued_only):
    schema = yaml.safe_load(launcher["api"].get(reverse("api-schema")).content)
    operation = schema["paths"][URL]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    sample = next(iter(content["examples"].values()))["value"]
    bankroll = schema["components"]["schemas"]["Launch"]["properties"]["bankroll"]
    assert bankroll["type"] == "string" and re.fullmatch(bankroll["pattern"], sample["bankroll"])
    assert not re.fullmatch(bankroll["pattern"], "") and not re.fullmatch(bankroll["pattern"], "-")

    response = launcher["api"].post(URL, sample, format="json")

    assert response.status_code == 202, response.json()
    assert response.json()["bankroll"] == "1000.00"
    properties = schema["components"]["schemas"]["Launch"]["properties"]
    from_fields = {name: p["example"] if "example" in p else p["default"] for name, p in properties.items()
                   if "example" in p or "default" in p}  # the sample a client builds from the fields alone
    assert launcher["api"].post(URL, from_fields, format="json").status_code == 202


BREAKS = {"bankroll": "10", "agents": 5, "policy": "lucky", "seed": -1, "exposure_limit": "0",
          "leverage_ceiling": "11", "daily_stop": "1", "compliance_notes": "a\x00b", "symbols": ["NOPE"],
          "end": "2021-05-05T00:00:00Z"}
GOOD = {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT", "ETH-USDT"], **HOURS}


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(broken=st.sets(st.sampled_from(sorted(BREAKS)), min_size=1))
def test_every_broken_field_and_only_those_are_named(crypto_hours, broken):
    with pytest.raises(ApplicationError) as refused:
        cohort_input(**{**GOOD, **{name: BREAKS[name] for name in broken}})
    assert set(refused.value.errors) == broken
    assert all(len(messages) == 1 for messages in refused.value.errors.values())


@pytest.mark.django_db
@pytest.mark.parametrize("bankroll", ["0.5", "abc", "10"])
def test_the_launch_page_refuses_a_bankroll_in_the_apis_words(launcher, crypto_hours, bankroll):
    api = launcher["api"].post(URL, {"bankroll": bankroll, "agents": 10, "symbols": ["BTC-USDT"], **HOURS},
                               format="json").json()["errors"]["bankroll"]
    page = launcher["page"].post(reverse("cohort-launch"), {
        "mode": "advanced", "bankroll": bankroll, "agents": "10", "policy": "equal", "symbols": ["BTC-USDT"],
        "start": "2021-05-06T00:00", "end": "2021-05-06T02:00", "seed": "7", "exposure_limit": "1",
        "leverage_ceiling": "2", "daily_stop": "0.05"}).content.decode()
    assert api and all(html.escape(message) in page for message in api)
    assert nothing_written()
