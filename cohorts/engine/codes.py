"""The layout of the arrays the compiled kernel works on, and its codes.

Parameters travel as two small arrays (``fp`` floats, ``ip`` integers), the day's
bookkeeping as ``misc``; fills and events are rows of int and float buffers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba
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

# The smallest order the ledger can book: a quantity of one unit of its 1e-8 resolution, worth at least
# a cent. A smaller entry is not placed; a smaller cut grows to that size (limits stay kept), and a cut
# that would leave less than that takes the whole position (no dust positions).
MIN_QTY = 1e-8
MIN_NOTIONAL = 0.01
TOL = 1e-9  # relative slack before a cap is said to bite (float rounding of exact fits)
HEADROOM = 0.005  # markets are capped this far below their limit so others can still trade
NEVER = np.iinfo(np.int64).max

# per-agent state in the ``st`` tuple
CASH, POS, BASIS, TRIP, STREAK, TARGET, PAUSED, EQ_REF, EQ_LAST = range(9)


def _engine_digest() -> str:
    """A digest of every engine module. Numba checks a cached kernel only against its own file, not the
    helpers compiled into it; caching per digest means a changed helper is never run from a stale cache."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


if not numba.config.CACHE_DIR:  # NUMBA_CACHE_DIR, when set, is the operator's choice
    numba.config.CACHE_DIR = str(Path(__file__).parent / "__pycache__" / f"numba-{_engine_digest()}")
jit = njit(cache=True, error_model="numpy")
