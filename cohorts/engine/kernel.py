"""The compiled per-bar loop: orders at the open, marking and rules at the close.

Time is the only loop that causality demands; within a bar every pass runs over
all agents and symbols. The kernel knows arrays only (see ``simulation.py`` for
what each holds). Accounting identity, exact up to float rounding per fill:
``cash -= side·qty·price + fee`` and ``equity = Σ_s cash + position·close``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .signals import ENTER_LONG, ENTER_SHORT, EXIT_LONG, EXIT_SHORT

# float parameters (fp)
FEE, SLIP, IMPACT, VOL_FRAC, GROSS_CAP, MARKET_CAP = 0, 1, 2, 3, 4, 5
STOP_FRAC, STOP_AMOUNT, LOSS_LIMIT, RESERVE, POS_FRAC = 6, 7, 8, 9, 10
N_FP = 11
# int parameters (ip)
BREAKER_K, COOLDOWN, SHARED, BARS_PER_DAY, FIRST_MINUTE = 0, 1, 2, 3, 4
N_IP = 5
# misc state
DAY_START_P, HALTED, CUR_DAY, LAST_P = 0, 1, 2, 3
N_MISC = 4
# fill kinds
OPEN, REDUCE, CLOSE = 1, -1, -2
# event rules (names in simulation.RULES)
(EV_DAILY_STOP, EV_BREAKER_LOSSES, EV_BREAKER_LOSS_LIMIT, EV_RESUME, EV_LEVERAGE_BREACH,
 EV_LEVERAGE_REDUCE, EV_LEVERAGE_ENTRY, EV_MARKET_REDUCE, EV_MARKET_ENTRY,
 EV_GROSS_REDUCE, EV_GROSS_ENTRY, EV_LIQUIDITY) = range(12)

TOL = 1e-9  # relative slack before a cap is said to bite (float rounding of exact fits)
NEVER = np.iinfo(np.int64).max


@njit(cache=True)
def _event(ei, ef, counts, t, a, rule, s, v0, v1):
    k = counts[1]
    ei[k, 0], ei[k, 1], ei[k, 2], ei[k, 3] = t, a, rule, s
    ef[k, 0], ef[k, 1] = v0, v1
    counts[1] = k + 1


@njit(cache=True)
def _record(fi, ff, counts, t, a, s, side, kind, q, px, fee_amt, pnl):
    k = counts[0]
    fi[k, 0], fi[k, 1], fi[k, 2], fi[k, 3], fi[k, 4] = a, t, s, side, kind
    ff[k, 0], ff[k, 1], ff[k, 2], ff[k, 3] = q, px, fee_amt, pnl
    counts[0] = k + 1


@njit(cache=True)
def _slip(q, vol, fp):
    """Price move against the order, as a fraction: fixed slippage plus volume impact."""
    if fp[IMPACT] > 0.0 and vol > 0.0:
        return fp[SLIP] + fp[IMPACT] * np.sqrt(q / vol)
    return fp[SLIP]


@njit(cache=True)
def _cost_rate(e, fp):
    """Upper bound of the equity lost per unit of gross traded at the open."""
    return e + fp[FEE] * (1.0 + e)


@njit(cache=True)
def _reduce(st, out, t, a, s, q, op, vol, fp):
    """Buy back / sell ``q`` of the position at the open; books realised P&L."""
    cash, pos, basis, trip, streak = st[0], st[1], st[2], st[3], st[4]
    p = pos[a, s]
    side = 1 if p < 0 else -1
    px = op * (1.0 + side * _slip(q, vol, fp))
    notional = q * px
    fee_amt = notional * fp[FEE]
    flow = -side * notional - fee_amt
    cash[a, s] += flow
    if q >= abs(p):
        q = abs(p)
        part = basis[a, s]
        pos[a, s] = 0.0
        basis[a, s] = 0.0
    else:
        part = basis[a, s] * (q / abs(p))
        pos[a, s] = p + side * q
        basis[a, s] -= part
    pnl = flow + part
    trip[a, s] += pnl
    kind = REDUCE
    if pos[a, s] == 0.0:
        kind = CLOSE
        streak[a] = streak[a] + 1 if trip[a, s] < 0.0 else 0
        trip[a, s] = 0.0
    _record(out[0], out[1], out[4], t, a, s, side, kind, q, px, fee_amt, pnl)


@njit(cache=True)
def _enter(st, out, t, a, s, side, q, op, vol, fp):
    """Open a position of ``q`` on ``side`` at the open (the sleeve is flat)."""
    cash, pos, basis, trip = st[0], st[1], st[2], st[3]
    px = op * (1.0 + side * _slip(q, vol, fp))
    notional = q * px
    fee_amt = notional * fp[FEE]
    flow = -side * notional - fee_amt
    cash[a, s] += flow
    pos[a, s] = side * q
    basis[a, s] = flow
    trip[a, s] = 0.0
    _record(out[0], out[1], out[4], t, a, s, side, OPEN, q, px, fee_amt, 0.0)


@njit(cache=True)
def _marks(st, prices, eq, gross):
    """Per-agent equity and gross exposure at ``prices`` (S,)."""
    cash, pos = st[0], st[1]
    n_agents, n_sym = pos.shape
    for a in range(n_agents):
        e = 0.0
        g = 0.0
        for s in range(n_sym):
            e += cash[a, s] + pos[a, s] * prices[s]
            g += abs(pos[a, s]) * prices[s]
        eq[a] = e
        gross[a] = g


@njit(cache=True)
def _scale_agent(st, out, t, a, frac, op, vol, fp):
    pos = st[1]
    for s in range(pos.shape[1]):
        if pos[a, s] != 0.0:
            q = abs(pos[a, s]) if frac >= 1.0 else abs(pos[a, s]) * frac
            _reduce(st, out, t, a, s, q, op[s], vol[s], fp)


@njit(cache=True)
def _position_cost(pos, a0, a1, s0, s1, op, vol, fp):
    c = 0.0
    for a in range(a0, a1):
        for s in range(s0, s1):
            if pos[a, s] != 0.0:
                c = max(c, _cost_rate(_slip(abs(pos[a, s]), vol[s], fp), fp))
    return c


@njit(cache=True)
def _leverage_reduce(st, out, t, op, vol, fp, ceil, eq, gross):
    pos = st[1]
    n_sym = pos.shape[1]
    for a in range(pos.shape[0]):
        e, g, cap = eq[a], gross[a], ceil[a]
        if g <= 0.0 or (e > 0.0 and g <= cap * e * (1.0 + TOL)):
            continue
        denom = 1.0 - cap * _position_cost(pos, a, a + 1, 0, n_sym, op, vol, fp)
        frac = 1.0
        if e > 0.0 and denom > 0.0:
            frac = min(1.0, (g - cap * e) / denom / g)
        _event(out[2], out[3], out[4], t, a, EV_LEVERAGE_REDUCE, -1, g / e if e > 0 else np.inf, cap)
        _scale_agent(st, out, t, a, frac, op, vol, fp)


@njit(cache=True)
def _market_reduce(st, out, t, op, vol, fp, eq, gross):
    pos = st[1]
    n_agents, n_sym = pos.shape
    cap = fp[MARKET_CAP]
    p_eq = eq.sum() + fp[RESERVE]
    c = _position_cost(pos, 0, n_agents, 0, n_sym, op, vol, fp)
    g_s = np.zeros(n_sym)
    for s in range(n_sym):
        for a in range(n_agents):
            g_s[s] += abs(pos[a, s]) * op[s]
    # markets above cap·(P - c·R) must shed their excess; R grows with each one added
    hit = np.zeros(n_sym, dtype=np.bool_)
    r_tot = 0.0
    for _ in range(n_sym + 1):
        changed = False
        for s in range(n_sym):
            if not hit[s] and g_s[s] > cap * (p_eq - c * r_tot) * (1.0 + TOL):
                hit[s] = True
                changed = True
        if not changed:
            break
        k = hit.sum()
        excess = 0.0
        for s in range(n_sym):
            if hit[s]:
                excess += g_s[s] - cap * p_eq
        denom = 1.0 - k * cap * c
        r_tot = excess / denom if denom > 0.0 else np.inf
    for s in range(n_sym):
        if not hit[s]:
            continue
        frac = min(1.0, (g_s[s] - cap * p_eq + cap * c * r_tot) / g_s[s]) if p_eq > 0 else 1.0
        _event(out[2], out[3], out[4], t, -1, EV_MARKET_REDUCE, s, g_s[s] / p_eq, cap)
        for a in range(n_agents):
            if pos[a, s] != 0.0:
                q = abs(pos[a, s]) if frac >= 1.0 else abs(pos[a, s]) * frac
                _reduce(st, out, t, a, s, q, op[s], vol[s], fp)


@njit(cache=True)
def _gross_reduce(st, out, t, op, vol, fp, eq, gross):
    pos = st[1]
    n_agents, n_sym = pos.shape
    cap = fp[GROSS_CAP]
    p_eq = eq.sum() + fp[RESERVE]
    g = gross.sum()
    if g <= 0.0 or (p_eq > 0.0 and g <= cap * p_eq * (1.0 + TOL)):
        return
    denom = 1.0 - cap * _position_cost(pos, 0, n_agents, 0, n_sym, op, vol, fp)
    frac = 1.0
    if p_eq > 0.0 and denom > 0.0:
        frac = min(1.0, (g - cap * p_eq) / denom / g)
    _event(out[2], out[3], out[4], t, -1, EV_GROSS_REDUCE, -1, g / p_eq if p_eq > 0 else np.inf, cap)
    for a in range(n_agents):
        _scale_agent(st, out, t, a, frac, op, vol, fp)
