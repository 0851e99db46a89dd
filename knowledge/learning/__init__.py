"""NeoLight's learning loop, pure: tuning (optuna TPE, walk-forward), evolution, Thompson-sampling weights.

Imports only the standard library, numpy, optuna and ``cohorts.engine``; no Django. The
services in ``knowledge.services`` read bars and cohorts, call ``run_cycle`` and persist.
"""
from .bandit import Allocation, thompson_weights
from .cycle import CycleConfig, CycleOutcome, FamilyOutcome, lookback_windows, mutable_mask, run_cycle
from .evolution import Breeding, Change, Member, clamp, crossover, evolve, mutate
from .objective import Objective, Setup, evaluate
from .tuner import TrialRecord, TuneResult, WalkForwardStep, suggest, tune, walk_forward

__all__ = [
    "Allocation", "Breeding", "Change", "CycleConfig", "CycleOutcome", "FamilyOutcome", "Member", "Objective",
    "Setup", "TrialRecord", "TuneResult", "WalkForwardStep", "clamp", "crossover", "evaluate", "evolve",
    "lookback_windows", "mutable_mask", "mutate", "run_cycle", "suggest", "thompson_weights", "tune",
    "walk_forward",
]
