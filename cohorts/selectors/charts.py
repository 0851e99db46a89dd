"""Chart-ready reads for the cohort pages: curves, gauges, the correlation heat-map, candles and fills."""
from __future__ import annotations

import numpy as np

from cohorts.models import Agent, Cohort, CohortStatus
from cohorts.selectors.cohorts import agent_fills, cohort_curves
from cohorts.selectors.market import bar_window

AGENT_CURVE_STEP = 5  # minutes between points of the per-agent curves (the parent's curve is full resolution)


def cohort_chart_data(curves: dict[str, np.ndarray] | None) -> dict | None:
    """Parent and per-agent equity curves and bankroll utilisation (%), or None before the run ends."""
    if curves is None:
        return None
    stamps = (curves["timestamps"] * 1000).tolist()
    parent = curves["parent"]
    exposure = curves["exposure"].sum(axis=0)
    utilisation = np.where(parent > 0, exposure / parent * 100.0, 0.0)
    step = slice(None, None, AGENT_CURVE_STEP)
    return {
        "t": stamps, "parent": np.round(parent, 4).tolist(), "utilisation": np.round(utilisation, 3).tolist(),
        "agents_t": stamps[step], "agents": np.round(curves["agents"][:, step], 4).tolist(),
    }


def risk_gauges(cohort: Cohort, curves: dict[str, np.ndarray] | None) -> list[dict]:
    """Drawdown vs the daily stop, exposure vs its cap, leverage vs the ceiling: value, limit, percent used."""
    if cohort.status != CohortStatus.COMPLETED or curves is None:
        return []
    wallet = cohort.wallet
    parent = curves["parent"]
    gross = curves["exposure"].sum(axis=0)
    agent_leverage = np.where(curves["agents"] > 0, curves["exposure"] / curves["agents"], 0.0)
    rows = [
        ("Drawdown", float(cohort.max_drawdown or 0.0), float(wallet.daily_stop), "{:.2%}"),
        ("Exposure", float(np.max(gross / parent)) if len(parent) else 0.0, float(wallet.exposure_limit), "{:.2f}×"),
        ("Leverage", float(agent_leverage.max()) if agent_leverage.size else 0.0, float(wallet.leverage_ceiling),
         "{:.2f}×"),
    ]
    return [{"name": name, "value": fmt.format(value), "limit": fmt.format(limit),
             "percent": min(100, round(100 * value / limit)) if limit else 0} for name, value, limit, fmt in rows]


def correlation_cells(cohort: Cohort) -> list[list[dict]]:
    """Rows of the heat-map: each cell's correlation and a colour (red negative, blue positive)."""
    matrix = (cohort.summary or {}).get("correlation") or []
    return [[{"value": v, "colour": _colour(v)} for v in row] for row in matrix]


def _colour(value: float) -> str:
    strength = int(255 * (1 - min(1.0, abs(value))))
    return f"rgb({strength},{strength},255)" if value >= 0 else f"rgb(255,{strength},{strength})"


def agent_chart_data(cohort: Cohort, agent: Agent, symbol: str) -> dict:
    """Candles of `symbol` over the cohort's window, the agent's fills on it as markers, and its equity."""
    window = bar_window(symbols=[symbol], start=cohort.window_start, end=cohort.window_end)
    seconds = (window.timestamps.astype("datetime64[s]").astype(np.int64)).tolist()
    candles = [{"time": t, "open": o, "high": h, "low": lo, "close": c} for t, o, h, lo, c in zip(
        seconds, window.open[:, 0].tolist(), window.high[:, 0].tolist(), window.low[:, 0].tolist(),
        window.close[:, 0].tolist())]
    markers = [{"time": int(f.ts.timestamp()), "position": "belowBar" if f.side == "buy" else "aboveBar",
                "color": "#1a7f37" if f.side == "buy" else "#b42318", "shape": "arrowUp" if f.side == "buy" else "arrowDown",
                "text": f"{f.side} {f.qty.normalize()}"} for f in agent_fills(agent).filter(instrument__symbol=symbol)]
    curves = cohort_curves(cohort)
    equity = [] if curves is None else [{"time": int(t), "value": round(float(v), 6)} for t, v in
                                        zip(curves["timestamps"], curves["agents"][agent.index])]
    return {"candles": candles, "markers": markers, "equity": equity}
