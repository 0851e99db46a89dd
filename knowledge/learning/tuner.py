"""Tuning one genome family's parameters with optuna's TPE sampler, and walk-forward validation.

Every trial replays a genome through the engine directly (no database): trials are asked in
batches and a batch is one vectorised engine run. With an in-memory study and a seed the
result is deterministic. With ``storage`` (an optuna RDB URL, e.g. on PostgreSQL) and a
``study_name``, several workers may call ``tune`` on the same study: each asks trials until
the study holds ``trials`` of them, so the budget is shared, not multiplied (the order in
which workers interleave is then not deterministic).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import optuna

from cohorts import engine

from .objective import DEFAULT_OBJECTIVE, DEFAULT_SETUP, Objective, Setup, evaluate

BATCH = 8  # trials asked before the sampler sees their scores; one engine run per batch


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial: its number in the study, the parameters tried and their score."""

    number: int
    params: Mapping[str, object]
    score: float


@dataclass(frozen=True)
class TuneResult:
    """The best parameters found for ``family`` on the tuning window, and every trial."""

    family: str
    side: str
    best_params: Mapping[str, object]
    best_score: float
    trials: tuple[TrialRecord, ...]

    @property
    def genome(self) -> engine.Genome:
        """The best parameters as a genome."""
        return engine.Genome(self.family, dict(self.best_params), self.side)


def suggest(trial: optuna.Trial, family_name: str) -> dict[str, object]:
    """Parameters for ``trial`` drawn from the family's declared space."""
    params: dict[str, object] = {}
    for name, p in engine.family(family_name).space.items():
        if p.kind == "int":
            params[name] = trial.suggest_int(name, int(p.low), int(p.high))
        elif p.kind == "float":
            params[name] = trial.suggest_float(name, float(p.low), float(p.high))
        else:
            params[name] = trial.suggest_categorical(name, list(p.choices))
    return params


def tune(market: engine.Market, family_name: str, *, trials: int, seed: int, side: str = "long",
         start_params: Mapping[str, object] | None = None, objective: Objective = DEFAULT_OBJECTIVE,
         setup: Setup = DEFAULT_SETUP, storage: str | None = None, study_name: str | None = None) -> TuneResult:
    """TPE search of ``family_name``'s space on ``market``, maximising ``objective``.

    ``start_params`` (e.g. the incumbent's) is tried first, so the result is never worse than
    it on this window. Only ``market`` is seen: the caller decides what the tuner may know.
    """
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(1, trials // 4)))
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage, study_name=study_name,
                                load_if_exists=storage is not None)
    if start_params is not None and not study.trials:
        study.enqueue_trial(dict(start_params))
    while (asked := _started(study)) < trials:
        batch = [study.ask() for _ in range(min(BATCH, trials - asked))]
        genomes = [engine.Genome(family_name, suggest(t, family_name), side) for t in batch]
        for t, score in zip(batch, evaluate(market, genomes, objective=objective, setup=setup)):
            study.tell(t, float(score))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(done, key=lambda t: (t.value, -t.number))
    records = tuple(TrialRecord(t.number, dict(t.params), float(t.value)) for t in done)
    return TuneResult(family_name, side, dict(best.params), float(best.value), records)


def _started(study: optuna.Study) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)
    return len(study.get_trials(deepcopy=False, states=states))


@dataclass(frozen=True)
class WalkForwardStep:
    """Tuned on window k (``in_sample`` = best score there), scored on window k+1 (``out_of_sample``)."""

    window: int
    tuned: TuneResult
    in_sample: float
    out_of_sample: float


def walk_forward(windows: Sequence[engine.Market], family_name: str, *, trials: int, seed: int,
                 side: str = "long", start_params: Mapping[str, object] | None = None,
                 objective: Objective = DEFAULT_OBJECTIVE, setup: Setup = DEFAULT_SETUP) -> tuple[WalkForwardStep, ...]:
    """For each consecutive pair of windows: tune on the first, score the winner on the second.

    The tuner of step k is handed window k alone, so nothing of window k+1 can reach it.
    """
    steps = []
    for k in range(len(windows) - 1):
        tuned = tune(windows[k], family_name, trials=trials, seed=seed + k, side=side,
                     start_params=start_params, objective=objective, setup=setup)
        out = float(evaluate(windows[k + 1], [tuned.genome], objective=objective, setup=setup)[0])
        steps.append(WalkForwardStep(k, tuned, tuned.best_score, out))
    return tuple(steps)
