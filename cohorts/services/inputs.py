"""A cohort launch request, checked field by field: the one gate every interface (API, form, command,
campaign, assistant) passes through, so each refuses exactly the same input with the same words.

Every value is bounded before it reaches arithmetic, the engine or the database: a refusal is an
ApplicationError naming every field at fault, never a rounding, a clip or a server error."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from numbers import Integral

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from cohorts.models import AllocationPolicy, Bar, CohortMode
from cohorts.selectors.market import instruments_by_symbol, window_tradable_check
from cohorts.services.market import SYMBOL_RE
from neolight.errors import ApplicationError

WHOLE_RE = re.compile(r"[+-]?[0-9]{1,20}")
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # and lone surrogates
MAX_DATE_CHARS = 64  # longer than any ISO-8601 date and time
SHOWN_CHARS = 40  # how much of a refused value a message repeats


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
    mode: str = CohortMode.REPLAY


class _Refusals:
    """Collects every field's refusal so a request hears about all its faults at once."""

    def __init__(self) -> None:
        self.found: list[ApplicationError] = []

    def check(self, rule, *args):
        """`rule(*args)`, or None (and the refusal noted) when it refuses."""
        try:
            return rule(*args)
        except ApplicationError as exc:
            self.found.append(exc)
            return None

    def raise_any(self) -> None:
        if self.found:
            raise ApplicationError.gather(self.found)


def cohort_input(
    *, bankroll, agents=None, policy=None, symbols, start, end, seed=None, exposure_limit=None,
    leverage_ceiling=None, daily_stop=None, compliance_notes: str = "", mode=None,
) -> LaunchInput:
    """Checks a launch request field by field; raises one ApplicationError naming every bad field (its
    `errors`). Checks that need other fields (the window's bars need the symbols and the window) run
    only once those are valid."""
    refusals, defaults = _Refusals(), settings.COHORT_DEFAULTS
    check = refusals.check
    amount = check(_bankroll, bankroll)
    count = check(whole_number, settings.COHORT_AGENTS_DEFAULT if agents is None else agents, "agents",
                  settings.COHORT_AGENTS_MIN, settings.COHORT_AGENTS_MAX)
    policy = check(_policy, policy)
    seed = check(whole_number, 7 if seed is None else seed, "seed", 0, settings.COHORT_SEED_MAX)
    limits = {
        "exposure_limit": check(_ratio, exposure_limit, "exposure_limit", defaults["exposure_limit"],
                                settings.COHORT_EXPOSURE_LIMIT_MAX),
        "leverage_ceiling": check(_ratio, leverage_ceiling, "leverage_ceiling", defaults["leverage_ceiling"],
                                  settings.COHORT_LEVERAGE_CEILING_MAX),
        "daily_stop": check(_daily_stop, daily_stop),
    }
    notes = check(_notes, compliance_notes)
    mode = check(_mode, mode)
    names = check(_known_symbols, symbols)
    window = _window(refusals, start, end)
    if names and window:
        if mode == CohortMode.LIVE and window[1] > timezone.now():
            check(_live_window_check, names, *window)  # its bars are yet to come
        else:
            check(_bars_check, names, *window)
    refusals.raise_any()
    return LaunchInput(bankroll=amount, agents=count, policy=policy, symbols=names, start=window[0], end=window[1],
                       seed=seed, compliance_notes=notes, mode=mode, **limits)


def _mode(value) -> str:
    mode = value or CohortMode.REPLAY
    if not isinstance(mode, str) or mode not in CohortMode.values:
        raise ApplicationError(f"Unknown mode {_shown(mode)}: use one of {', '.join(CohortMode.values)}.",
                               field="mode")
    return mode


def _known_symbols(value) -> tuple[str, ...]:
    names = symbol_names(value)
    instruments_by_symbol(list(names))  # names every unknown one
    return names


