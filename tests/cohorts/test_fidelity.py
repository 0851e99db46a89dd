"""Simulation fidelity on the service side: results never depend on the order symbols are named in,
nor on bars or cohorts that come after a cohort's window."""
from __future__ import annotations

from decimal import Decimal
from io import StringIO

import numpy as np
import pytest

from cohorts import calendars
from cohorts.models import Bar, Cohort, CohortStatus
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input
from cohorts.services.market import bars_import_files
from neolight.errors import ApplicationError
from tests.conftest import CRYPTO, sample_slice

D = Decimal
MORNING = {"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T03:00:00Z"}
NOON = {"start": "2021-05-06T12:00:00Z", "end": "2021-05-06T14:00:00Z"}


def launch(symbols, window, policy="equal", agents=12, run=True) -> Cohort:
    data = cohort_input(bankroll="1000", agents=agents, symbols=symbols, policy=policy, **window)
    cohort = cohort_launch(data=data, run=False)
    return cohort_run(cohort_id=cohort.pk) if run else cohort


def fills_of(cohort: Cohort) -> list[tuple]:
    return sorted(cohort.fills.values_list("agent__index", "ts", "instrument__symbol", "side", "qty", "price", "fee"))


def scores_of(cohort: Cohort) -> list[tuple]:
    return list(cohort.agents.order_by("index").values_list("index", "capital", "final_equity", "sharpe", "trades"))


@pytest.mark.django_db
def test_the_same_symbols_in_any_order_give_identical_fills_and_scores(crypto_day):
    named = launch(",".join(CRYPTO), MORNING)
    reversed_ = launch(",".join(reversed(CRYPTO)), MORNING)

    assert named.status == reversed_.status == CohortStatus.COMPLETED
    assert any(f[2] in CRYPTO[:2] for f in fills_of(named))
    assert fills_of(named) == fills_of(reversed_)
    assert scores_of(named) == scores_of(reversed_)
    assert named.final_equity == reversed_.final_equity
    assert named.symbols == reversed_.symbols == sorted(CRYPTO)
    assert named.summary["pairs"] == [["ADA-USDT", "BTC-USDT"], ["DOGE-USDT", "ETH-USDT"], ["LTC-USDT", "XRP-USDT"]]


@pytest.mark.django_db
def test_performance_weighting_ignores_a_cohort_over_the_same_window(crypto_day):
    launch("BTC-USDT,ETH-USDT", NOON)  # just run, over the very window about to be weighted
    cohort = launch("BTC-USDT,ETH-USDT", NOON, policy="performance_weighted", run=False)

    assert len({a.capital for a in cohort.agents.all()}) <= 2  # equal shares (cents aside)
    assert "equal shares" in cohort.compliance_notes and "ended at or before" in cohort.compliance_notes


@pytest.mark.django_db
def test_performance_weighting_ignores_a_cohort_on_other_markets(crypto_day):
    launch("DOGE-USDT,XRP-USDT", MORNING)
    cohort = launch("BTC-USDT,ETH-USDT", NOON, policy="performance_weighted", run=False)

    assert len({a.capital for a in cohort.agents.all()}) <= 2
    assert "equal shares" in cohort.compliance_notes


