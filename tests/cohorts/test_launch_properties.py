"""Whatever a launch request holds, every interface answers with a launch or a refusal naming a field,
never a server error, and a refusal writes nothing.

Each example runs inside a savepoint that is rolled back, so examples do not drain the house
bankroll for the next; accepted launches are not run (the queue, or the command's run, is a no-op).
"""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cohorts.management.commands import run_intraday_cohort
from cohorts.models import Account, Agent, Bankroll, Cohort, CohortStatus, Entry, LedgerTransaction, ParentWallet
from cohorts.services import cohorts as cohort_services
from tests.cohorts.conftest import HOURS_SYMBOLS

MONEY_TABLES = [Cohort, Agent, ParentWallet, Account, LedgerTransaction, Entry, Bankroll]
FIRST_BAR = datetime(2021, 5, 6, tzinfo=UTC)
BARS = 120  # minutes of bars in `crypto_hours`
# 1,000 generated requests per interface; CI, which runs the whole suite on every change, may ask for fewer
EXAMPLES = settings(max_examples=int(os.environ.get("NEOLIGHT_PROPERTY_EXAMPLES", "1000")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- strategies: mostly valid requests, with boundary values and a few fields spoiled by junk ---------

def _ratio(high: str) -> st.SearchStrategy[str]:
    return st.decimals(min_value="0.000001", max_value=high, places=6).map(str)


VALID = {
    "bankroll": st.one_of(st.sampled_from(["50", "100000", "50.00", "99999.99", "$1,000", "1e3"]),
                          st.decimals(min_value=50, max_value=100_000, places=2).map(str)),
    "agents": st.sampled_from([10] * 12 + [11, 30, 300]),  # the bounds, the default; mostly small, cheap
    "policy": st.sampled_from(["equal", "risk_weighted", "performance_weighted"]),
    "symbols": st.sampled_from([["BTC-USDT"], ["ETH-USDT"], HOURS_SYMBOLS, [" btc-usdt ", "BTC-USDT"]]),
    "seed": st.one_of(st.sampled_from([0, 7, 2**31 - 1]), st.integers(0, 2**31 - 1)),
    "exposure_limit": st.one_of(st.sampled_from(["0.000001", "10", "1", "10.000000"]), _ratio("10")),
    "leverage_ceiling": st.one_of(st.sampled_from(["0.000001", "10", "2"]), _ratio("10")),
    "daily_stop": st.one_of(st.sampled_from(["0.000001", "0.999999", "0.05"]), _ratio("0.999999")),
    "compliance_notes": st.one_of(st.just(""), st.just("n" * 2000), st.text(
        st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)),
}
SPECIAL = [
    "", " ", "-1", "0", "NaN", "-Infinity", "inf", "1e309", "1e30", "1e-9", "0.000000001", "0.0000001", "999999",
    "10.000001", "1", "2147483648", "9223372036854775808", "-9223372036854775809", "7.5", "30.5", "1_000", "٣",
    "1e999999999", "1e9999999999999999999", "$", "\x00", "BTC-USDT\x00", "NOPE", "btc-usdt", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2021-05-06T00:00:00", "2021-05-06T00:01:00Z", "2021-05-06T02:00:00Z", "yesterday",
    "9" * 5000, "x" * 20_000, "equal", "true", "null", "[]", "{}",
]
JUNK = st.one_of(
    st.sampled_from(SPECIAL), st.none(), st.booleans(), st.integers(),
    st.sampled_from([-1, 2**31, 2**63, -(2**63) - 1, 10**400, 999999]),
    st.floats(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.lists(st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


@st.composite
def windows(draw) -> tuple[datetime, datetime]:
    """A window inside the stored bars holding at least 2 of them; sometimes thin, reversed or far away."""
    first = draw(st.integers(0, BARS - 2))
    last = draw(st.integers(first + 2, BARS))
    start, end = FIRST_BAR + timedelta(minutes=first), FIRST_BAR + timedelta(minutes=last)
    odd = draw(st.sampled_from(["ok", "ok", "ok", "ok", "one bar", "reversed", "empty", "too long"]))
    if odd == "one bar":
        end = start + timedelta(minutes=1)
    elif odd == "reversed":
        start, end = end, start
    elif odd == "empty":
        start, end = start - timedelta(days=400), end - timedelta(days=400)
    elif odd == "too long":
        end = start + timedelta(days=8)
    return start, end


def _decimal_text(**bounds) -> st.SearchStrategy[str]:
    return st.decimals(allow_nan=True, allow_infinity=True, **bounds).map(str)


def _moments() -> st.SearchStrategy[str]:
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))])
    return st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31),
                        timezones=st.one_of(st.none(), offsets)).map(lambda d: d.isoformat())


