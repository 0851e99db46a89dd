"""NeoLight's simulation engine: bars -> signals -> orders -> fills -> equity.

Pure Python over numpy (the per-bar loop compiled with numba); no Django. Replay
and live paper trading step through the same ``Simulation``; ``run`` replays a
whole window; ``Simulation.step`` takes one live bar at a cost independent of the day's
length (``live``: rolling signal state), and ``checkpoint_bytes``/``from_checkpoint`` resume a
live run exactly. See ``simulation`` for the accounting and the order of events
within a bar, ``spec`` for the parent-wallet rules, ``metrics`` for the scores.
"""

from .bench import bench_engine
from .genomes import (
    FAMILIES,
    Family,
    Genome,
    Param,
    build_signals,
    default_roster,
    family,
    sample_params,
)
from .market import Market
from .metrics import PERIODS_PER_YEAR, Metrics, compute_metrics, correlation, max_drawdown
from .signals import ENTER_LONG, ENTER_SHORT, EXIT_LONG, EXIT_SHORT
from .simulation import CHECKPOINT_FORMAT, RULES, CheckpointError, Event, Fills, Progress, Result, Simulation, initial_state, run
from .spec import AgentSpec, CohortSpec, ParentRules, cohort
from .warmup import is_warm, warm_up
from .workload import generate_market, reference_spec, run_workload

__all__ = [
    "CHECKPOINT_FORMAT", "AgentSpec", "CheckpointError", "CohortSpec", "ENTER_LONG", "ENTER_SHORT", "EXIT_LONG", "EXIT_SHORT", "Event",
    "FAMILIES", "Family", "Fills", "Genome", "Market", "Metrics", "PERIODS_PER_YEAR", "Param",
    "ParentRules", "Progress", "RULES", "Result", "Simulation", "bench_engine", "build_signals", "cohort",
    "compute_metrics", "correlation", "default_roster", "family", "generate_market",
    "initial_state", "is_warm", "max_drawdown", "reference_spec", "run", "run_workload", "sample_params",
    "warm_up",
]
