"""Guard rails and readiness checks, pure: each fails alone with its value and threshold; the unmeasurable fail."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings

from promotions.engine import gate

GUARDS = dict(settings.PROMOTION_GUARDS)
MINIMUM = Decimal("50")


def passing() -> gate.Evidence:
    """A candidate that clears every default threshold: a strong, steady day, three good earlier days."""
    returns = np.random.default_rng(1).normal(4e-4, 1e-3, 1440)
    return gate.Evidence(returns=returns, trades=40, max_drawdown=0.01, confidence=0.8, sharpe=5.0, win_rate=0.7,
                         slippage_bps=5.0, liquidity=1e6, allocation=Decimal("500.00"), bankroll=Decimal("10000"),
                         trials=40, sharpe_variance=1 / 1439, walk_forward=(True, True), paper_days=3, runs=5,
                         failed_runs=0)


def by_name(checks: list[gate.Check]) -> dict[str, gate.Check]:
    return {c.name: c for c in checks}


def test_a_strong_candidate_passes_every_check_with_its_figures():
    checks = gate.evaluate_checks(passing(), GUARDS, minimum_allocation=MINIMUM)

    assert [c.name for c in checks] == ["allocation", *GUARDS]
    assert all(c.passed for c in checks), [c.detail for c in checks if not c.passed]
    assert {c.kind for c in checks} == {"guard", "readiness"}
    assert by_name(checks)["min_liquidity_ratio"].value == pytest.approx(1e6 / 500)


FAILING = {  # one change to the passing evidence that should fail exactly this check, and the value measured
    "min_trades": ({"trades": 9}, 9.0),
    "max_slippage_bps": ({"slippage_bps": 12.5}, 12.5),
    "min_liquidity_ratio": ({"liquidity": 9_000.0}, 18.0),
    "min_confidence": ({"confidence": 0.59}, 0.59),
    "min_deflated_sharpe": ({"trials": 10**9, "sharpe_variance": 1e-2}, None),
    "min_walk_forward": ({"walk_forward": (True, False)}, 0.5),
    "min_paper_days": ({"paper_days": 2}, 2.0),
    "min_sharpe": ({"sharpe": 1.5}, 1.5),  # readiness wants strictly more than 1.5
    "min_win_rate": ({"win_rate": 0.55}, 0.55),
    "max_error_rate": ({"runs": 500, "failed_runs": 1}, 0.002),
}


@pytest.mark.parametrize("name", FAILING)
def test_each_check_fails_alone_and_stores_its_value_and_threshold(name):
    change, value = FAILING[name]
    checks = by_name(gate.evaluate_checks(replace(passing(), **change), GUARDS, minimum_allocation=MINIMUM))
    failed = [n for n, c in checks.items() if not c.passed]
    check = checks[name]

    assert failed == [name]
    assert check.threshold == GUARDS[name]
    if value is None:
        assert check.value is not None and check.value < GUARDS[name]
    else:
        assert check.value == pytest.approx(value)
    assert "fails" in check.detail and check.comparison in check.detail


def test_a_deep_drawdown_fails_the_guard_and_the_readiness_check():
    checks = by_name(gate.evaluate_checks(replace(passing(), max_drawdown=0.06), GUARDS, minimum_allocation=MINIMUM))

    assert [n for n, c in checks.items() if not c.passed] == ["max_drawdown", "max_readiness_drawdown"]
    assert checks["max_drawdown"].value == 0.06 and checks["max_drawdown"].threshold == 0.05


@pytest.mark.parametrize(("change", "name", "why"), [
    ({"liquidity": None}, "min_liquidity_ratio", "traded no symbol"),
    ({"confidence": None}, "min_confidence", "not recorded"),
    ({"slippage_bps": None}, "max_slippage_bps", "not recorded"),
    ({"walk_forward": ()}, "min_walk_forward", "no earlier campaign day"),
    ({"returns": np.zeros(1440)}, "min_deflated_sharpe", "flat"),
    ({"sharpe_variance": None}, "min_deflated_sharpe", "variance"),
    ({"trades": 0, "win_rate": 0.0}, "min_win_rate", "no closed trade"),
    ({"runs": 0}, "max_error_rate", "no run"),
    ({"sharpe": float("nan")}, "min_sharpe", "not finite"),
])
def test_a_value_that_cannot_be_measured_fails_and_says_why(change, name, why):
    check = by_name(gate.evaluate_checks(replace(passing(), **change), GUARDS, minimum_allocation=MINIMUM))[name]

    assert check.value is None and not check.passed
    assert why in check.detail


def test_lenient_thresholds_never_pass_what_was_not_measured():
    lenient = {**GUARDS, "min_walk_forward": 0.0, "min_deflated_sharpe": 0.0, "min_liquidity_ratio": 0.0}
    checks = by_name(gate.evaluate_checks(replace(passing(), walk_forward=(), liquidity=None, returns=np.zeros(9)),
                                          lenient, minimum_allocation=MINIMUM))

    assert not any(checks[n].passed for n in ("min_walk_forward", "min_deflated_sharpe", "min_liquidity_ratio"))


def test_unknown_guards_are_refused():
    with pytest.raises(KeyError, match="min_luck"):
        gate.evaluate_checks(passing(), {**GUARDS, "min_luck": 1}, minimum_allocation=MINIMUM)


def test_walk_forward_share_counts_days_without_evidence_as_not_positive():
    assert gate.walk_forward_share((True, None, False, True)) == 0.5
    assert gate.walk_forward_share((True, True)) == 1.0
    assert gate.walk_forward_share(()) is None


@pytest.mark.parametrize(("bankroll", "expected"), [
    ("10000", "500.00"),  # the fraction
    ("1234.57", "61.73"),  # in cents, half to even
    ("600", "50.00"),  # raised to the minimum, which the bankroll can fund
    ("40", "2.00"),  # the bankroll cannot fund the minimum: left below it
    ("100000", "1000.00"),  # capped
])
def test_allocation_is_a_fraction_of_the_bankroll_within_the_minimum_and_the_cap(bankroll, expected):
    amount = gate.allocation_propose(bankroll=Decimal(bankroll), fraction=0.05, minimum=Decimal("50"),
                                     cap=Decimal("1000"))

    assert amount == Decimal(expected) and amount.as_tuple().exponent == -2


def test_an_allocation_below_the_minimum_fails_its_check():
    evidence = replace(passing(), allocation=Decimal("2.00"), bankroll=Decimal("40"), liquidity=1e9)
    check = by_name(gate.evaluate_checks(evidence, GUARDS, minimum_allocation=MINIMUM))["allocation"]

    assert not check.passed and check.value == 2.0 and check.threshold == 50.0
    assert "below the $50.00 minimum" in check.detail


def test_rank_is_by_roi_plus_sharpe_ties_to_the_lower_index():
    score, rank = gate.rank_scores(np.array([0.01, 0.5, -0.2, 0.01, np.nan]), np.array([2.0, 1.0, 3.0, 2.0, 9.0]))

    assert score.tolist() == pytest.approx([2.01, 1.5, 2.8, 2.01, 9.0])
    assert rank.tolist() == [3, 5, 2, 4, 1]
