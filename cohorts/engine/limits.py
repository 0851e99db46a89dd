"""Parent-wallet limits in the compiled kernel: forced cuts and entry sizing under caps.

Cuts (at the open, before entries) bring an agent back under its leverage ceiling,
each market under its cap and the parent under its gross cap, pro rata; entries
are then sized and scaled so that every cap holds after the fills, their costs
included. Each cap that bites records an event.
"""

from __future__ import annotations

import numpy as np

from .book import bookable, cost_rate, enter, event, position_cost, reduce, scale_agent, slip
from .codes import (
    CASH,
    EV_GROSS_ENTRY,
    EV_GROSS_REDUCE,
    EV_LEVERAGE_ENTRY,
    EV_LEVERAGE_REDUCE,
    EV_LIQUIDITY,
    EV_MARKET_ENTRY,
    EV_MARKET_REDUCE,
    FEE,
    GROSS_CAP,
    HEADROOM,
    MARKET_CAP,
    POS,
    POS_FRAC,
    RESERVE,
    SHARED,
    SLIP,
    TARGET,
    TOL,
    VOL_FRAC,
    jit,
)


@jit
def leverage_reduce(st, out, t, op, vol, fp, ceil, eq, gross, ok):
    pos = st[POS]
    n_sym = pos.shape[1]
    for a in range(pos.shape[0]):
        e, g, cap = eq[a], gross[a], ceil[a]
        if g <= 0.0 or (e > 0.0 and g <= cap * e * (1.0 + TOL)):
            continue
        denom = 1.0 - cap * position_cost(pos, a, a + 1, 0, n_sym, op, vol, fp)
        frac = 1.0
        if e > 0.0 and denom > 0.0:
            frac = min(1.0, (g - cap * e) / denom / g)
        event(out[2], out[3], out[4], t, a, EV_LEVERAGE_REDUCE, -1, g / e if e > 0 else np.inf, cap)
        scale_agent(st, out, t, a, frac, op, vol, fp, ok)


@jit
def market_reduce(st, out, t, op, vol, fp, eq, gross, ok):
    """Cut every market above its cap back to ``(1 - HEADROOM)`` of it, pro rata."""
    pos = st[POS]
    n_agents, n_sym = pos.shape
    cap = fp[MARKET_CAP]
    aim = cap * (1.0 - HEADROOM)
    p_eq = eq.sum() + fp[RESERVE]
    c = position_cost(pos, 0, n_agents, 0, n_sym, op, vol, fp)
    g_s = np.zeros(n_sym)
    for s in range(n_sym):
        for a in range(n_agents):
            g_s[s] += abs(pos[a, s]) * op[s]
    # the costs R·c of cutting lower P for every market: iterate until no market is left over
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
        excess = 0.0
        for s in range(n_sym):
            if hit[s]:
                excess += g_s[s] - aim * p_eq
        denom = 1.0 - hit.sum() * aim * c
        r_tot = excess / denom if denom > 0.0 else np.inf
    for s in range(n_sym):
        if not hit[s] or not ok[s]:
            continue
        frac = 1.0
        if p_eq > 0.0 and r_tot < np.inf:
            frac = min(1.0, (g_s[s] - aim * p_eq + aim * c * r_tot) / g_s[s])
        event(out[2], out[3], out[4], t, -1, EV_MARKET_REDUCE, s, g_s[s] / p_eq, cap)
        for a in range(n_agents):
            if pos[a, s] != 0.0:
                q = abs(pos[a, s]) if frac >= 1.0 else abs(pos[a, s]) * frac
                reduce(st, out, t, a, s, q, op[s], vol[s], fp)


@jit
def gross_reduce(st, out, t, op, vol, fp, eq, gross, ok):
    pos = st[POS]
    n_agents, n_sym = pos.shape
    cap = fp[GROSS_CAP]
    p_eq = eq.sum() + fp[RESERVE]
    g = gross.sum()
    if g <= 0.0 or (p_eq > 0.0 and g <= cap * p_eq * (1.0 + TOL)):
        return
    denom = 1.0 - cap * position_cost(pos, 0, n_agents, 0, n_sym, op, vol, fp)
    frac = 1.0
    if p_eq > 0.0 and denom > 0.0:
        frac = min(1.0, (g - cap * p_eq) / denom / g)
    event(out[2], out[3], out[4], t, -1, EV_GROSS_REDUCE, -1, g / p_eq if p_eq > 0 else np.inf, cap)
    for a in range(n_agents):
        scale_agent(st, out, t, a, frac, op, vol, fp, ok)


@jit
def size_entries(st, out, t, op, vol, fp, ip, lev, eq, gross, paused, want, rate, ok):
    """Desired entry quantities (before the exposure caps) into ``want``; cost rates into ``rate``."""
    cash, pos, target = st[CASH], st[POS], st[TARGET]
    n_agents, n_sym = pos.shape
    for a in range(n_agents):
        buying_power = lev[a] * eq[a] - gross[a]
        for s in range(n_sym):
            want[a, s] = 0.0
            if pos[a, s] != 0.0 or target[a, s] == 0 or paused[a] >= 0 or not ok[s]:
                continue
            if ip[SHARED] == 1:
                budget = min(lev[a] * eq[a] * fp[POS_FRAC], buying_power)
            else:
                budget = lev[a] * cash[a, s]
            if budget <= 0.0 or op[s] <= 0.0:
                continue
            q0 = budget / (op[s] * (1.0 + fp[SLIP]) * (1.0 + fp[FEE]))
            e = slip(q0, vol[s], fp)
            q = budget / (op[s] * (1.0 + e) * (1.0 + fp[FEE]))
            cap = fp[VOL_FRAC] * vol[s]
            if q > cap:
                event(out[2], out[3], out[4], t, a, EV_LIQUIDITY, s, q, cap)
                q = cap
            want[a, s] = q
            rate[a, s] = cost_rate(e, fp)
            buying_power -= q * op[s] * (1.0 + e) * (1.0 + fp[FEE])


