"""The promotion gate, pure: ranking, the Deflated Sharpe Ratio, walk-forward consistency, and every guard
rail and readiness check of a candidate as plain `Check` values (standard library and numpy; no Django).

Deflated Sharpe Ratio (D. H. Bailey and M. López de Prado, "The Deflated Sharpe Ratio: Correcting for
Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014):

    SR₀ = sqrt(V[SRₙ]) · ((1 - γ) · Φ⁻¹(1 - 1/N) + γ · Φ⁻¹(1 - 1/(N·e)))
    DSR = Φ( (SR - SR₀) · sqrt(T - 1) / sqrt(1 - γ₃·SR + (γ₄ - 1)/4 · SR²) )

SR₀ is the Sharpe ratio the best of N independent trials would show by luck alone when their Sharpe
ratios vary with variance V[SRₙ] around a true value of zero (γ ≈ 0.5772 is the Euler–Mascheroni
constant); DSR is the probabilistic Sharpe ratio of the candidate against that benchmark: SR, γ₃ (skewness)
and γ₄ (kurtosis, not excess) of its T per-bar returns. Every Sharpe ratio here is per bar, not annualised,
so the candidate's and the trials' are on one scale. N = 1 gives SR₀ = 0 (DSR = PSR).

V[SRₙ] can be estimated two ways (`sharpe_variance`): "cross_section", the paper's, the variance of the trials'
estimated Sharpe ratios; and "null" (NeoLight's default), the variance each trial's estimate has by luck alone
under the DSR's null hypothesis that every true Sharpe ratio is 0 — (1 - γ₃·SRₙ + (γ₄ - 1)/4 · SRₙ²)/(T - 1) per
trial (Mertens 2002; Opdyke 2007), averaged over the trials. The two agree when the trials are variations of
one idea with no skill, which is the paper's setting; a cohort's agents are different strategy families whose
true Sharpe ratios do differ (costs, trend against reversion), and the cross-section counts that spread as luck:
with it a cohort in which several families have a real edge sets a bar none of them can clear.

Walk-forward consistency is the share of the campaign's earlier days on which the genome scored positive out
of sample; what counts as out of sample is decided by the evidence selector, which passes one outcome per
earlier day (True, False, or None: nothing of this genome was scored that day, which counts as not positive).

A check whose value cannot be measured fails (value None) and says why: nothing passes by default.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
CENT = Decimal("0.01")
NORMAL = NormalDist()
GUARD, READINESS = "guard", "readiness"


@dataclass(frozen=True)
class Check:
    """One guard rail or readiness check: what was measured, against what, and the verdict in words."""

    name: str
    kind: str  # guard | readiness
    value: float | None
    threshold: float
    comparison: str  # how value meets threshold: >=, <=, >, <
    passed: bool
    detail: str


@dataclass(frozen=True)
class Evidence:
    """What the gate knows of one agent. `returns` (T,): its per-bar simple returns on the day; `trials`: the
    genomes tried behind it (N of the DSR) and `sharpe_variance` V[SRₙ] of their per-bar Sharpe ratios;
    `walk_forward`: one outcome per earlier campaign day (see the module docstring); `liquidity`: median dollar
    volume per bar of the least liquid symbol it traded (None: it traded none, or no bars were found)."""

    returns: np.ndarray
    trades: int
    max_drawdown: float | None
    confidence: float | None
    sharpe: float | None
    win_rate: float | None
    slippage_bps: float | None
    liquidity: float | None
    allocation: Decimal
    bankroll: Decimal
    trials: int
    sharpe_variance: float | None
    walk_forward: tuple[bool | None, ...] = ()
    paper_days: int = 0
    runs: int = 0
    failed_runs: int = 0
    notes: Mapping[str, str] = field(default_factory=dict)


def rank_scores(roi: np.ndarray, sharpe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, rank) per agent: score = ROI + annualised Sharpe (non-finite parts count 0); rank 1 = best,
    ties to the lower agent index."""
    score = np.nan_to_num(np.asarray(roi, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0) + \
        np.nan_to_num(np.asarray(sharpe, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    order = np.lexsort((np.arange(len(score)), -score))
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    return score, rank


def sharpe_ratios(returns: np.ndarray) -> np.ndarray:
    """Per-bar Sharpe ratio (mean / std, ddof 0) of each row of (A, T) returns; 0 for a flat row."""
    r = np.atleast_2d(np.asarray(returns, dtype=np.float64))
    if r.shape[1] == 0:
        return np.zeros(r.shape[0])
    std = r.std(axis=1)
    return np.where(std > 0, r.mean(axis=1) / np.where(std > 0, std, 1.0), 0.0)


def sharpe_variance(returns: np.ndarray, method: str = "null") -> float | None:
    """V[SRₙ] from the (A, T) per-bar returns of the trials whose returns are known (module docstring):
    "cross_section", the variance of their Sharpe ratios (ddof 1; None with fewer than two), or "null", the mean
    of their Sharpe estimates' sampling variances under a true Sharpe ratio of 0 (None without returns)."""
    r = np.atleast_2d(np.asarray(returns, dtype=np.float64))
    sr = sharpe_ratios(r)
    if method == "cross_section":
        return float(np.var(sr, ddof=1)) if len(sr) >= 2 else None
    if method != "null":
        raise ValueError(f"unknown Sharpe variance method {method!r}")
    if r.shape[0] == 0 or r.shape[1] < 3:
        return None
    std = r.std(axis=1, keepdims=True)
    z = (r - r.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
    skew, kurt = (z**3).mean(axis=1), (z**4).mean(axis=1)
    flat = std[:, 0] == 0
    each = np.where(flat, 1.0, 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2) / (r.shape[1] - 1)
    return float(np.mean(np.maximum(each, 0.0)))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR₀: the expected maximum Sharpe ratio of `trials` independent trials of zero true Sharpe ratio whose
    estimates vary with `variance` (Bailey and López de Prado 2014, eq. for SR₀). 0 for a single trial."""
    if trials <= 1 or variance <= 0:
        return 0.0
    n = float(trials)
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * NORMAL.inv_cdf(1 - 1 / n)
                                  + EULER_GAMMA * NORMAL.inv_cdf(1 - 1 / (n * math.e)))


def deflated_sharpe(returns: np.ndarray, trials: int, sharpe_variance: float) -> float | None:
    """DSR of per-bar `returns` (T,) found as the best of `trials` whose per-bar Sharpe ratios vary with
    `sharpe_variance` (module docstring). None when it cannot be measured: fewer than 3 returns, flat returns,
    or a non-positive denominator."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 3 or r.std() == 0:
        return None
    mean, std = r.mean(), r.std()
    sr = mean / std
    z = (r - mean) / std
    skew, kurt = float((z**3).mean()), float((z**4).mean())
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if denom <= 0:
        return None
    stat = (sr - expected_max_sharpe(trials, sharpe_variance)) * math.sqrt(len(r) - 1) / math.sqrt(denom)
    return NORMAL.cdf(stat)


def walk_forward_share(outcomes: Sequence[bool | None]) -> float | None:
    """Share of the earlier days on which the genome scored positive out of sample (a day without evidence
    counts as not positive); None when there is no earlier day."""
    if not outcomes:
        return None
    return sum(1 for o in outcomes if o) / len(outcomes)


def allocation_propose(*, bankroll: Decimal, fraction: float, minimum: Decimal, cap: Decimal) -> Decimal:
    """The proposed micro-live capital in cents: `fraction` of the bankroll, raised to `minimum` when the
    bankroll can fund it (else left below it, which fails the allocation check), never above `cap`."""
    amount = (bankroll * Decimal(str(fraction))).quantize(CENT, rounding=ROUND_HALF_EVEN)
    if amount < minimum <= bankroll:
        amount = minimum
    return min(amount, cap).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _passes(value: float, threshold: float, comparison: str) -> bool:
    return {">=": value >= threshold, "<=": value <= threshold, ">": value > threshold,
            "<": value < threshold}[comparison]


# name → (kind, comparison, what is measured, how to show a figure); the thresholds come from the guards.
SPECS: dict[str, tuple[str, str, str, str]] = {
    "min_trades": (GUARD, ">=", "trades on the day", "{:.0f}"),
    "max_slippage_bps": (GUARD, "<=", "modelled slippage (bps)", "{:.2f}"),
    "min_liquidity_ratio": (GUARD, ">=", "median dollar volume per bar of its least liquid symbol / allocation",
                            "{:.1f}"),
    "max_drawdown": (GUARD, "<=", "maximum drawdown on the day", "{:.2%}"),
    "min_confidence": (GUARD, ">=", "confidence (probabilistic Sharpe × trade count)", "{:.3f}"),
    "min_deflated_sharpe": (GUARD, ">=", "Deflated Sharpe Ratio", "{:.3f}"),
    "min_walk_forward": (GUARD, ">=", "share of earlier days positive out of sample", "{:.0%}"),
    "min_paper_days": (READINESS, ">=", "days of paper validation", "{:.0f}"),
    "min_sharpe": (READINESS, ">", "annualised Sharpe", "{:.2f}"),
    "max_readiness_drawdown": (READINESS, "<", "maximum drawdown", "{:.2%}"),
    "min_win_rate": (READINESS, ">", "share of winning trades", "{:.1%}"),
    "max_error_rate": (READINESS, "<", "failed runs / runs behind it", "{:.2%}"),
}


def _measure(name: str, e: Evidence) -> tuple[float | None, str]:
    """The value of check `name` and, when it cannot be measured, why."""
    if name == "min_trades":
        return float(e.trades), ""
    if name == "max_slippage_bps":
        return e.slippage_bps, "the cohort's slippage is not recorded"
    if name == "min_liquidity_ratio":
        if e.liquidity is None:
            return None, e.notes.get("liquidity", "it traded no symbol with stored bars in the window")
        if e.allocation <= 0:
            return None, "no allocation to compare the volume with"
        return e.liquidity / float(e.allocation), ""
    if name in ("max_drawdown", "max_readiness_drawdown"):
        return e.max_drawdown, "its drawdown is not recorded"
    if name == "min_confidence":
        return e.confidence, "its confidence is not recorded"
    if name == "min_deflated_sharpe":
        return _deflated(e)
    if name == "min_walk_forward":
        return walk_forward_share(e.walk_forward), e.notes.get("walk_forward", "no earlier campaign day to test it on")
    if name == "min_paper_days":
        return float(e.paper_days), ""
    if name == "min_sharpe":
        return e.sharpe, "its Sharpe ratio is not recorded"
    if name == "min_win_rate":
        return (e.win_rate, "") if e.trades else (None, "no closed trade to count wins in")
    if name == "max_error_rate":
        return (e.failed_runs / e.runs, "") if e.runs else (None, "no run behind it")
    raise KeyError(name)


def _deflated(e: Evidence) -> tuple[float | None, str]:
    if e.trials > 1 and e.sharpe_variance is None:
        return None, "the variance of the trials' Sharpe ratios is unknown (fewer than two with returns)"
    value = deflated_sharpe(e.returns, e.trials, e.sharpe_variance or 0.0)
    return value, "its returns are too few or flat to measure a Sharpe ratio"


def _context(name: str, e: Evidence) -> str:
    """What a figure was measured over, where it helps to read it."""
    if name == "min_deflated_sharpe":
        return f" (best of {e.trials} genomes tried, over {len(e.returns)} bars)"
    if name == "min_walk_forward" and e.walk_forward:
        return f" ({sum(1 for o in e.walk_forward if o)} of {len(e.walk_forward)} earlier days)"
    if name == "max_error_rate":
        return f" ({e.failed_runs} of {e.runs})"
    return ""


def _detail(name: str, e: Evidence, value: float | None, threshold: float, passed: bool, why: str) -> str:
    kind, comparison, what, fmt = SPECS[name]
    if value is None:
        return f"{what[0].upper()}{what[1:]} could not be measured: {why}; fails."
    verdict = "passes" if passed else "fails"
    return (f"{what[0].upper()}{what[1:]} {fmt.format(value)}{_context(name, e)}, needs {comparison} "
            f"{fmt.format(threshold)}: {verdict}.")


def evaluate_checks(evidence: Evidence, guards: Mapping[str, float], *, minimum_allocation: Decimal) -> list[Check]:
    """Every check of PROMOTION_GUARDS (`guards`: name → threshold; unknown names are refused) and the
    allocation check, in the order of SPECS. A value that cannot be measured (None, NaN) fails."""
    unknown = set(guards) - set(SPECS)
    if unknown:
        raise KeyError(f"unknown promotion guards: {sorted(unknown)}")
    checks = [_allocation_check(evidence, minimum_allocation)]
    for name, (kind, comparison, _, _) in SPECS.items():
        if name not in guards:
            continue
        threshold = float(guards[name])
        value, why = _measure(name, evidence)
        if value is not None and not math.isfinite(value):
            value, why = None, "the figure is not finite"
        passed = value is not None and _passes(value, threshold, comparison)
        checks.append(Check(name, kind, value, threshold, comparison, passed,
                            _detail(name, evidence, value, threshold, passed, why)[:300]))
    return checks


def _allocation_check(e: Evidence, minimum: Decimal) -> Check:
    passed = e.allocation >= minimum
    if passed:
        detail = f"Proposed ${e.allocation:,.2f} of a ${e.bankroll:,.2f} bankroll, at least ${minimum:,.2f}: passes."
    else:
        detail = (f"The ${e.bankroll:,.2f} bankroll allows ${e.allocation:,.2f}, below the ${minimum:,.2f} minimum "
                  "allocation: fails.")
    return Check("allocation", GUARD, float(e.allocation), float(minimum), ">=", passed, detail)
