"""Scores of a finished cohort, from the engine's metrics: per agent, per hour, and the summary."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
from django.db import connection

from cohorts import curves, engine
from cohorts.models import Agent, AgentHour, Cohort, CohortEvent, CohortResult
from cohorts.selectors.market import BarWindow
from cohorts.services.ledger import ledger_copy
from neolight.money import money_from_float, to_cents, units_from_floats

LEADERBOARD_SIZE = 5
AGENT_SCORE_FIELDS = ["final_equity", "realised_pnl", "unrealised_pnl", "roi", "variance", "sharpe", "sortino",
                      "max_drawdown", "max_drawdown_vs_parent", "utilisation", "leverage_breaches", "trades",
                      "win_rate", "confidence"]


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else 0.0


def cohort_scores_save(*, cohort: Cohort, agents: Sequence[Agent], window: BarWindow, result: engine.Result,
                       reconciliation: dict) -> None:
    """Writes every agent's scores, its hourly ROI rows, the rule events, the cohort's summary and its
    large results (full-resolution curves, correlations, genomes) on their own row."""
    metrics = engine.compute_metrics(result, periods_per_year=window.minutes_per_year,
                                     active=window.present.any(axis=1), hours=_clock_hours(window))
    for i, agent in enumerate(agents):
        agent.final_equity = money_from_float(result.final_equity[i])
        agent.realised_pnl = money_from_float(metrics.realised_pnl[i])
        agent.unrealised_pnl = money_from_float(metrics.unrealised_pnl[i])
        for name in ["roi", "variance", "sharpe", "sortino", "max_drawdown", "max_drawdown_vs_parent",
                     "utilisation", "win_rate", "confidence"]:
            setattr(agent, name, _finite(getattr(metrics, name)[i]))
        agent.leverage_breaches = int(metrics.leverage_breaches[i])
        agent.trades = int(metrics.trades[i])
    Agent.objects.bulk_update(agents, AGENT_SCORE_FIELDS)
    _save_hours(agents, window, result, metrics)
    _save_events(cohort, agents, window, result)
    parent = result.parent_equity
    bankroll = float(cohort.wallet.bankroll)
    final = money_from_float(parent[-1])
    cohort.final_equity = final
    cohort.roi = _finite(parent[-1] / bankroll - 1.0)
    cohort.max_drawdown = _finite(engine.max_drawdown(parent[None, :])[0])
    utilisation = np.where(parent > 0, result.exposure.sum(axis=0) / parent, 0.0)
    cohort.utilisation = _finite(utilisation.mean() * 100.0)
    cohort.breaches = sum(1 for e in result.events if e.rule.endswith(("breach", "stop")) or e.rule.startswith("breaker"))
    # An agent "failed" when its circuit breaker had to pause it at least once during the run.
    cohort.failed_agents = len({e.agent for e in result.events if e.rule.startswith("breaker") and e.agent >= 0})
    cohort.summary = {**_summary(cohort, agents, metrics, result, final, reconciliation),
                      "pairs": _pairs(agents, window)}
    cohort.save(update_fields=["final_equity", "roi", "max_drawdown", "utilisation", "breaches", "failed_agents",
                               "summary"])
    correlation = np.round(metrics.correlation, 4)
    CohortResult.objects.create(
        cohort=cohort, equity_curves=_pack_curves(window, result), correlation=correlation.tolist(),
        heatmap=curves.heatmap_cells(correlation),
        genomes=[{"agent": a.index, "family": a.family, "params": a.params, "capital": str(a.capital)} for a in agents])


def _pack_curves(window: BarWindow, result: engine.Result) -> bytes:
    return curves.pack(timestamps=window.timestamps.astype("datetime64[s]").astype(np.int64),
                       parent=result.parent_equity, agents=result.equity, exposure=result.exposure)


def _pairs(agents, window: BarWindow) -> list[list[str]]:
    """The symbol pairs the pairs genomes traded: consecutive symbols in the window's canonical order."""
    if not any(agent.family == "pairs_zscore" for agent in agents):
        return []
    symbols = list(window.symbols)
    return [symbols[i:i + 2] for i in range(0, len(symbols) - 1, 2)]


def _clock_hours(window: BarWindow) -> np.ndarray:
    return window.timestamps.astype("datetime64[h]")