# Values just outside (or on the edge of) each field's bounds, or of the wrong shape for it.
NEAR = {
    "bankroll": st.one_of(st.sampled_from(["49.99", "100000.01", "1000.001", "0", "-1000", "1e999999999"]),
                          _decimal_text(), st.floats().map(str)),
    "agents": st.one_of(st.sampled_from([9, 301, "30.5", "1e1", 10.0, -10]), st.integers()),
    "policy": st.one_of(st.sampled_from(["EQUAL", "lucky", " equal"]), st.text(max_size=10)),
    "symbols": st.one_of(st.sampled_from([[], ["NOPE"], ["BTC-USDT", "NOPE"], [f"S{i}" for i in range(51)],
                                          ["X" * 33], "BTC-USDT", [["BTC-USDT"]], [{"s": 1}], [None]]),
                         st.lists(st.text(max_size=12), max_size=4)),
    "seed": st.one_of(st.sampled_from([-1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**400, "7.5", 7.5]), st.integers()),
    "exposure_limit": st.one_of(st.sampled_from(["1e30", "0.000000001", "10.000001", "0"]), _decimal_text()),
    "leverage_ceiling": st.one_of(st.sampled_from(["1e309", "999999", "-2", "10.0000001"]), _decimal_text()),
    "daily_stop": st.one_of(st.sampled_from(["1", "0", "0.0500001", "-0.05"]), _decimal_text()),
    "compliance_notes": st.one_of(st.sampled_from(["n" * 2001, "a\x00b", "\x07", "\udc80"]), st.text(max_size=30)),
    "start": st.one_of(st.sampled_from(["0001-01-01T00:00:00+05:00", "2021-05-06", "20210506"]), _moments()),
    "end": st.one_of(st.sampled_from(["9999-12-31T23:59:59-05:00", "2021-05-06T00:01:00Z"]), _moments()),
}


@st.composite
def launch_requests(draw) -> dict:
    """Field name → value (a JSON value; datetimes for the window): a valid request with up to 3 fields
    spoiled (a value near or past its bounds, or any junk) or dropped."""
    start, end = draw(windows())
    request = {name: draw(strategy) for name, strategy in VALID.items()} | {"start": start, "end": end}
    spoiled = draw(st.sampled_from([0, 1, 1, 1, 1, 2, 3]))
    for name in draw(st.permutations(sorted(request)))[:spoiled]:
        how = draw(st.sampled_from(["near", "near", "junk", "drop"]))
        if how == "drop" and name != "bankroll":
            del request[name]
        else:
            request[name] = draw(NEAR[name] if how == "near" else JUNK)
    return request


def iso(value, fmt: str = "%Y-%m-%dT%H:%M:%SZ"):
    return value.strftime(fmt) if isinstance(value, datetime) else value


def as_text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


# --- the checks common to every interface ------------------------------------------------------------

def money_rows() -> list[int]:
    """Row counts of the money tables, in one query."""
    counts = ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(m._meta.db_table)})" for m in MONEY_TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return list(cursor.fetchone())


