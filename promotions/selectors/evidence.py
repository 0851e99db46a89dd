"""What the promotion gate needs of a completed cohort, read from the database into the engine's `Evidence`.

- Returns: each agent's per-bar simple returns over the day, from the stored full-resolution equity curves
  (`CohortResult.equity_curves`, unpacked by `cohorts.curves`), the first against its capital.
- Genomes tried (the DSR's N) behind an agent: the cohort's agents plus the learning trials of the agent's
  family in the campaign's completed learning cycles before this day (`LearningCycle.families[].trials`, one
  row per optuna trial). V[SRₙ] is estimated from the cohort's agents, the trials whose returns are known, by
  PROMOTION_DSR_VARIANCE's method (see promotions/engine/gate.py).
- Walk-forward, one outcome per earlier campaign day d: out of sample by construction are (1) the day-d cohort's
  agents running the same genome (family, parameters, side): the genome was chosen before day d, on earlier
  data (day 1's roster on none), and traded day d; positive when their mean ROI + Sharpe is above 0; else (2)
  the learning cycle after day d that tuned this very genome on the hours before its scoring window and scored
  it on that window (`families[].out_of_sample`), positive above 0. Neither: no evidence (not positive). A
  child bred from parents (`changes[].parents`) inherits none of their record: other parameters are another
  strategy, and crediting it with its parents' days would count evidence it never earned.
- Liquidity: the median dollar volume (close × volume) per stored bar in the cohort's window of each symbol,
  and for each agent the least liquid symbol it traded (its fills).
- Slippage: the cohort's wallet `slippage_bps`. Paper days: the campaign's days up to this one whose cohort
  completed (1 for a cohort outside a campaign). Runs behind it: the campaign's day cohorts up to this day and
  its learning cycles before it (the cohort alone outside a campaign); failed: those whose status is failed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings

from cohorts import curves
from cohorts.engine.metrics import returns as bar_returns
from cohorts.models import Agent, Bar, Cohort, CohortStatus, Fill
from knowledge.models import CampaignDay, CycleStatus, LearningCycle
from promotions import engine


@dataclass(frozen=True)
class CohortEvidence:
    """The agents of a cohort in index order, each with its `engine.Evidence`, and the cohort's campaign day."""

    agents: list[Agent]
    evidence: list[engine.Evidence]
    campaign_day: CampaignDay | None


def genome_key(family: str, params: dict) -> tuple:
    """An agent's genome identity from its stored family and params (its side is among the params)."""
    return family, tuple(sorted((k, repr(v)) for k, v in params.items()))


def _cycle_genome_key(genome: dict) -> tuple:
    return genome_key(genome["family"], {**genome["params"], "side": genome.get("side", "long")})


def cohort_evidence(cohort: Cohort, *, allocation: Decimal) -> CohortEvidence:
    """Everything the gate weighs for each agent of a completed cohort (module docstring)."""
    agents = list(cohort.agents.order_by("index"))
    day = CampaignDay.objects.filter(cohort=cohort).select_related("campaign").first()
    returns = agent_returns(cohort, agents)
    variance = engine.gate.sharpe_variance(returns, settings.PROMOTION_DSR_VARIANCE) if len(agents) else None
    trials = _family_trials(day)
    history = _walk_forward_history(day)
    paper_days, runs, failed = _runs(cohort, day)
    liquidity = _liquidity(cohort, agents)
    wallet = cohort.wallet
    slippage = float(wallet.slippage_bps) if wallet.slippage_bps is not None else None
    evidence = []
    for i, agent in enumerate(agents):
        key = genome_key(agent.family, agent.params)
        evidence.append(engine.Evidence(
            returns=returns[i], trades=agent.trades, max_drawdown=agent.max_drawdown, confidence=agent.confidence,
            sharpe=agent.sharpe, win_rate=agent.win_rate, slippage_bps=slippage, liquidity=liquidity.get(agent.pk),
            allocation=allocation, bankroll=wallet.bankroll, trials=len(agents) + trials.get(agent.family, 0),
            sharpe_variance=variance, walk_forward=tuple(h.get(key) for h in history), paper_days=paper_days,
            runs=runs, failed_runs=failed,
            notes={"walk_forward": "the cohort is not part of a campaign" if day is None
                   else "no earlier campaign day to test it on"}))
    return CohortEvidence(agents, evidence, day)