def _save_hours(agents, window: BarWindow, result: engine.Result, metrics: engine.Metrics) -> None:
    """One row per clock hour in which the window has bars (a session's hours; none overnight).

    On PostgreSQL the rows go in with COPY (a 300-agent week is ~50,000 rows); elsewhere in bulk."""
    clock = _clock_hours(window)
    ends = engine.metrics.hour_ends(result.equity.shape[1], clock)
    roi = np.where(np.isfinite(metrics.hourly_returns), metrics.hourly_returns, 0.0)
    if connection.vendor == "postgresql":
        stamps = np.char.add(np.datetime_as_string(clock[ends].astype("datetime64[s]"), unit="s"), "+00:00")
        count = len(ends)
        with connection.cursor() as cursor:
            ledger_copy(cursor, f"COPY {AgentHour._meta.db_table} (agent_id, hour, roi, equity) FROM STDIN",
                        "{}\t{}\t{!r}\t{}e-8\n",
                        [np.repeat([a.pk for a in agents], count), np.tile(stamps, len(agents)),
                         roi[:, :count].ravel(), units_from_floats(result.equity[:, ends]).ravel()])
        return
    hours = pd.to_datetime(clock[ends].astype("datetime64[ns]"), utc=True).to_pydatetime()
    AgentHour.objects.bulk_create(
        AgentHour(agent=agent, hour=hour, roi=float(roi[i, h]), equity=money_from_float(result.equity[i, ends[h]]))
        for i, agent in enumerate(agents) for h, hour in enumerate(hours)
    )


def _save_events(cohort: Cohort, agents, window: BarWindow, result: engine.Result) -> None:
    stamps = pd.to_datetime(window.timestamps, utc=True).to_pydatetime()
    symbols = list(window.symbols)
    CohortEvent.objects.bulk_create(
        CohortEvent(cohort=cohort, agent=agents[e.agent] if e.agent >= 0 else None, ts=stamps[min(e.bar, len(stamps) - 1)],
                    rule=e.rule, values={k: (symbols[int(v)] if k == "symbol" else _finite(v)) for k, v in e.values.items()})
        for e in result.events
    )


def _summary(cohort, agents, metrics, result, final, reconciliation) -> dict:
    order = np.lexsort((-metrics.sharpe, -metrics.roi))
    leaderboard = [
        {"agent": int(i), "family": agents[i].family, "roi": round(_finite(metrics.roi[i]), 6),
         "sharpe": round(_finite(metrics.sharpe[i]), 3), "max_drawdown": round(_finite(metrics.max_drawdown[i]), 6),
         "trades": int(metrics.trades[i]), "confidence": round(_finite(metrics.confidence[i]), 4)}
        for i in order[:LEADERBOARD_SIZE]
    ]
    wallet = cohort.wallet
    fees = money_from_float(float(result.fills.fee.sum())) if len(result.fills) else money_from_float(0.0)
    return {
        "bankroll": str(wallet.bankroll), "policy": wallet.policy,
        "limits": {"exposure_limit": str(wallet.exposure_limit), "leverage_ceiling": str(wallet.leverage_ceiling),
                   "market_exposure_limit": str(wallet.market_exposure_limit), "daily_stop": str(wallet.daily_stop),
                   "fee_bps": str(wallet.fee_bps), "slippage_bps": str(wallet.slippage_bps)},
        "window": {"start": cohort.window_start.isoformat(), "end": cohort.window_end.isoformat(),
                   "bars": int(result.equity.shape[1])},
        "rollups": {"final_equity": str(to_cents(final)), "fees": str(to_cents(fees)),
                    "realised_pnl": str(to_cents(money_from_float(float(metrics.realised_pnl.sum())))),
                    "trades": int(metrics.trades.sum()), "fills": len(result.fills),
                    "mean_agent_roi": round(_finite(metrics.roi.mean()), 6),
                    "mean_win_rate": round(_finite(metrics.win_rate.mean()), 4),
                    "agents_profitable": int((metrics.roi > 0).sum())},
        "leaderboard": leaderboard,
        "alerts": dict(Counter(e.rule for e in result.events)),
        "reconciliation": reconciliation,
        "compliance_notes": cohort.compliance_notes,
    }