def _bankroll(value) -> Decimal:
    amount = _decimal(value, "bankroll")
    low, high = Decimal(settings.BANKROLL_MIN), Decimal(settings.BANKROLL_MAX)
    if not low <= amount <= high:
        got = f"${amount:,}" if abs(amount.adjusted()) <= 20 else _shown(value)
        raise ApplicationError(f"Bankroll must be between ${low:,} and ${high:,}; got {got}.", field="bankroll")
    if _places(amount) > 2:
        raise ApplicationError("Bankroll must be in whole cents.", field="bankroll")
    return amount


def _policy(value) -> str:
    policy = value or AllocationPolicy.EQUAL
    if not isinstance(policy, str) or policy not in AllocationPolicy.values:
        raise ApplicationError(f"Unknown policy {_shown(policy)}: use one of {', '.join(AllocationPolicy.values)}.",
                               field="policy")
    return policy


def whole_number(value, name: str, low: int, high: int) -> int:
    """A whole number within [low, high], from an int or its decimal digits; never a bool, float or '7.5'."""
    number = None
    if isinstance(value, Integral) and not isinstance(value, bool):  # numpy's integers too
        number = int(value)
    elif isinstance(value, str) and WHOLE_RE.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise ApplicationError(f"{_label(name)} must be a whole number from {low:,} to {high:,}; "
                               f"got {_shown(value)}.", field=name)
    return number


def _decimal(value, name: str) -> Decimal:
    """A finite Decimal from a plain number or its text ('1,000', '$50' and '1e3' are fine; 'NaN' is not)."""
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
        text = str(value).replace(",", "").replace("$", "").strip()
    else:
        text = ""
    try:
        number = Decimal(text) if NUMBER_RE.fullmatch(text) else None
    except InvalidOperation:  # an exponent beyond what Decimal holds
        number = None
    if number is None or not number.is_finite():
        raise ApplicationError(f"{_label(name)} must be a number, not {_shown(value)}.", field=name)
    return number


def _places(number: Decimal) -> int:
    """Decimal places `number` needs (trailing zeros do not count), without rounding it."""
    _, digits, exponent = number.as_tuple()
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def _ratio(value, name: str, default: float, high: float) -> Decimal:
    """A multiple of equity with at most COHORT_RATIO_PLACES places, in [10^-places, high]."""
    number = _decimal(default if value is None else value, name)
    places = settings.COHORT_RATIO_PLACES
    if _places(number) > places:
        raise ApplicationError(f"{_label(name)} takes at most {places} decimal places; got {_shown(number)}.",
                               field=name)
    low, top = Decimal(1).scaleb(-places), Decimal(str(high))
    if not low <= number <= top:
        raise ApplicationError(f"{_label(name)} must be between {_plain(low)} and {_plain(top)}; "
                               f"got {_shown(number)}.", field=name)
    return number


def _daily_stop(value) -> Decimal:
    number = _decimal(settings.COHORT_DEFAULTS["daily_stop"] if value is None else value, "daily_stop")
    places = settings.COHORT_RATIO_PLACES
    if _places(number) > places:
        raise ApplicationError(f"The daily stop takes at most {places} decimal places; got {_shown(number)}.",
                               field="daily_stop")
    if not 0 < number < 1:
        raise ApplicationError(f"The daily stop is a fraction of equity strictly between 0 and 1 (0.05 = 5%); "
                               f"got {_shown(number)}.", field="daily_stop")
    return number


def _notes(value) -> str:
    limit = settings.COHORT_NOTES_MAX_CHARS
    if value is None:
        return ""
    if not isinstance(value, str) or CONTROL_RE.search(value):
        raise ApplicationError("Compliance notes must be text without control characters.", field="compliance_notes")
    if len(value) > limit:
        raise ApplicationError(f"Compliance notes take at most {limit:,} characters; got {len(value):,}.",
                               field="compliance_notes")
    return value


