"""The engine's rule events in words: one sentence per rule, naming the agent and the symbol where it applies.

Rules fall in three kinds, and every count the cohort page shows is a count of one kind:
- breach: a limit was crossed and the desk acted (the daily stop halted trading, a circuit breaker paused
  an agent, an agent's leverage ended a bar above its ceiling); `Cohort.breaches` counts these;
- cap: an order was trimmed, or positions cut back, to keep an exposure, leverage or liquidity limit;
- resume: a paused agent's cooldown ended and it trades again.
An agent paused by a circuit breaker at least once counts among the cohort's paused ("failed") agents.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from neolight import formats

BREACH, CAP, RESUME = "breach", "cap", "resume"
KIND_LABELS = {BREACH: "Breach", CAP: "Cap applied", RESUME: "Resumed"}
BREAKER_RULES = ("breaker_losses", "breaker_loss_limit")
RULE_TITLES = {
    "daily_stop": ("Daily stop", BREACH),
    "breaker_losses": ("Circuit breaker: losing streak", BREACH),
    "breaker_loss_limit": ("Circuit breaker: loss limit", BREACH),
    "leverage_breach": ("Leverage above ceiling", BREACH),
    "resume": ("Agent resumed", RESUME),
    "leverage_reduce": ("Leverage cut back", CAP),
    "leverage_entry_cap": ("Leverage cap on new orders", CAP),
    "market_exposure_reduce": ("Symbol exposure cut back", CAP),
    "market_exposure_entry_cap": ("Symbol exposure cap", CAP),
    "gross_exposure_reduce": ("Gross exposure cut back", CAP),
    "gross_exposure_entry_cap": ("Gross exposure cap", CAP),
    "liquidity_cap": ("Liquidity cap", CAP),
}
BREACH_RULES = tuple(rule for rule, (_, kind) in RULE_TITLES.items() if kind == BREACH)


@dataclass(frozen=True)
class Limits:
    """The wallet's limits a sentence may quote (multiples of parent equity)."""

    exposure_limit: Decimal | None = None
    market_exposure_limit: Decimal | None = None


def kind_of(rule: str) -> str:
    return RULE_TITLES.get(rule, (rule, CAP))[1]


def title_of(rule: str) -> str:
    return RULE_TITLES.get(rule, (rule.replace("_", " ").capitalize(), CAP))[0]


def sentence(rule: str, values: Mapping, agent: int | None, limits: Limits = Limits()) -> str:
    """What happened, in one sentence: 'Agent 4 paused after 5 losing trades in a row.'"""
    who = f"Agent {agent}" if agent is not None else "All agents"
    v = dict(values)
    write = SENTENCES.get(rule)
    if write is None:  # a rule newer than this vocabulary: still readable
        shown = ", ".join(f"{k.replace('_', ' ')} {formats.significant(x, 6) if k != 'symbol' else x}"
                          for k, x in v.items())
        return f"{title_of(rule)}, {who if agent is not None else 'parent wallet'}: {shown}."
    return write(who, v, limits)


def _whole(value) -> str:
    number = formats.as_decimal(value)
    return formats.MISSING if number is None else f"{int(number):,}"


def _symbol(v: dict) -> str:
    return str(v.get("symbol") or "a symbol")


def _daily_stop(who, v, limits) -> str:
    start, now = formats.as_decimal(v.get("day_start_equity")), formats.as_decimal(v.get("parent_equity"))
    change = (now / start - 1) if start and now is not None else None
    return (f"Daily stop: the parent wallet fell from {formats.money(start)} to {formats.money(now)} "
            f"({formats.signed_percent(change)}) on the day; all trading halted and positions were closed.")


def pause_reason(rule: str, values: Mapping) -> str:
    """Why a circuit breaker paused an agent: 'after 5 losing trades in a row (limit 5)'."""
    if rule == "breaker_losses":
        return f"after {_whole(values.get('losing_streak'))} losing trades in a row (limit {_whole(values.get('limit'))})"
    ref, now = formats.as_decimal(values.get("reference_equity")), formats.as_decimal(values.get("equity"))
    change = (now / ref - 1) if ref and now is not None else None
    return (f"when its equity fell to {formats.money(now)} from {formats.money(ref)} "
            f"({formats.signed_percent(change)}), past its loss limit")


def _breaker_losses(who, v, limits) -> str:
    return f"{who} paused {pause_reason('breaker_losses', v)}."


def _breaker_loss_limit(who, v, limits) -> str:
    return f"{who} paused {pause_reason('breaker_loss_limit', v)}."


def _resume(who, v, limits) -> str:
    return f"{who} resumed trading after its cooldown, with equity of {formats.money(v.get('equity'))}."


def _leverage_breach(who, v, limits) -> str:
    return (f"{who}'s leverage reached {formats.ratio(v.get('leverage'))}, above its "
            f"{formats.ratio(v.get('ceiling'))} ceiling.")


def _leverage_reduce(who, v, limits) -> str:
    return (f"{who}'s positions were cut back: leverage {formats.ratio(v.get('leverage'))} against its "
            f"{formats.ratio(v.get('ceiling'))} ceiling.")


def _leverage_entry(who, v, limits) -> str:
    return (f"{who}'s new orders were trimmed from {formats.money(v.get('requested_gross'))} to "
            f"{formats.money(v.get('allowed_gross'))} to stay within its leverage ceiling.")


def _market_reduce(who, v, limits) -> str:
    return (f"Exposure cap on {_symbol(v)}: positions cut back from {formats.ratio(v.get('exposure_multiple'))} to "
            f"within {formats.ratio(v.get('cap'))} parent equity.")


def _market_entry(who, v, limits) -> str:
    cap = f" to stay within {formats.ratio(limits.market_exposure_limit)} parent equity" \
        if limits.market_exposure_limit is not None else ""
    return (f"Exposure cap on {_symbol(v)}: new orders trimmed from {formats.money(v.get('requested_gross'))} to "
            f"{formats.money(v.get('allowed_gross'))}{cap}.")


def _gross_reduce(who, v, limits) -> str:
    return (f"Gross exposure cap: every position cut back from {formats.ratio(v.get('exposure_multiple'))} to "
            f"within {formats.ratio(v.get('cap'))} parent equity.")


def _gross_entry(who, v, limits) -> str:
    cap = f" to stay within {formats.ratio(limits.exposure_limit)} parent equity" \
        if limits.exposure_limit is not None else ""
    return (f"Gross exposure cap: new orders trimmed from {formats.money(v.get('requested_gross'))} to "
            f"{formats.money(v.get('allowed_gross'))}{cap}.")


def _liquidity(who, v, limits) -> str:
    return (f"Liquidity cap on {_symbol(v)}: {who}'s order trimmed from {formats.quantity(v.get('requested_qty'))} "
            f"to {formats.quantity(v.get('allowed_qty'))} units, the share of the bar's volume it may take.")


SENTENCES: dict[str, Callable[[str, dict, Limits], str]] = {
    "daily_stop": _daily_stop, "breaker_losses": _breaker_losses, "breaker_loss_limit": _breaker_loss_limit,
    "resume": _resume, "leverage_breach": _leverage_breach, "leverage_reduce": _leverage_reduce,
    "leverage_entry_cap": _leverage_entry, "market_exposure_reduce": _market_reduce,
    "market_exposure_entry_cap": _market_entry, "gross_exposure_reduce": _gross_reduce,
    "gross_exposure_entry_cap": _gross_entry, "liquidity_cap": _liquidity,
}
