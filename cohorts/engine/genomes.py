"""Strategy families (genomes), their parameter spaces, and signal building for a cohort."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import signals as sg
from .market import Market

SIDES = ("long", "short", "both")


@dataclass(frozen=True)
class Param:
    """One tunable parameter: ``kind`` is 'int' or 'float' (in [low, high]) or 'choice'."""

    low: float
    high: float
    kind: str
    choices: tuple = ()


@dataclass(frozen=True)
class Family:
    """A strategy family: its parameter space, horizon flag, defaults and signal builder."""

    name: str
    space: Mapping[str, Param]
    is_short_horizon: bool
    default_params: Mapping[str, object]
    build: sg.Builder = field(repr=False)
    description: str = ""


@dataclass(frozen=True)
class Genome:
    """One strategy instance: a family, its parameters, and the side(s) it may trade."""

    family: str
    params: Mapping[str, object]
    side: str = "long"

    def __post_init__(self) -> None:
        spec = family(self.family)
        missing = set(spec.space) - set(self.params)
        if missing:
            raise ValueError(f"{self.family} genome lacks parameters {sorted(missing)}")
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {self.side!r}")

    def key(self) -> tuple:
        """A hashable identity: genomes with equal keys produce equal signals."""
        return (self.family, tuple(sorted(self.params.items())), self.side)


def _int(low: int, high: int) -> Param:
    return Param(low, high, "int")


def _float(low: float, high: float) -> Param:
    return Param(low, high, "float")


def _choice(*options: str) -> Param:
    return Param(0, len(options) - 1, "choice", tuple(options))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("ma_crossover",
               {"fast": _int(2, 60), "slow": _int(10, 240), "ma": _choice("sma", "ema")},
               True, {"fast": 10, "slow": 30, "ma": "sma"}, sg.ma_crossover,
               "SMA/EMA crossover momentum"),
        Family("rsi_reversion",
               {"n": _int(2, 50), "lower": _float(5.0, 45.0), "upper": _float(55.0, 95.0),
                "smoothing": _choice("cutler", "wilder")},
               True, {"n": 14, "lower": 30.0, "upper": 70.0, "smoothing": "cutler"},
               sg.rsi_reversion, "RSI mean reversion (Cutler or Wilder averages)"),
        Family("bollinger_reversion", {"n": _int(10, 240), "k": _float(1.0, 3.5)},
               True, {"n": 20, "k": 2.0}, sg.bollinger_reversion,
               "Bollinger band reversion to the moving average"),
        Family("donchian_breakout", {"n": _int(10, 400), "exit_n": _int(5, 200)},
               False, {"n": 40, "exit_n": 20}, sg.donchian_breakout,
               "Donchian channel breakout"),
        Family("vwap_scalper", {"n": _int(10, 240), "band_bps": _float(2.0, 100.0)},
               True, {"n": 30, "band_bps": 10.0}, sg.vwap_scalper,
               "Scalps deviations from the rolling VWAP"),
        Family("pairs_zscore",
               {"n": _int(20, 480), "entry_z": _float(1.0, 3.5), "exit_z": _float(0.0, 1.0)},
               False, {"n": 120, "entry_z": 2.0, "exit_z": 0.5}, sg.pairs_zscore,
               "Pairs trading on the z-score of a log-price spread"),
    )
}


def family(name: str) -> Family:
    """The registered family called ``name`` (ValueError if unknown)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown genome family {name!r}; known: {sorted(FAMILIES)}") from None


def sample_params(name: str, rng: np.random.Generator) -> dict[str, object]:
    """Parameters drawn uniformly from the family's space with ``rng``."""
    params: dict[str, object] = {}
    for pname, p in family(name).space.items():
        if p.kind == "int":
            params[pname] = int(rng.integers(int(p.low), int(p.high) + 1))
        elif p.kind == "float":
            params[pname] = float(rng.uniform(p.low, p.high))
        else:
            params[pname] = p.choices[int(rng.integers(len(p.choices)))]
    return params


def default_roster(n: int, seed: int, side: str = "long") -> list[Genome]:
    """``n`` genomes cycling through the families; agent i < 6 of each run gets the
    family defaults, the rest parameters sampled from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    names = list(FAMILIES)
    roster = []
    for i in range(n):
        name = names[i % len(names)]
        params = dict(FAMILIES[name].default_params) if i < len(names) else sample_params(name, rng)
        pair_side = "both" if name == "pairs_zscore" else side
        roster.append(Genome(name, params, pair_side))
    return roster


def build_signals(market: Market, genomes: Sequence[Genome]) -> tuple[np.ndarray, np.ndarray]:
    """Signal codes for every distinct genome: (codes (G, T, S) int8, index (A,) int64).

    Agent ``a`` reads ``codes[index[a]]``. Bits the genome's side may not act on are
    cleared. Identical genomes share one row, however many agents run them.
    """
    memo = sg.Memo(market)
    rows: dict[tuple, int] = {}
    blocks: list[np.ndarray] = []
    index = np.empty(len(genomes), dtype=np.int64)
    for a, genome in enumerate(genomes):
        key = genome.key()
        if key not in rows:
            codes = family(genome.family).build(market, genome.params, memo)
            rows[key] = len(blocks)
            blocks.append(codes & np.int8(sg.side_mask(genome.side)))
        index[a] = rows[key]
    shape = (len(blocks), market.n_bars, market.n_symbols)
    stacked = np.stack(blocks) if blocks else np.zeros(shape, dtype=np.int8)
    return np.ascontiguousarray(stacked), index