@pytest.fixture
def no_runs(monkeypatch):
    """Accepted launches are queued to nothing, and the command's immediate run leaves the cohort as is."""
    def run(*, cohort_id, progress=None):
        cohort = Cohort.objects.get(pk=cohort_id)
        cohort.status = CohortStatus.COMPLETED  # in memory only: the command then prints its brief
        return cohort

    monkeypatch.setattr(cohort_services, "enqueue", lambda *args: None)
    monkeypatch.setattr(run_intraday_cohort, "cohort_run", run)


def in_savepoint(attempt) -> None:
    """Runs `attempt(before)` in a savepoint rolled back afterwards; `before` is the money tables' row counts."""
    before = money_rows()
    with transaction.atomic():
        attempt(before)
        transaction.set_rollback(True)


def check_outcome(accepted: bool, before: list[int]) -> None:
    event("accepted" if accepted else "refused")  # shown by --hypothesis-show-statistics
    after = money_rows()
    if accepted:
        assert after[0] == before[0] + 1  # exactly one cohort
    else:
        assert after == before, "a refused launch wrote rows"


@pytest.fixture
def launcher(maker, client, api, settings):
    """A user allowed to launch, with API budgets far above the examples (throttling has its own tests)."""
    rates = {"anon": "100000/min", "user": "100000/min", "launch": "100000/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    client.force_login(maker)
    return {"api": api, "page": client}


# --- the three interfaces ----------------------------------------------------------------------------

@pytest.mark.django_db
@EXAMPLES
@given(launch=launch_requests(), raw=st.sampled_from([None] * 12 + ["", "{", "[]", "null", "1e999", '"x"']))
def test_api_launch_answers_202_or_a_4xx_naming_a_field(launcher, crypto_hours, no_runs, launch, raw):
    body = raw if raw is not None else json.dumps({k: iso(v) for k, v in launch.items()})

    def attempt(before):
        response = launcher["api"].post("/api/experiments/cohorts", body, content_type="application/json")
        assert response.status_code < 500
        if response.status_code == 202:
            check_outcome(True, before)
            return
        assert 400 <= response.status_code < 500 and response.status_code != 429
        reply = response.json()
        assert reply.get("errors") or reply.get("detail"), reply
        check_outcome(False, before)

    in_savepoint(attempt)


@pytest.mark.django_db
@EXAMPLES
@given(launch=launch_requests(), easy=st.sampled_from([False] * 7 + [True]))
def test_launch_page_redirects_or_explains_beside_a_field(launcher, crypto_hours, no_runs, launch, easy):
    data = {"mode": "easy", "bankroll": as_text(launch.get("bankroll", "")), "day": "2021-05-06"} if easy else {
        "mode": "advanced", **{k: v if k == "symbols" and isinstance(v, list) else as_text(iso(v, "%Y-%m-%d %H:%M"))
                               for k, v in launch.items() if k != "compliance_notes"}}
    if isinstance(data.get("symbols"), list):
        data["symbols"] = [as_text(s) for s in data["symbols"]]

    def attempt(before):
        response = launcher["page"].post(reverse("cohort-launch"), data)
        if response.status_code == 302:
            check_outcome(True, before)
            return
        assert response.status_code in (200, 400)
        assert response.context["form"].errors
        check_outcome(False, before)

    in_savepoint(attempt)


OPTIONS = {"exposure_limit": "exposure-limit", "leverage_ceiling": "leverage-ceiling", "daily_stop": "daily-stop"}


@pytest.mark.django_db
@EXAMPLES
@given(launch=launch_requests())
def test_command_launches_or_raises_a_command_error(crypto_hours, no_runs, launch):
    args = [f"--{OPTIONS.get(k, k)}={as_text(iso(v))}" for k, v in launch.items() if k != "compliance_notes"]

    def attempt(before):
        try:
            call_command("run_intraday_cohort", *args, "--json", stdout=StringIO(), stderr=StringIO())
        except CommandError as refusal:
            assert str(refusal), "a refusal says why"
            check_outcome(False, before)
        else:
            check_outcome(True, before)

    in_savepoint(attempt)
