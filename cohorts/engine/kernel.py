"""The compiled per-bar loop: orders at the open, marking and rules at the close.

Time is the only loop that causality demands; within a bar every pass runs over
all agents and symbols. The kernel knows arrays only (``codes`` gives their
layout; ``simulation`` what each holds).
"""

from __future__ import annotations

import numpy as np

from . import limits
from .book import event, marks, reduce, scale_agent
from .codes import (
    BREAKER_K,
    COOLDOWN,
    CUR_DAY,
    DAY_START_P,
    EQ_LAST,
    EQ_REF,
    EV_BREAKER_LOSS_LIMIT,
    EV_BREAKER_LOSSES,
    EV_DAILY_STOP,
    EV_LEVERAGE_BREACH,
    EV_LIQUIDITY,
    EV_RESUME,
    FLATTEN,
    GROSS_CAP,
    HALTED,
    LAST_P,
    LOSS_LIMIT,
    MARKET_CAP,
    NEVER,
    PAUSED,
    POS,
    RESERVE,
    STOP_LOSS,
    STREAK,
    TARGET,
    TOL,
    VOL_FRAC,
    jit,
)
from .signals import ENTER_LONG, ENTER_SHORT, EXIT_LONG, EXIT_SHORT


@jit
def _flatten_all(st, out, t, op, vol, fp, ok):
    """Close every position that can trade at this bar; True when none is left open."""
    pos = st[POS]
    for a in range(pos.shape[0]):
        scale_agent(st, out, t, a, 1.0, op, vol, fp, ok)
    return not np.any(pos != 0.0)


@jit
def _exits(st, out, t, op, vol, fp, ok):
    """Close positions whose target side changed; the liquidity screen may leave a rest.
    A symbol that does not trade at this bar keeps its order for its next tradable bar."""
    pos, target = st[POS], st[TARGET]
    cap_frac = fp[VOL_FRAC]
    for a in range(pos.shape[0]):
        for s in range(pos.shape[1]):
            p = pos[a, s]
            if p == 0.0 or not ok[s] or (p > 0.0 and target[a, s] == 1) or (p < 0.0 and target[a, s] == -1):
                continue
            q = abs(p)
            cap = cap_frac * vol[s]
            if q > cap:
                event(out[2], out[3], out[4], t, a, EV_LIQUIDITY, s, q, cap)
                q = cap
            if q > 0.0:
                reduce(st, out, t, a, s, q, op[s], vol[s], fp)


@jit
def _open_phase(st, out, t, op, vol, ok, fp, ip, lev, ceil, misc, eq, gross, want, rate):
    paused = st[PAUSED]
    if misc[FLATTEN] == 1.0:  # the daily stop: forced, whatever the liquidity screen says
        # a symbol that does not trade now is flattened at its next tradable bar while the halt lasts;
        # once a new day lifts the halt, its zero target closes it as an ordinary exit
        if _flatten_all(st, out, t, op, vol, fp, ok) or misc[HALTED] == 0.0:
            misc[FLATTEN] = 0.0
    if misc[HALTED] == 1.0:
        return
    _exits(st, out, t, op, vol, fp, ok)
    has_ceiling = np.any(ceil < np.inf)
    if has_ceiling:
        marks(st, op, eq, gross)
        limits.leverage_reduce(st, out, t, op, vol, fp, ceil, eq, gross, ok)
    if fp[MARKET_CAP] < np.inf:
        marks(st, op, eq, gross)
        limits.market_reduce(st, out, t, op, vol, fp, eq, gross, ok)
    if fp[GROSS_CAP] < np.inf:
        marks(st, op, eq, gross)
        limits.gross_reduce(st, out, t, op, vol, fp, eq, gross, ok)
    marks(st, op, eq, gross)
    limits.size_entries(st, out, t, op, vol, fp, ip, lev, eq, gross, paused, want, rate, ok)
    if has_ceiling:
        limits.cap_agents(out, t, op, want, rate, ceil, eq, gross)
    if fp[MARKET_CAP] < np.inf:
        limits.cap_markets(st, out, t, op, fp, want, rate, eq)
    if fp[GROSS_CAP] < np.inf:
        limits.cap_gross(out, t, op, fp, want, rate, eq, gross)
    limits.fill_entries(st, out, t, op, vol, fp, want, ok)


@jit
def _pause(st, out, t, a, rule, v0, v1, cooldown):
    st[PAUSED][a] = NEVER if cooldown < 0 else t + cooldown
    st[TARGET][a, :] = 0
    event(out[2], out[3], out[4], t, a, rule, -1, v0, v1)


@jit
def _breakers(st, out, t, fp, ip, eq):
    """Pause agents on K consecutive losing round trips or on the loss limit; resume them."""
    streak, paused, eq_ref = st[STREAK], st[PAUSED], st[EQ_REF]
    k, cooldown = ip[BREAKER_K], ip[COOLDOWN]
    for a in range(eq.shape[0]):
        if paused[a] >= 0:
            if t >= paused[a]:
                event(out[2], out[3], out[4], t, a, EV_RESUME, -1, eq[a], eq_ref[a])
                paused[a] = -1
                streak[a] = 0
                eq_ref[a] = eq[a]
        elif k > 0 and streak[a] >= k:
            _pause(st, out, t, a, EV_BREAKER_LOSSES, streak[a], k, cooldown)
        elif fp[LOSS_LIMIT] < np.inf and eq[a] <= eq_ref[a] * (1.0 - fp[LOSS_LIMIT]):
            _pause(st, out, t, a, EV_BREAKER_LOSS_LIMIT, eq[a], eq_ref[a], cooldown)