@pytest.mark.django_db
def test_performance_weighting_learns_from_an_earlier_window_on_the_same_markets(crypto_day):
    earlier = launch("ETH-USDT,BTC-USDT", MORNING)
    cohort = launch("BTC-USDT,ETH-USDT", NOON, policy="performance_weighted", run=False)

    assert len({a.capital for a in cohort.agents.all()}) > 2
    assert f"cohort {earlier.pk}" in cohort.compliance_notes


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["equal", "risk_weighted", "performance_weighted"])
def test_later_cohorts_and_future_bars_never_change_a_cohorts_allocation_fills_or_scores(crypto_day, tmp_path,
                                                                                          policy):
    launch("BTC-USDT,ETH-USDT", MORNING)  # what there was to learn from before the window
    first = launch("BTC-USDT,ETH-USDT", NOON, policy=policy)

    launch("BTC-USDT,ETH-USDT", {"start": "2021-05-06T13:00:00Z", "end": "2021-05-06T16:00:00Z"})  # run later
    launch("BTC-USDT,ETH-USDT", {"start": "2021-05-06T18:00:00Z", "end": "2021-05-06T20:00:00Z"})
    days = tmp_path / "two-days"
    days.mkdir()
    bars_import_files(paths=[sample_slice(days, s, 2880) for s in CRYPTO[:2]])  # the next day's bars arrive
    again = launch("BTC-USDT,ETH-USDT", NOON, policy=policy)

    assert first.status == again.status == CohortStatus.COMPLETED
    assert [a.capital for a in first.agents.order_by("index")] == [a.capital for a in again.agents.order_by("index")]
    assert fills_of(first) == fills_of(again)
    assert scores_of(first) == scores_of(again)


@pytest.fixture
def equity_days(db):
    """Three synthetic US-equity-like symbols on XNYS (sessions, sparse extended hours, a weekend) and
    two 24/7 symbols over the same dates."""
    from django.core.management import call_command

    common = ["--days", "6", "--start", "2024-01-04", "--seed", "11"]
    call_command("generate_bars", "--symbols", "3", "--prefix", "EQ", "--equity", *common, stdout=StringIO())
    call_command("generate_bars", "--symbols", "2", "--prefix", "CX", *common, stdout=StringIO())


def in_regular_session(fills) -> bool:
    stamps = np.array([np.datetime64(ts.replace(tzinfo=None), "ns") for _, ts, *_ in fills])
    return bool(calendars.tradable(stamps, "XNYS").all())


def fills_on_real_bars(cohort: Cohort) -> bool:
    bars = set(Bar.objects.filter(instrument__symbol__in=cohort.symbols).values_list("instrument__symbol", "ts"))
    return all((symbol, ts) in bars for _, ts, symbol, *_ in fills_of(cohort))


@pytest.mark.django_db
def test_equity_fills_only_on_real_bars_in_session_and_a_whole_utc_day_equals_its_session(equity_days):
    symbols = "EQ001,EQ002,EQ003"
    whole_day = launch(symbols, {"start": "2024-01-08T00:00:00Z", "end": "2024-01-09T00:00:00Z"}, agents=18)
    session = launch(symbols, {"start": "2024-01-08T14:30:00Z", "end": "2024-01-08T21:00:00Z"}, agents=18)

    assert whole_day.status == session.status == CohortStatus.COMPLETED, whole_day.status_reason
    fills = fills_of(whole_day)
    assert len(fills) > 20
    assert fills_on_real_bars(whole_day)
    assert in_regular_session(fills)
    assert fills == fills_of(session)
    assert scores_of(whole_day) == scores_of(session)


@pytest.mark.django_db
def test_a_cohort_over_a_weekend_trades_only_in_the_sessions(equity_days):
    cohort = launch("EQ001,EQ002", {"start": "2024-01-05T00:00:00Z", "end": "2024-01-09T00:00:00Z"}, agents=12)

    assert cohort.status == CohortStatus.COMPLETED and cohort.is_reconciled, cohort.status_reason
    fills = fills_of(cohort)
    assert fills_on_real_bars(cohort) and in_regular_session(fills)
    assert {ts.date().isoformat() for _, ts, *_ in fills} <= {"2024-01-05", "2024-01-08"}


@pytest.mark.django_db
def test_crypto_and_equities_trade_together_each_in_its_own_hours(equity_days):
    cohort = launch("CX001,EQ001", {"start": "2024-01-08T00:00:00Z", "end": "2024-01-09T00:00:00Z"}, agents=12)

    assert cohort.status == CohortStatus.COMPLETED and cohort.is_reconciled, cohort.status_reason
    fills = fills_of(cohort)
    equity_fills = [f for f in fills if f[2] == "EQ001"]
    crypto_fills = [f for f in fills if f[2] == "CX001"]
    assert equity_fills and crypto_fills and fills_on_real_bars(cohort)
    assert in_regular_session(equity_fills)
    assert not in_regular_session(crypto_fills)  # crypto trades around the clock


