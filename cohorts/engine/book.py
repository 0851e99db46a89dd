"""Fill primitives of the compiled kernel: prices, cash, positions, realised P&L, records.

Accounting identity, exact up to float rounding per fill: cash moves by
``-(side·qty·price) - fee`` and ``equity = Σ_s cash + position·close``.
"""

from __future__ import annotations

import numpy as np

from .codes import (
    BASIS,
    CASH,
    CLOSE,
    FEE,
    IMPACT,
    MIN_NOTIONAL,
    MIN_QTY,
    OPEN,
    POS,
    REDUCE,
    SLIP,
    STREAK,
    TRIP,
    jit,
)


@jit
def event(ei, ef, counts, t, a, rule, s, v0, v1):
    k = counts[1]
    ei[k, 0], ei[k, 1], ei[k, 2], ei[k, 3] = t, a, rule, s
    ef[k, 0], ef[k, 1] = v0, v1
    counts[1] = k + 1


@jit
def record(fi, ff, counts, t, a, s, side, kind, q, px, fee_amt, pnl):
    k = counts[0]
    fi[k, 0], fi[k, 1], fi[k, 2], fi[k, 3], fi[k, 4] = a, t, s, side, kind
    ff[k, 0], ff[k, 1], ff[k, 2], ff[k, 3] = q, px, fee_amt, pnl
    counts[0] = k + 1


@jit
def bookable(q, price):
    """Whether an order of `q` at `price` is large enough for the ledger to book (MIN_QTY, MIN_NOTIONAL)."""
    return q >= MIN_QTY and q * price >= MIN_NOTIONAL


@jit
def slip(q, vol, fp):
    """Price move against the order, as a fraction: fixed slippage plus volume impact."""
    if fp[IMPACT] > 0.0 and vol > 0.0:
        return fp[SLIP] + fp[IMPACT] * np.sqrt(q / vol)
    return fp[SLIP]


@jit
def cost_rate(e, fp):
    """Upper bound of the equity lost per unit of gross traded at the open."""
    return e + fp[FEE] * (1.0 + e)


@jit
def reduce(st, out, t, a, s, q, op, vol, fp):
    """Buy back / sell ``q`` of the position at the open; books realised P&L."""
    cash, pos, basis, trip, streak = st[CASH], st[POS], st[BASIS], st[TRIP], st[STREAK]
    p = pos[a, s]
    if not bookable(q, op):  # too small a cut to book: cut the smallest bookable amount instead
        q = max(q, MIN_QTY, MIN_NOTIONAL / op)
    if q < abs(p) and not bookable(abs(p) - q, op):  # what would remain is dust: the whole position goes
        q = abs(p)
    side = 1 if p < 0 else -1
    px = op * (1.0 + side * slip(q, vol, fp))
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
    record(out[0], out[1], out[4], t, a, s, side, kind, q, px, fee_amt, pnl)


@jit
def enter(st, out, t, a, s, side, q, op, vol, fp):
    """Open a position of ``q`` on ``side`` at the open (the sleeve is flat)."""
    cash, pos, basis, trip = st[CASH], st[POS], st[BASIS], st[TRIP]
    px = op * (1.0 + side * slip(q, vol, fp))
    notional = q * px
    fee_amt = notional * fp[FEE]
    flow = -side * notional - fee_amt
    cash[a, s] += flow
    pos[a, s] = side * q
    basis[a, s] = flow
    trip[a, s] = 0.0
    record(out[0], out[1], out[4], t, a, s, side, OPEN, q, px, fee_amt, 0.0)


@jit
def marks(st, prices, eq, gross):
    """Per-agent equity and gross exposure at ``prices`` (S,)."""
    cash, pos = st[CASH], st[POS]
    n_agents, n_sym = pos.shape
    for a in range(n_agents):
        e = 0.0
        g = 0.0
        for s in range(n_sym):
            e += cash[a, s] + pos[a, s] * prices[s]
            g += abs(pos[a, s]) * prices[s]
        eq[a] = e
        gross[a] = g


@jit
def scale_agent(st, out, t, a, frac, op, vol, fp, ok):
    """Cut agent ``a``'s positions by ``frac`` in every symbol that trades at this bar (``ok``)."""
    pos = st[POS]
    for s in range(pos.shape[1]):
        if pos[a, s] != 0.0 and ok[s]:
            q = abs(pos[a, s]) if frac >= 1.0 else abs(pos[a, s]) * frac
            reduce(st, out, t, a, s, q, op[s], vol[s], fp)


@jit
def position_cost(pos, a0, a1, s0, s1, op, vol, fp):
    c = 0.0
    for a in range(a0, a1):
        for s in range(s0, s1):
            if pos[a, s] != 0.0:
                c = max(c, cost_rate(slip(abs(pos[a, s]), vol[s], fp), fp))
    return c