@jit
def _read_signals(st, t, sig, gidx, ok):
    """Move each target side by the bits of bar t (see ``signals`` for their meaning); a symbol
    that did not trade at bar t gives no signal there."""
    target, paused = st[TARGET], st[PAUSED]
    for a in range(target.shape[0]):
        if paused[a] >= 0:
            continue
        row = sig[gidx[a], t]
        for s in range(target.shape[1]):
            b = row[s]
            if b == 0 or not ok[s]:
                continue
            d = target[a, s]
            if d == 0:
                if b & ENTER_LONG:
                    target[a, s] = 1
                elif b & ENTER_SHORT:
                    target[a, s] = -1
            elif d == 1:
                if b & EXIT_LONG:
                    target[a, s] = -1 if b & ENTER_SHORT else 0
            elif b & EXIT_SHORT:
                target[a, s] = 1 if b & ENTER_LONG else 0


@jit
def _close_phase(st, out, t, close, ok, sig, gidx, fp, ip, ceil, misc, eq, gross, equity, exposure):
    marks(st, close, eq, gross)
    p_eq = fp[RESERVE]
    for a in range(eq.shape[0]):
        equity[a, t] = eq[a]
        exposure[a, t] = gross[a]
        st[EQ_LAST][a] = eq[a]
        p_eq += eq[a]
        if ceil[a] < np.inf and gross[a] > max(ceil[a] * eq[a] * (1.0 + TOL), 0.0):
            ratio = gross[a] / eq[a] if eq[a] > 0.0 else np.inf
            event(out[2], out[3], out[4], t, a, EV_LEVERAGE_BREACH, -1, ratio, ceil[a])
    misc[LAST_P] = p_eq
    if misc[HALTED] == 0.0:
        start = misc[DAY_START_P]
        if start - p_eq >= fp[STOP_LOSS]:
            misc[HALTED] = 1.0
            misc[FLATTEN] = 1.0
            st[TARGET][:, :] = 0
            event(out[2], out[3], out[4], t, -1, EV_DAILY_STOP, -1, p_eq, start)
            return
        _breakers(st, out, t, fp, ip, eq)
        _read_signals(st, t, sig, gidx, ok)


@jit
def _new_day(st, day, misc):
    if day != misc[CUR_DAY]:
        misc[CUR_DAY] = day
        misc[HALTED] = 0.0
        misc[DAY_START_P] = misc[LAST_P]
        st[EQ_REF][:] = st[EQ_LAST][:]


@jit
def close_out(t, last, closes, volumes, fp, st, misc, out, equity, exposure):
    """Close every position (forced) at the close of its symbol's last tradable bar ``last[s]`` ≤ t
    (t itself when the symbol has none), then mark bar t again."""
    pos = st[POS]
    n_agents, n_sym = pos.shape
    for a in range(n_agents):
        for s in range(n_sym):
            if pos[a, s] != 0.0:
                b = last[s] if 0 <= last[s] <= t else t
                reduce(st, out, b, a, s, abs(pos[a, s]), closes[b, s], volumes[b, s], fp)
    eq = np.empty(n_agents)
    gross = np.empty(n_agents)
    marks(st, closes[t], eq, gross)
    for a in range(n_agents):
        equity[a, t] = eq[a]
        exposure[a, t] = gross[a]
        st[EQ_LAST][a] = eq[a]
    misc[LAST_P] = eq.sum() + fp[RESERVE]


@jit
def fill_room_per_bar(n_agents, n_sym):
    """Most fills one bar can make: a forced flatten, exits, three kinds of cuts, entries."""
    return 6 * n_agents * n_sym


@jit
def event_room_per_bar(n_agents, n_sym):
    """Most events one bar can raise."""
    return 2 * n_agents * n_sym + 5 * n_agents + 3 * n_sym + 4


@jit
def run_bars(t0, t1, opens, closes, liquidity, tradable, days, sig, gidx, lev, ceil, fp, ip, st, misc,
             out, equity, exposure):
    """Simulate bars t0 .. t1-1 in place; returns the next bar to simulate.

    ``liquidity[t]`` is the volume the orders filled at bar t are screened and priced against;
    ``tradable[t]`` which symbols trade at bar t; ``days[t]`` its session day.

    Stops early (returning that bar) when the fill or event buffers in ``out`` lack
    room for one more bar, so the caller can grow them and call again.
    """
    n_agents, n_sym = st[POS].shape
    eq = np.empty(n_agents)
    gross = np.empty(n_agents)
    want = np.zeros((n_agents, n_sym))
    rate = np.zeros((n_agents, n_sym))
    fill_room = fill_room_per_bar(n_agents, n_sym)
    event_room = event_room_per_bar(n_agents, n_sym)
    for t in range(t0, t1):
        if out[4][0] + fill_room > out[0].shape[0] or out[4][1] + event_room > out[2].shape[0]:
            return t
        _new_day(st, days[t], misc)
        ok = tradable[t]
        _open_phase(st, out, t, opens[t], liquidity[t], ok, fp, ip, lev, ceil, misc, eq, gross, want,
                    rate)
        _close_phase(st, out, t, closes[t], ok, sig, gidx, fp, ip, ceil, misc, eq, gross,
                     equity, exposure)
    return t1
