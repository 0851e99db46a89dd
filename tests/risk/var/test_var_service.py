"""VaR of stored cohorts, deployments and bankrolls: the figures the engine gives on the same returns, the same
figures for the same seed, stresses of the book, and empty states that explain themselves."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from cohorts.engine.metrics import returns as bar_returns
from cohorts.selectors.cohorts import cohort_curves
from risk.engine import historical_var
from risk.selectors.var import var_report


@pytest.mark.django_db
def test_cohort_historical_var_is_the_engines_on_its_parent_curve(completed, settings):
    settings.RISK_VAR_PATHS = 20_000
    report = var_report(completed, horizon=5)

    curves = cohort_curves(completed)
    parent = curves["parent"]
    returns = bar_returns(parent[None, :], np.array([5000.0]))[0]
    value = Decimal(repr(float(parent[-1]))).quantize(Decimal("0.01"))
    expected = historical_var(returns, level=0.99, horizon=5, portfolio_value=value)
    assert report["value"] == str(value)
    assert report["observations"] == parent.size == 180
    assert report["historical"]["99"]["var"] == str(expected.var_amount)
    assert report["historical"]["99"]["var_fraction"] == expected.var
    assert Decimal(report["historical"]["95"]["cvar"]) >= Decimal(report["historical"]["95"]["var"]) > 0
    mc = report["monte_carlo"]
    assert set(mc) == {"95", "99"} and mc["99"]["samples"] == 20_000
    assert Decimal(mc["99"]["var"]) > Decimal(mc["95"]["var"]) > 0
    print(report["stress"])


@pytest.mark.django_db
def test_curves_rebuilt_from_fills_and_bars_match_the_stored_ones(completed):
    """A running live cohort's (or deployment's) equity is rebuilt from its fills: on a completed run the rebuilt
    parent curve is the stored one, bar by bar, to the cent."""
    from risk.selectors.var import _rebuilt

    stored = cohort_curves(completed)
    whole, first_hour = _rebuilt(completed, None), _rebuilt(completed, 60)
    assert np.abs(whole.parent - stored["parent"]).max() < 0.01
    assert np.abs(whole.agents - stored["agents"]).max() < 0.01
    assert np.array_equal(first_hour.parent, whole.parent[:60]) and first_hour.running
    assert np.abs(whole.notional[-1]).sum() < 0.01  # the run ended flat
    assert np.abs(whole.notional).sum(axis=1).max() > 100  # and held positions on the way


@pytest.mark.django_db
def test_bankroll_var_is_its_cohorts_dollar_swings_over_its_value(completed, viewer):
    from risk.selectors.var import var_subject

    bankroll = var_subject(user=viewer, kind="bankroll", subject_id=completed.source_id)
    report = var_report(bankroll, horizon=1, paths=5000)

    value = Decimal(report["value"])
    assert value > Decimal("999000")  # the house bankroll's funding, the cohort's result returned
    parent = cohort_curves(completed)["parent"]
    swings = np.diff(parent, prepend=5000.0) / float(value)
    expected = historical_var(swings, level=0.99, horizon=1, portfolio_value=value)
    assert report["observations"] == 180 and report["historical"]["99"]["var"] == str(expected.var_amount)
    assert report["stress"] and report["notes"]