def agent_returns(cohort: Cohort, agents: list[Agent]) -> np.ndarray:
    """(A, T) per-bar returns of the agents from the stored curves; (A, 0) when the cohort has none."""
    blob = Cohort.objects.filter(pk=cohort.pk).values_list("result__equity_curves", flat=True).first()
    if not blob:
        return np.zeros((len(agents), 0))
    equity = curves.unpack(bytes(blob))["agents"]
    capital = np.array([float(a.capital) for a in agents])
    return bar_returns(equity, capital)


def _family_trials(day: CampaignDay | None) -> dict[str, int]:
    """Learning trials per family in the campaign's completed cycles before `day`."""
    counts: dict[str, int] = defaultdict(int)
    if day is None:
        return counts
    cycles = LearningCycle.objects.filter(campaign=day.campaign_id, day_number__lt=day.number,
                                          status=CycleStatus.COMPLETED).values_list("families", flat=True)
    for families in cycles:
        for family in families or []:
            counts[family["family"]] += len(family.get("trials") or [])
    return counts


def _walk_forward_history(day: CampaignDay | None) -> list[dict[tuple, bool]]:
    """Per earlier day (1 … N-1): genome key → scored positive out of sample that day (module docstring)."""
    if day is None or day.number <= 1:
        return []
    earlier = list(CampaignDay.objects.filter(campaign=day.campaign_id, number__lt=day.number,
                                              cohort__status=CohortStatus.COMPLETED).order_by("number"))
    scores: dict[int, dict[tuple, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in Agent.objects.filter(cohort__in=[d.cohort_id for d in earlier]).values(
            "cohort_id", "family", "params", "roi", "sharpe"):
        scores[row["cohort_id"]][genome_key(row["family"], row["params"])].append(
            (row["roi"] or 0.0) + (row["sharpe"] or 0.0))
    tuned: dict[int, dict[tuple, bool]] = defaultdict(dict)
    for number, families in LearningCycle.objects.filter(
            campaign=day.campaign_id, day_number__lt=day.number, status=CycleStatus.COMPLETED).values_list(
            "day_number", "families"):
        for family in families or []:
            if family.get("out_of_sample") is not None:
                tuned[number].setdefault(_cycle_genome_key(family["tuned"]), family["out_of_sample"] > 0)
    history = []
    by_number = {d.number: d for d in earlier}
    for number in range(1, day.number):
        outcomes = dict(tuned.get(number, {}))
        if number in by_number:
            outcomes.update({k: float(np.mean(v)) > 0 for k, v in scores[by_number[number].cohort_id].items()})
        history.append(outcomes)
    return history


def _runs(cohort: Cohort, day: CampaignDay | None) -> tuple[int, int, int]:
    """(paper days, runs behind the cohort, failed runs)."""
    if day is None:
        completed = int(cohort.status == CohortStatus.COMPLETED)
        return completed, 1, int(cohort.status == CohortStatus.FAILED)
    days = list(CampaignDay.objects.filter(campaign=day.campaign_id, number__lte=day.number)
                .values_list("cohort__status", flat=True))
    cycles = list(LearningCycle.objects.filter(campaign=day.campaign_id, day_number__lt=day.number)
                  .values_list("status", flat=True))
    failed = sum(s == CohortStatus.FAILED for s in days) + sum(s == CycleStatus.FAILED for s in cycles)
    return sum(s == CohortStatus.COMPLETED for s in days), len(days) + len(cycles), failed


def symbol_dollar_volume(cohort: Cohort) -> dict[str, float]:
    """Median close × volume per stored bar of each of the cohort's symbols in its window."""
    rows = Bar.objects.filter(instrument__symbol__in=cohort.symbols, ts__gte=cohort.window_start,
                              ts__lt=cohort.window_end).values_list("instrument__symbol", "close", "volume")
    values: dict[str, list[float]] = defaultdict(list)
    for symbol, close, volume in rows.iterator(chunk_size=10_000):
        values[symbol].append(float(close) * float(volume))
    return {symbol: float(np.median(v)) for symbol, v in values.items()}


def _liquidity(cohort: Cohort, agents: list[Agent]) -> dict[int, float]:
    """Agent id → the median dollar volume per bar of the least liquid symbol it traded (absent: none traded)."""
    dollar = symbol_dollar_volume(cohort)
    traded: dict[int, set[str]] = defaultdict(set)
    for agent_id, symbol in Fill.objects.filter(cohort=cohort).values_list("agent_id", "instrument__symbol").distinct():
        traded[agent_id].add(symbol)
    return {agent_id: min(dollar.get(s, 0.0) for s in symbols) for agent_id, symbols in traded.items() if symbols}
