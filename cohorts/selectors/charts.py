"""Chart-ready reads for the cohort pages: curves, gauges, the correlation heat-map, candles and fills.

Curves are stored at full resolution (every bar, see `cohorts.curves`); the cohort page draws them
reduced to a few hundred points per series (each bucket keeps its lowest and highest value, in time
order, so no spike or dip disappears), which keeps a 300-agent page light. The CSV and API keep
every bar.
"""
from __future__ import annotations

import base64
import math
from datetime import datetime
from functools import cached_property

import numpy as np

from cohorts.curves import heatmap_size
from cohorts.models import Agent, Cohort, CohortResult, CohortStatus
from cohorts.selectors.cohorts import agent_fills, cohort_curves, cohort_families, cohort_result, result_curves
from cohorts.selectors.market import bar_window

PARENT_POINTS = 1_000  # most points drawn for the parent's equity and the utilisation
AGENT_POINTS = 600  # most points drawn per agent's curve …
AGENT_POINTS_TOTAL = 45_000  # … and over all agents together (300 agents: 150 points each) …
AGENT_POINTS_LEAST = 100  # … but never fewer than this per agent


def envelope(stamps: np.ndarray, series: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """`series` (S, T) over `stamps` (T,) reduced to at most `points` points per series, on shared times.

    The first and last bar are kept; the bars between fall in equal buckets, each drawn as its lowest
    and highest value in the order they happened. Series short enough are returned as they are.
    """
    series = np.atleast_2d(series)
    bars = series.shape[1]
    if bars <= max(points, 4):
        return stamps, series
    inner = bars - 2
    size = math.ceil(inner / max(1, (points - 2) // 2))  # bars per bucket
    buckets = math.ceil(inner / size)
    body = np.pad(series[:, 1:-1], ((0, 0), (0, buckets * size - inner)), mode="edge").reshape(len(series), buckets, size)
    low, high = body.argmin(axis=2), body.argmax(axis=2)
    first = np.take_along_axis(body, np.minimum(low, high)[..., None], axis=2)[..., 0]
    second = np.take_along_axis(body, np.maximum(low, high)[..., None], axis=2)[..., 0]
    values = np.empty((len(series), 2 * buckets + 2))
    values[:, 0], values[:, -1] = series[:, 0], series[:, -1]
    values[:, 1:-1:2], values[:, 2:-1:2] = first, second
    starts = 1 + size * np.arange(buckets)
    times = np.empty(2 * buckets + 2, dtype=stamps.dtype)
    times[0], times[-1] = stamps[0], stamps[-1]
    times[1:-1:2] = stamps[np.minimum(starts + size // 3, bars - 2)]
    times[2:-1:2] = stamps[np.minimum(starts + (2 * size) // 3, bars - 2)]
    return times, values


def agent_points(agents: int) -> int:
    """Points drawn per agent's curve: fewer as agents grow, so the page stays under a megabyte."""
    return max(AGENT_POINTS_LEAST, min(AGENT_POINTS, AGENT_POINTS_TOTAL // max(agents, 1)))


def _epoch_ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def _rounded(values: np.ndarray, places: int) -> list:
    """Values rounded for display, as JSON-ready lists (a non-finite value becomes null)."""
    rounded = np.round(values, places)
    if np.isfinite(rounded).all():
        return rounded.tolist()
    return np.where(np.isfinite(rounded), rounded, None).tolist()


def _cents(values: np.ndarray) -> list:
    """Dollar values in whole cents, as JSON-ready lists of lists (a non-finite value becomes null)."""
    cents = np.rint(values * 100)
    finite = np.isfinite(cents)
    rows = np.where(finite, cents, 0).astype(np.int64).tolist()
    for i, j in zip(*np.nonzero(~finite), strict=True):
        rows[i][j] = None
    return rows


class CohortCharts:
    """What the cohort page draws (`gauges`, `chart`, `heatmap`; empty before the run ends), from one
    read of the cohort's results, made only when the page renders them: a page served from the
    cache reads and computes nothing."""

    def __init__(self, cohort: Cohort):
        self.cohort = cohort

    @cached_property
    def result(self) -> CohortResult | None:
        return cohort_result(self.cohort)

    @cached_property
    def curves(self) -> dict[str, np.ndarray] | None:
        return result_curves(self.result.equity_curves if self.result else None)

    @cached_property
    def gauges(self) -> list[dict]:
        return risk_gauges(self.cohort, self.curves)

    @cached_property
    def chart(self) -> dict | None:
        if self.curves is None:
            return None
        return cohort_chart_data(self.cohort, self.curves, cohort_families(self.cohort))

    @cached_property
    def heatmap(self) -> dict | None:
        return correlation_heatmap(bytes(self.result.heatmap) if self.result else b"")


def cohort_chart_data(cohort: Cohort, curves: dict[str, np.ndarray] | None, families: list[str]) -> dict | None:
    """What the cohort page's charts draw, or None before the run ends.

    `window`: the cohort's window [start, end) in epoch ms (the time axes' bounds); `t`, `parent`,
    `utilisation` (% of parent equity at work); `agents_t`, `agents_cents` (one list per agent, in whole cents:
    integers keep a 300-agent page quick to write and to read);
    `families` (per agent). Times are epoch milliseconds, UTC.
    """
    if curves is None:
        return None
    stamps = curves["timestamps"].astype(np.int64) * 1000
    parent = curves["parent"]
    exposure = curves["exposure"].sum(axis=0)
    utilisation = np.where(parent > 0, exposure / np.where(parent > 0, parent, 1.0) * 100.0, 0.0)
    parent_t, (parent_line, utilisation_line) = envelope(stamps, np.vstack([parent, utilisation]), PARENT_POINTS)
    agents_t, agents = envelope(stamps, curves["agents"], agent_points(len(curves["agents"])))
    return {
        "window": [_epoch_ms(cohort.window_start), _epoch_ms(cohort.window_end)], "timezone": "UTC",
        "t": parent_t.tolist(), "parent": _rounded(parent_line, 2), "utilisation": _rounded(utilisation_line, 2),
        "agents_t": agents_t.tolist(), "agents_cents": _cents(agents), "families": families,
    }


def correlation_heatmap(cells: bytes) -> dict | None:
    """The heat-map of the agents' return correlations, or None when there are none.

    `size`: the number of agents (labelled 0..size-1 on both axes); `cells`: base64 of the lower triangle
    as `cohorts.curves.heatmap_cells` stores it (signed bytes, hundredths from -100 to 100)."""
    if not cells:
        return None
    return {"size": heatmap_size(cells), "cells": base64.b64encode(cells).decode("ascii")}


def risk_gauges(cohort: Cohort, curves: dict[str, np.ndarray] | None) -> list[dict]:
    """Drawdown vs the daily stop, exposure vs its cap, leverage vs the ceiling: value, limit, percent used."""
    if cohort.status != CohortStatus.COMPLETED or curves is None:
        return []
    wallet = cohort.wallet
    parent = curves["parent"]
    gross = curves["exposure"].sum(axis=0)
    agent_leverage = np.where(curves["agents"] > 0, curves["exposure"] / np.where(curves["agents"] > 0, curves["agents"], 1),
                              0.0)
    rows = [
        ("Drawdown", float(cohort.max_drawdown or 0.0), float(wallet.daily_stop), "{:.2%}"),
        ("Exposure", float(np.max(gross / parent)) if len(parent) else 0.0, float(wallet.exposure_limit), "{:.2f}×"),
        ("Leverage", float(agent_leverage.max()) if agent_leverage.size else 0.0, float(wallet.leverage_ceiling),
         "{:.2f}×"),
    ]
    return [{"name": name, "value": fmt.format(value), "limit": fmt.format(limit),
             "percent": min(100, round(100 * value / limit)) if limit else 0} for name, value, limit, fmt in rows]


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
