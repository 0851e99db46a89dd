"""What a cohort run is asked to do: agents, costs, sizing and the parent-wallet rules."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .genomes import Genome

SIZING_MODES = ("sleeve", "shared")


@dataclass(frozen=True)
class AgentSpec:
    """One agent: its genome, its capital draw from the parent wallet, and its sizing.

    ``leverage`` is the sizing multiple: an entry is sized to ``leverage`` times the
    equity behind it (the sleeve's, or the agent's share in ``shared`` mode).
    ``max_leverage`` is this agent's hard ceiling on gross exposure / equity
    (None: only the parent's ``max_leverage`` applies, if any).
    """

    genome: Genome
    capital: float
    leverage: float = 1.0
    max_leverage: float | None = None

    def __post_init__(self) -> None:
        if not self.capital > 0:
            raise ValueError("agent capital must be positive")
        if not self.leverage > 0:
            raise ValueError("leverage must be positive")


@dataclass(frozen=True)
class ParentRules:
    """Parent-wallet rules, enforced every bar across all agents. None disables a rule.

    - ``max_gross_exposure``: Σ |position|·price of all agents ≤ this × parent equity.
    - ``max_market_exposure``: per symbol, Σ over agents of |position|·price ≤ this ×
      parent equity.
    - ``max_leverage``: every agent's gross exposure ≤ this × its own equity.
    - ``daily_stop`` (a fraction of the bankroll) or ``daily_stop_amount`` (currency;
      the smaller applies if both are set): when the parent's equity at a close is
      that much below its equity at the day's start (the previous day's last close),
      everything is flattened at the next open and trading halts until the next day.
    - ``breaker_losses`` (K consecutive losing round trips) or ``breaker_loss_limit``
      (fraction of the agent's equity at the day's start or its last resume): the
      agent is flattened and paused; it resumes after ``breaker_cooldown`` bars
      (None: stays paused for the rest of the run).
    """

    max_gross_exposure: float | None = None
    max_market_exposure: float | None = None
    max_leverage: float | None = None
    daily_stop: float | None = None
    daily_stop_amount: float | None = None
    breaker_losses: int | None = None
    breaker_loss_limit: float | None = None
    breaker_cooldown: int | None = None


@dataclass(frozen=True)
class CohortSpec:
    """A cohort: its agents and the costs and rules they all trade under.

    Costs: ``fee_bps`` of notional per fill; fills at the bar's open moved against
    the order by ``slippage_bps`` plus, when ``impact`` is set, a square-root volume
    impact ``impact · sqrt(qty / volume of the signal bar)`` (a fraction of price).
    ``max_volume_pct`` caps each order at that percentage of the signal bar's volume
    (the liquidity screen). ``sizing`` is 'sleeve' (each symbol a fixed 1/S share
    of the agent's capital that compounds on its own) or 'shared' (one cash pool per
    agent; each entry sized to ``position_fraction`` × leverage × agent equity,
    default fraction 1/S). ``parent_capital`` is the bankroll (default Σ capital);
    any part not drawn by agents stays idle in the parent's equity.
    ``flatten_at_end``: a replay that reaches the market's last bar closes every
    position at that bar's close (costs as usual, no liquidity screen) and marks
    the bar again, so the run ends in cash. It is meant for replays: a live run
    leaves it False (its market ends at every new bar) and calls
    ``Simulation.close_out`` when its session ends.
    """

    agents: tuple[AgentSpec, ...]
    fee_bps: float = 10.0
    slippage_bps: float = 5.0
    impact: float | None = None
    max_volume_pct: float | None = None
    sizing: str = "sleeve"
    position_fraction: float | None = None
    rules: ParentRules = field(default_factory=ParentRules)
    parent_capital: float | None = None
    bars_per_day: int = 1440
    flatten_at_end: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "agents", tuple(self.agents))
        if not self.agents:
            raise ValueError("a cohort needs at least one agent")
        if self.sizing not in SIZING_MODES:
            raise ValueError(f"sizing must be one of {SIZING_MODES}")
        if self.parent_capital is not None and self.parent_capital < self.total_capital * (1 - 1e-12):
            raise ValueError("parent capital is smaller than the agents' capital")

    @property
    def n_agents(self) -> int:
        """A, the number of agents."""
        return len(self.agents)

    @property
    def total_capital(self) -> float:
        """Σ of the agents' capital draws."""
        return float(sum(a.capital for a in self.agents))

    @property
    def reserve(self) -> float:
        """Parent capital not drawn by any agent (idle cash in the parent's equity)."""
        return max(0.0, self.bankroll - self.total_capital)

    @property
    def bankroll(self) -> float:
        """The parent wallet's capital."""
        return float(self.parent_capital if self.parent_capital is not None else self.total_capital)

    def capital(self) -> np.ndarray:
        """Per-agent capital, (A,) float64."""
        return np.array([a.capital for a in self.agents], dtype=np.float64)

    def leverage_ceilings(self) -> np.ndarray:
        """Per-agent effective leverage ceiling, (A,) float64 (inf when none applies)."""
        parent = self.rules.max_leverage
        out = np.full(self.n_agents, np.inf)
        for i, agent in enumerate(self.agents):
            for cap in (agent.max_leverage, parent):
                if cap is not None:
                    out[i] = min(out[i], float(cap))
        return out


def cohort(genomes: list[Genome], bankroll: float, **kwargs: object) -> CohortSpec:
    """A cohort spec splitting ``bankroll`` equally over one agent per genome."""
    share = float(bankroll) / len(genomes)
    agents = tuple(AgentSpec(g, share) for g in genomes)
    return CohortSpec(agents=agents, parent_capital=float(bankroll), **kwargs)  # type: ignore[arg-type]