def symbol_names(value) -> tuple[str, ...]:
    """Distinct upper-cased symbols, in order, from a list or a comma-separated string."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ApplicationError("Symbols must be a list of symbols, like [\"BTC-USDT\"].", field="symbols")
    limit = settings.COHORT_SYMBOLS_MAX
    if len(items) > limit:
        raise ApplicationError(f"Name at most {limit} symbols; got {len(items):,}.", field="symbols")
    for item in items:
        if not isinstance(item, str):
            raise ApplicationError(f"Symbols must be text, like BTC-USDT; got {_shown(item)}.", field="symbols")
    names = tuple(dict.fromkeys(s.strip().upper() for s in items if s.strip()))
    if not names:
        raise ApplicationError("Name at least one symbol.", field="symbols")
    for name in names:
        if not SYMBOL_RE.fullmatch(name):
            raise ApplicationError(f"Invalid symbol {_shown(name)}: use letters, digits, '.', '-' or '/' "
                                   f"(at most 32 characters).", field="symbols")
    return names


def _window(refusals: _Refusals, start, end) -> tuple[datetime, datetime] | None:
    """Start and end checked each on its own, then together; None when either is refused."""
    start, end = refusals.check(_moment, start, "start"), refusals.check(_moment, end, "end")
    if start is None or end is None:
        return None
    return refusals.check(_span, start, end)


def _span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if end <= start:
        raise ApplicationError("The window must end after it starts.", field="end")
    if end - start > timedelta(days=settings.COHORT_MAX_WINDOW_DAYS):
        raise ApplicationError(f"The window may span at most {settings.COHORT_MAX_WINDOW_DAYS} days.", field="end")
    return start, end


def _moment(value, name: str) -> datetime:
    """An aware UTC datetime from a datetime (naive ones are UTC) or ISO-8601 text, within COHORT_WINDOW_YEARS."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00")) if len(text) <= MAX_DATE_CHARS else None
        except ValueError:
            value = None
        if value is None:
            raise ApplicationError(f"{_label(name)} must be an ISO-8601 date and time, not {_shown(text)}.",
                                   field=name) from None
    if not isinstance(value, datetime):
        raise ApplicationError(f"{_label(name)} must be a date and time.", field=name)
    low, high = settings.COHORT_WINDOW_YEARS
    if not low <= value.year <= high:  # checked before any UTC conversion, which could overflow
        raise ApplicationError(f"{_label(name)} must lie between {low} and {high}; got {value.year}.", field=name)
    return value.astimezone(UTC) if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _bars_check(names: tuple[str, ...], start: datetime, end: datetime) -> None:
    """Refuses a window without COHORT_WINDOW_MIN_BARS bars of every symbol (one query for all)."""
    counts = dict(Bar.objects.filter(instrument__symbol__in=names, ts__gte=start, ts__lt=end)
                  .values_list("instrument__symbol").annotate(n=Count("id")).order_by())
    span = f"between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC"
    empty = [s for s in names if not counts.get(s)]
    if empty:
        raise ApplicationError(f"No bars for {', '.join(empty)} {span}.", field="start")
    least = settings.COHORT_WINDOW_MIN_BARS
    thin = [s for s in names if counts[s] < least]
    if thin:
        raise ApplicationError(f"The window must hold at least {least} bars of every symbol; {', '.join(thin)} "
                               f"has fewer {span}.", field="start")
    window_tradable_check(symbols=names, start=start, end=end)  # in session, per the instruments' calendars


def _live_window_check(names: tuple[str, ...], start: datetime, end: datetime) -> None:
    """A live window still to come needs its bars stored each minute: every symbol marked for ingestion."""
    idle = [i.symbol for i in instruments_by_symbol(list(names)).values() if not i.ingest]
    if idle:
        raise ApplicationError(f"A live cohort trades bars as they are stored each minute; {', '.join(idle)} "
                               f"{'is' if len(idle) == 1 else 'are'} not ingested (mark ingest on the instrument).",
                               field="symbols")


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _shown(value) -> str:
    """A refused value as a message repeats it: short, whatever its size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"  # str() of it may be refused
    text = str(value) if isinstance(value, (int, float, Decimal)) else repr(value)
    return text[:SHOWN_CHARS] + ("…" if len(text) > SHOWN_CHARS else "")
