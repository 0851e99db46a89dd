"""The layout of the arrays the compiled kernel works on, and its codes.

Parameters travel as two small arrays (``fp`` floats, ``ip`` integers), the day's
bookkeeping as ``misc``; fills and events are rows of int and float buffers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# float parameters (fp)
FEE, SLIP, IMPACT, VOL_FRAC, GROSS_CAP, MARKET_CAP = 0, 1, 2, 3, 4, 5
STOP_LOSS, LOSS_LIMIT, RESERVE, POS_FRAC = 6, 7, 8, 9
N_FP = 10
# int parameters (ip)
BREAKER_K, COOLDOWN, SHARED = 0, 1, 2
N_IP = 3
# misc state
DAY_START_P, HALTED, CUR_DAY, LAST_P, FLATTEN = 0, 1, 2, 3, 4
N_MISC = 5
# fill kinds
OPEN, REDUCE, CLOSE = 1, -1, -2
# event rules (names in simulation.RULES)
(EV_DAILY_STOP, EV_BREAKER_LOSSES, EV_BREAKER_LOSS_LIMIT, EV_RESUME, EV_LEVERAGE_BREACH,
 EV_LEVERAGE_REDUCE, EV_LEVERAGE_ENTRY, EV_MARKET_REDUCE, EV_MARKET_ENTRY,
 EV_GROSS_REDUCE, EV_GROSS_ENTRY, EV_LIQUIDITY) = range(12)

TOL = 1e-9  # relative slack before a cap is said to bite (float rounding of exact fits)
HEADROOM = 0.005  # markets are capped this far below their limit so others can still trade
NEVER = np.iinfo(np.int64).max

# per-agent state in the ``st`` tuple
CASH, POS, BASIS, TRIP, STREAK, TARGET, PAUSED, EQ_REF, EQ_LAST = range(9)

jit = njit(cache=True, error_model="numpy")
