"""Evolution of a population of genomes between runs: keep the best, breed the rest anew.

The mutable members are ranked by score; the top ``keep_fraction`` survive unchanged. Each
freed slot (the worst) receives, in order: an immigrant (a tuned genome the caller adopted),
a child of the best member of a family that would otherwise fall below ``min_per_family``
members, or a child of two survivors of one family picked by tournament. A child takes
each parameter from either parent (uniform crossover), then each parameter moves with
probability ``mutation_rate`` (Gaussian steps of ``mutation_scale`` times the range for
numbers, another option for choices). Every parameter stays inside its family's space.
Immutable members (in intraday mode: anything not short-horizon) are carried over as is.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cohorts import engine


@dataclass(frozen=True)
class Member:
    """A genome in the population, its latest score, and whether evolution may replace it."""

    genome: engine.Genome
    score: float
    is_mutable: bool = True


@dataclass(frozen=True)
class Change:
    """What happened to one slot, and why, for the knowledge base."""

    slot: int
    action: str  # kept, carried, immigrant, child
    genome: engine.Genome
    replaced: engine.Genome | None = None
    parents: tuple[int, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Breeding:
    """The evolution knobs (see the module docstring)."""

    keep_fraction: float = 0.5
    mutation_rate: float = 0.3
    mutation_scale: float = 0.15
    min_per_family: int = 1
    tournament: int = 2


def clamp(family_name: str, params: Mapping[str, object]) -> dict[str, object]:
    """``params`` forced inside the family's space (ints rounded, numbers clipped, unknown choices reset)."""
    out: dict[str, object] = {}
    for name, p in engine.family(family_name).space.items():
        value = params[name]
        if p.kind == "int":
            out[name] = int(min(max(round(float(value)), int(p.low)), int(p.high)))
        elif p.kind == "float":
            out[name] = float(min(max(float(value), p.low), p.high))
        else:
            out[name] = value if value in p.choices else p.choices[0]
    return out


def mutate(family_name: str, params: Mapping[str, object], rng: np.random.Generator, *, rate: float,
           scale: float) -> dict[str, object]:
    """Each parameter moved with probability ``rate``; the result is inside the space."""
    out = dict(params)
    for name, p in engine.family(family_name).space.items():
        if rng.random() >= rate:
            continue
        if p.kind == "choice":
            others = [c for c in p.choices if c != out[name]] or list(p.choices)
            out[name] = others[int(rng.integers(len(others)))]
        else:
            step = rng.normal(0.0, scale * (p.high - p.low))
            if p.kind == "int" and abs(step) < 1:
                step = math.copysign(1.0, step)
            out[name] = float(out[name]) + step
    return clamp(family_name, out)


def crossover(a: engine.Genome, b: engine.Genome, rng: np.random.Generator) -> dict[str, object]:
    """Uniform crossover of two genomes of one family: each parameter from either parent."""
    return {name: (a.params if rng.random() < 0.5 else b.params)[name] for name in engine.family(a.family).space}


DEFAULT_BREEDING = Breeding()


def evolve(members: Sequence[Member], rng: np.random.Generator, *, breeding: Breeding = DEFAULT_BREEDING,
           immigrants: Sequence[engine.Genome] = ()) -> tuple[list[engine.Genome], list[Change]]:
    """The next population, slot by slot, and the change made to every slot."""
    mutable = [i for i, m in enumerate(members) if m.is_mutable]
    ranked = sorted(mutable, key=lambda i: (-members[i].score, i))
    n_keep = min(len(ranked), max(1, math.ceil(breeding.keep_fraction * len(ranked))))
    survivors, freed = ranked[:n_keep], ranked[n_keep:][::-1]  # freed: worst first
    genomes = [m.genome for m in members]
    changes = {i: Change(i, "carried", members[i].genome, reason="not mutable in this mode") for i in range(len(members))
               if not members[i].is_mutable}
    for i in survivors:
        changes[i] = Change(i, "kept", members[i].genome, reason=f"rank {ranked.index(i) + 1} of {len(ranked)}")
    counts = Counter(members[i].genome.family for i in survivors)
    needy = [f for f in dict.fromkeys(members[i].genome.family for i in ranked) if counts[f] < breeding.min_per_family]
    seen = {g.key() for g in genomes}
    queue = list({g.key(): g for g in immigrants if g.key() not in seen}.values())[: len(freed)]
    for slot in freed:
        old = members[slot].genome
        if queue:
            new, parents, action = queue.pop(0), (), "immigrant"
            why = "tuned genome adopted after walk-forward validation"
        elif needy:
            fam = needy[0]
            best = next(i for i in ranked if members[i].genome.family == fam)
            new, parents, action = _child(members, best, rng, breeding, seen), (best,), "child"
            why = f"keeps {fam} in the population (diversity floor {breeding.min_per_family})"
        else:
            a = _tournament(survivors, members, rng, breeding.tournament)
            mates = [i for i in survivors if members[i].genome.family == members[a].genome.family]
            b = mates[int(rng.integers(len(mates)))]
            new, parents, action = _child(members, a, rng, breeding, seen, b), (a, b), "child"
            why = "replaces a bottom performer"
        counts[new.family] += 1
        needy = [f for f in needy if counts[f] < breeding.min_per_family]
        seen.add(new.key())
        genomes[slot] = new
        changes[slot] = Change(slot, action, new, old, tuple(dict.fromkeys(parents)),
                               f"{why}; replaced {old.family} scoring {members[slot].score:.3f}")
    return genomes, [changes[i] for i in range(len(members))]


def _tournament(pool: Sequence[int], members: Sequence[Member], rng: np.random.Generator, size: int) -> int:
    picks = [pool[int(rng.integers(len(pool)))] for _ in range(max(1, size))]
    return max(picks, key=lambda i: (members[i].score, -i))


def _child(members: Sequence[Member], a: int, rng: np.random.Generator,
           breeding: Breeding, seen: set, b: int | None = None) -> engine.Genome:
    first = members[a].genome
    second = members[b if b is not None else a].genome
    params = crossover(first, second, rng)
    for _ in range(8):  # a child identical to a genome already present is mutated again
        params = mutate(first.family, params, rng, rate=breeding.mutation_rate, scale=breeding.mutation_scale)
        child = engine.Genome(first.family, params, first.side)
        if child.key() not in seen:
            break
    return child
