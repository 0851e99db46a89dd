"""A cohort launch request, checked field by field: the one gate every interface (API, form, command,
campaign, assistant) passes through, so each refuses exactly the same input with the same words."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from cohorts.models import AllocationPolicy, Bar
from cohorts.selectors.market import instruments_by_symbol, window_tradable_check
from neolight.errors import ApplicationError
from neolight.money import CENT


@dataclass(frozen=True)
class LaunchInput:
    """A validated request for a cohort; build it with `cohort_input`."""

    bankroll: Decimal
    agents: int
    policy: str
    symbols: tuple[str, ...]
    start: datetime
    end: datetime
    seed: int = 7
    exposure_limit: Decimal = field(default_factory=lambda: Decimal(str(settings.COHORT_DEFAULTS["exposure_limit"])))
    leverage_ceiling: Decimal = field(default_factory=lambda: Decimal(str(settings.COHORT_DEFAULTS["leverage_ceiling"])))
    daily_stop: Decimal = field(default_factory=lambda: Decimal(str(settings.COHORT_DEFAULTS["daily_stop"])))
    compliance_notes: str = ""


def cohort_input(
    *, bankroll, agents=None, policy=None, symbols, start, end, seed=None, exposure_limit=None,
    leverage_ceiling=None, daily_stop=None, compliance_notes: str = "",
) -> LaunchInput:
    """Checks a launch request field by field; raises ApplicationError naming the first bad field."""
    amount = _decimal(bankroll, "bankroll")
    low, high = Decimal(settings.BANKROLL_MIN), Decimal(settings.BANKROLL_MAX)
    if not low <= amount <= high:
        raise ApplicationError(f"Bankroll must be between ${low:,} and ${high:,}; got ${amount:,}.", field="bankroll")
    if amount != amount.quantize(CENT):
        raise ApplicationError("Bankroll must be in whole cents.", field="bankroll")
    count = _integer(settings.COHORT_AGENTS_DEFAULT if agents is None else agents, "agents")
    if not settings.COHORT_AGENTS_MIN <= count <= settings.COHORT_AGENTS_MAX:
        raise ApplicationError(
            f"Agents must be between {settings.COHORT_AGENTS_MIN} and {settings.COHORT_AGENTS_MAX}; got {count}.",
            field="agents")
    policy = policy or AllocationPolicy.EQUAL
    if policy not in AllocationPolicy.values:
        raise ApplicationError(f"Unknown policy {policy!r}: use one of {', '.join(AllocationPolicy.values)}.",
                               field="policy")
    names = tuple(dict.fromkeys(s.strip().upper() for s in _symbol_list(symbols) if s.strip()))
    if not names:
        raise ApplicationError("Name at least one symbol.", field="symbols")
    instruments_by_symbol(list(names))
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        raise ApplicationError("The window must end after it starts.", field="end")
    if end - start > timedelta(days=settings.COHORT_MAX_WINDOW_DAYS):
        raise ApplicationError(f"The window may span at most {settings.COHORT_MAX_WINDOW_DAYS} days.", field="end")
    empty = [s for s in names if not Bar.objects.filter(instrument__symbol=s, ts__gte=start, ts__lt=end).exists()]
    if empty:
        raise ApplicationError(f"No bars for {', '.join(empty)} between {start:%Y-%m-%d %H:%M} and "
                               f"{end:%Y-%m-%d %H:%M} UTC.", field="start")
    window_tradable_check(symbols=names, start=start, end=end)
    limits = {
        name: _ratio(value, name, default) for name, value, default in [
            ("exposure_limit", exposure_limit, settings.COHORT_DEFAULTS["exposure_limit"]),
            ("leverage_ceiling", leverage_ceiling, settings.COHORT_DEFAULTS["leverage_ceiling"]),
            ("daily_stop", daily_stop, settings.COHORT_DEFAULTS["daily_stop"]),
        ]
    }
    if limits["daily_stop"] >= 1:
        raise ApplicationError("The daily stop is a fraction of equity below 1 (0.05 = 5%).", field="daily_stop")
    return LaunchInput(bankroll=amount, agents=count, policy=policy, symbols=names, start=start, end=end,
                       seed=_integer(7 if seed is None else seed, "seed"), compliance_notes=compliance_notes, **limits)


def _decimal(value, name: str) -> Decimal:
    try:
        number = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"{name.capitalize()} must be a number, not {value!r}.", field=name) from None
    if not number.is_finite():
        raise ApplicationError(f"{name.capitalize()} must be a finite number.", field=name)
    return number


def _integer(value, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ApplicationError(f"{name.capitalize()} must be a whole number, not {value!r}.", field=name) from None


def _ratio(value, name: str, default: float) -> Decimal:
    number = _decimal(default if value is None else value, name)
    if number <= 0:
        raise ApplicationError(f"{name.replace('_', ' ').capitalize()} must be above 0.", field=name)
    return number


def _symbol_list(symbols) -> list[str]:
    return symbols.split(",") if isinstance(symbols, str) else [str(s) for s in symbols]


def _aware(value, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ApplicationError(f"{name.capitalize()} must be an ISO-8601 date and time, not {value!r}.",
                                   field=name) from None
    if not isinstance(value, datetime):
        raise ApplicationError(f"{name.capitalize()} must be a date and time.", field=name)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
