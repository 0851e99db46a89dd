"""One learning cycle, pure: score the population, tune each family walk-forward, evolve, re-weight.

Windows: with a lookback of L hours and a cycle ending at ``end``, the tuner sees
[end - 2L, end - L) and the winner is scored out of sample on [end - L, end), the window
the population has just traded. Everything the tuner is given (the window, and the incumbent
it starts from: the family's best member on that window) comes from the past window. A tuned
genome is adopted (it replaces a bottom performer) only when its out-of-sample score beats the
median member of its family on that same window.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from cohorts import engine

from .bandit import Allocation, thompson_weights
from .evolution import Breeding, Change, Member, evolve
from .objective import Objective, Setup, evaluate
from .tuner import TrialRecord, tune

MODES = ("daily", "intraday")


def lookback_windows(end: datetime, hours: int) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """(tuning window, scoring window) ending at ``end``: consecutive, L hours each, tuning first."""
    step = timedelta(hours=hours)
    return (end - 2 * step, end - step), (end - step, end)


@dataclass(frozen=True)
class CycleConfig:
    """What a cycle does: ``mode`` daily (every family) or intraday (short-horizon families only),
    ``trials`` per family tuned, and the scoring, breeding and bandit knobs."""

    mode: str = "daily"
    trials: int = 200
    seed: int = 7
    objective: Objective = field(default_factory=Objective)
    setup: Setup = field(default_factory=Setup)
    breeding: Breeding = field(default_factory=Breeding)
    bandit_floor: float = 0.5
    storage: str | None = None
    study_prefix: str = "neolight"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.trials < 1:
            raise ValueError("a cycle needs at least one trial per family")


@dataclass(frozen=True)
class FamilyOutcome:
    """A family's walk-forward result and the decision taken on it."""

    family: str
    incumbent: engine.Genome
    tuned: engine.Genome
    in_sample: float
    out_of_sample: float
    incumbent_in_sample: float
    family_median: float
    is_adopted: bool
    reason: str
    trials: tuple[TrialRecord, ...]


@dataclass(frozen=True)
class CycleOutcome:
    """Everything a cycle decided. ``genomes`` and ``allocation.weights`` are the next population."""

    scores: np.ndarray
    families: tuple[FamilyOutcome, ...]
    genomes: tuple[engine.Genome, ...]
    changes: tuple[Change, ...]
    allocation: Allocation

    @property
    def in_sample(self) -> float | None:
        """Mean over the tuned families of the best score on the tuning window."""
        return float(np.mean([f.in_sample for f in self.families])) if self.families else None

    @property
    def out_of_sample(self) -> float | None:
        """Mean over the tuned families of the tuned genome's score on the scoring window."""
        return float(np.mean([f.out_of_sample for f in self.families])) if self.families else None


def mutable_mask(population: Sequence[engine.Genome], mode: str) -> list[bool]:
    """Which members a cycle may change: all (daily) or the short-horizon ones (intraday)."""
    return [mode == "daily" or engine.family(g.family).is_short_horizon for g in population]


def run_cycle(*, tune_market: engine.Market, score_market: engine.Market, population: Sequence[engine.Genome],
              returns: Sequence[np.ndarray | None], config: CycleConfig,
              flagged: Sequence[bool] | None = None) -> CycleOutcome:
    """One cycle over ``population`` (``returns[i]``: member i's hourly returns in its last run, or None).

    ``flagged`` narrows what may change further (e.g. the agents flagged short-horizon in their cohort).
    """
    population = list(population)
    mutable = mutable_mask(population, config.mode)
    if flagged is not None:
        mutable = [m and bool(f) for m, f in zip(mutable, flagged, strict=True)]
    scores = evaluate(score_market, population, objective=config.objective, setup=config.setup)
    past = evaluate(tune_market, population, objective=config.objective, setup=config.setup)
    present = {g.key() for g in population}
    names = list(dict.fromkeys(g.family for g, m in zip(population, mutable) if m))
    families = tuple(_tune_family(name, population, past, scores, mutable, tune_market, score_market, config, present)
                     for name in names)
    immigrants = [f.tuned for f in sorted(families, key=lambda f: -f.out_of_sample) if f.is_adopted]
    rng = np.random.default_rng(config.seed)
    members = [Member(g, float(s), m) for g, s, m in zip(population, scores, mutable)]
    genomes, changes = evolve(members, rng, breeding=config.breeding, immigrants=immigrants)
    history = {g.key(): r for g, r in zip(population, returns)}
    allocation = thompson_weights([history.get(g.key()) for g in genomes], rng, floor=config.bandit_floor)
    return CycleOutcome(scores, families, tuple(genomes), tuple(changes), allocation)


def _tune_family(name: str, population: list[engine.Genome], past: np.ndarray, scores: np.ndarray,
                 mutable: list[bool], tune_market: engine.Market, score_market: engine.Market, config: CycleConfig,
                 present: set) -> FamilyOutcome:
    idx = [i for i, g in enumerate(population) if g.family == name and mutable[i]]
    incumbent = population[max(idx, key=lambda i: (past[i], -i))]  # chosen on the tuning window, like the rest
    seed = config.seed + list(engine.FAMILIES).index(name)
    study = f"{config.study_prefix}-{name}" if config.storage else None
    tuned = tune(tune_market, name, trials=config.trials, seed=seed, side=incumbent.side,
                 start_params=incumbent.params, objective=config.objective, setup=config.setup,
                 storage=config.storage, study_name=study)
    kw = {"objective": config.objective, "setup": config.setup}
    out_of_sample = float(evaluate(score_market, [tuned.genome], **kw)[0])
    incumbent_in = next((t.score for t in tuned.trials if t.number == 0), float("nan"))
    median = float(np.median(scores[idx]))
    if tuned.genome.key() in present:
        adopted, reason = False, "the tuning kept parameters already in the population"
    elif out_of_sample > median:
        adopted, reason = True, (f"out-of-sample {out_of_sample:.3f} beats the family's median member "
                                 f"({median:.3f}) on the same window")
    else:
        adopted, reason = False, (f"out-of-sample {out_of_sample:.3f} does not beat the family's median member "
                                  f"({median:.3f}): in-sample {tuned.best_score:.3f} did not carry over")
    return FamilyOutcome(name, incumbent, tuned.genome, tuned.best_score, out_of_sample, incumbent_in, median,
                         adopted, reason, tuned.trials)