@pytest.mark.django_db
def test_equity_scores_annualise_by_the_sessions_minutes(equity_days):
    import empyrical

    from cohorts import engine
    from cohorts.selectors.market import bar_window
    from cohorts.services.cohorts import engine_spec

    cohort = launch("EQ001,EQ002", {"start": "2024-01-08T00:00:00Z", "end": "2024-01-10T00:00:00Z"}, agents=12)
    window = bar_window(symbols=cohort.symbols, start=cohort.window_start, end=cohort.window_end)
    equity = engine.run(window.market(), engine_spec(cohort)).equity  # the run again, exactly (stored: cents)
    agents = list(cohort.agents.order_by("index"))
    capital = np.array([float(a.capital) for a in agents])
    returns = np.diff(np.concatenate([capital[:, None], equity], axis=1), axis=1) / \
        np.concatenate([capital[:, None], equity[:, :-1]], axis=1)

    traded = [a for a in agents if a.trades]
    assert traded
    for agent in traded:
        expected = empyrical.sharpe_ratio(returns[agent.index], annualization=252 * 390)
        assert agent.sharpe == pytest.approx(expected, rel=1e-9)
    hours = {h.hour.hour for a in agents for h in a.hours.all()}
    assert hours <= set(range(14, 22))  # hourly ROI only for the session's clock hours (UTC)


def _nothing_written() -> bool:
    from cohorts.models import LedgerTransaction

    return not Cohort.objects.exists() and not LedgerTransaction.objects.filter(
        idempotency_key__startswith="cohort:").exists()


@pytest.mark.django_db
def test_a_one_minute_window_is_refused_and_nothing_written(crypto_day):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="at least 2 bars of every symbol"):
        call_command("run_intraday_cohort", "--bankroll", "1000", "--symbols", "BTC-USDT,ETH-USDT",
                     "--start", "2021-05-06T10:00:00Z", "--end", "2021-05-06T10:01:00Z", stdout=StringIO())
    assert _nothing_written()


@pytest.mark.django_db
def test_a_window_with_bars_only_outside_the_session_is_refused(equity_days):
    # 09:00-14:30 UTC is New York's pre-market: sparse bars exist, none in the regular session
    with pytest.raises(ApplicationError, match=r"EQ001 \(XNYS regular session\)") as refused:
        cohort_input(bankroll="1000", symbols="CX001,EQ001", start="2024-01-08T09:00:00Z",
                     end="2024-01-08T14:30:00Z")
    assert refused.value.field == "start" and "CX001" not in refused.value.message
    assert _nothing_written()


@pytest.mark.django_db
def test_risk_weighting_on_monday_looks_back_over_fridays_session(equity_days):
    cohort = launch("EQ001,EQ002", {"start": "2024-01-08T14:30:00Z", "end": "2024-01-08T21:00:00Z"},
                    policy="risk_weighted", run=False)

    assert "inverse volatility" in cohort.compliance_notes and "trading hours" in cohort.compliance_notes
    assert len({a.capital for a in cohort.agents.all()}) > 2


@pytest.mark.django_db
def test_real_spy_minutes_fill_only_on_real_regular_session_bars(tmp_path):
    from django.core.management import call_command

    call_command("import_bars", str(sample_slice(tmp_path, "SPY", 1362)), "--calendar", "XNYS", stdout=StringIO())
    cohort = launch("SPY", {"start": "2011-01-03T00:00:00Z", "end": "2011-01-05T00:00:00Z"}, agents=12)

    assert cohort.status == CohortStatus.COMPLETED and cohort.is_reconciled, cohort.status_reason
    fills = fills_of(cohort)
    assert fills and fills_on_real_bars(cohort) and in_regular_session(fills)