@jit
def cap_agents(out, t, op, want, rate, ceil, eq, gross):
    """Scale each agent's entries so that gross ≤ ceiling × equity after the fills."""
    n_agents, n_sym = want.shape
    for a in range(n_agents):
        if ceil[a] == np.inf:
            continue
        x = 0.0
        c = 0.0
        for s in range(n_sym):
            if want[a, s] > 0.0:
                x += want[a, s] * op[s]
                c = max(c, rate[a, s])
        allowed = (ceil[a] * eq[a] - gross[a]) / (1.0 + ceil[a] * c)
        if x > 0.0 and x > allowed * (1.0 + TOL):
            event(out[2], out[3], out[4], t, a, EV_LEVERAGE_ENTRY, -1, x, max(allowed, 0.0))
            frac = max(allowed, 0.0) / x
            for s in range(n_sym):
                want[a, s] *= frac


@jit
def entry_totals(want, rate, op):
    x_tot, c = 0.0, 0.0
    for a in range(want.shape[0]):
        for s in range(want.shape[1]):
            if want[a, s] > 0.0:
                x_tot += want[a, s] * op[s]
                c = max(c, rate[a, s])
    return x_tot, c


@jit
def cap_markets(st, out, t, op, fp, want, rate, eq):
    """Scale entries per symbol so that every market's gross ≤ cap × parent equity after.

    Each market is first held to ``(1 - HEADROOM)`` of its cap; then, as the costs of
    all entries lower the parent's equity for every market, all entries are scaled
    together if any market (with or without entries) would end above its cap.
    """
    pos = st[POS]
    n_agents, n_sym = want.shape
    cap = fp[MARKET_CAP]
    p_eq = eq.sum() + fp[RESERVE]
    x_tot, c = entry_totals(want, rate, op)
    g = np.zeros(n_sym)
    for s in range(n_sym):
        x = 0.0
        for a in range(n_agents):
            x += want[a, s] * op[s]
            g[s] += abs(pos[a, s]) * op[s]
        allowed = cap * (1.0 - HEADROOM) * (p_eq - c * x_tot) - g[s]
        if x > 0.0 and x > allowed * (1.0 + TOL):
            event(out[2], out[3], out[4], t, -1, EV_MARKET_ENTRY, s, x, max(allowed, 0.0))
            frac = max(allowed, 0.0) / x
            for a in range(n_agents):
                want[a, s] *= frac
    x_tot, c = entry_totals(want, rate, op)
    frac, binding = 1.0, -1
    for s in range(n_sym):
        x = 0.0
        for a in range(n_agents):
            x += want[a, s] * op[s]
        need = x + cap * c * x_tot
        if need > 0.0 and g[s] + need > cap * p_eq * (1.0 + TOL):
            bound = max(cap * p_eq * (1.0 + TOL) - g[s], 0.0) / need
            if bound < frac:
                frac, binding = bound, s
    if binding >= 0:
        event(out[2], out[3], out[4], t, -1, EV_MARKET_ENTRY, binding, x_tot, x_tot * frac)
        for a in range(n_agents):
            for s in range(n_sym):
                want[a, s] *= frac


@jit
def cap_gross(out, t, op, fp, want, rate, eq, gross):
    """Scale all entries so that the parent's gross ≤ cap × parent equity after."""
    n_agents, n_sym = want.shape
    cap = fp[GROSS_CAP]
    x = 0.0
    c = 0.0
    for a in range(n_agents):
        for s in range(n_sym):
            if want[a, s] > 0.0:
                x += want[a, s] * op[s]
                c = max(c, rate[a, s])
    allowed = (cap * (eq.sum() + fp[RESERVE]) - gross.sum()) / (1.0 + cap * c)
    if x > 0.0 and x > allowed * (1.0 + TOL):
        event(out[2], out[3], out[4], t, -1, EV_GROSS_ENTRY, -1, x, max(allowed, 0.0))
        frac = max(allowed, 0.0) / x
        for a in range(n_agents):
            for s in range(n_sym):
                want[a, s] *= frac


@jit
def fill_entries(st, out, t, op, vol, fp, want, ok):
    """Enter the sized orders; an order for a symbol that does not trade at this bar waits for its next
    tradable bar (``ok`` False), one that could not be sized is dropped."""
    pos, target = st[POS], st[TARGET]
    for a in range(pos.shape[0]):
        for s in range(pos.shape[1]):
            if pos[a, s] != 0.0 or target[a, s] == 0 or not ok[s]:
                continue
            if bookable(want[a, s], op[s]):
                enter(st, out, t, a, s, target[a, s], want[a, s], op[s], vol[s], fp)
            else:
                target[a, s] = 0  # the entry could not be placed (or is too small to book): the signal is ignored
