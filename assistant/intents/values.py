"""The values inside a sentence: amounts, durations, ids, dates, leverage and agent counts.

Each finder takes normalised text (lower case, number words already digits) and returns every value it found,
so the caller can tell one value from two contradictory ones."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

NUMBER = r"(?:\d{1,3}(?:,\d{3}){1,4}|\d{1,15})(?:\.\d{1,8})?(?!\d)|\.\d{1,8}(?!\d)"  # at most 15 digits before the point
SCALES = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 1_000_000, "mm": 1_000_000, "million": 1_000_000}
SCALE = r"(?:k|thousand|grand|mm|m|million)\b"
CURRENCY = r"(?:dollars?|usd|bucks)\b"
# "$1,000", "$ 2.5k", "1k", "5 000 dollars", "10 grand", "usd 300"
AMOUNT_RES = [
    re.compile(rf"(?:\$|usd\s)\s*(?P<n>{NUMBER})\s*(?P<s>{SCALE})?"),
    re.compile(rf"(?<![\w.#$])(?P<n>{NUMBER})\s*(?P<s>{SCALE})?\s*{CURRENCY}"),
    re.compile(rf"(?<![\w.#$])(?P<n>{NUMBER})\s*(?P<s>k|grand)\b"),
]
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "wk": 7, "wks": 7, "fortnight": 14, "fortnights": 14,
         "month": 30, "months": 30}
DURATION_RE = re.compile(r"(?<![\w.])(?P<n>\d+|an?)\s*(?:trading\s+|more\s+)?(?P<u>days?|weeks?|wks?|fortnights?|months?)\b")
DURATION_WORD_RE = re.compile(r"\b(?:a|one)?\s*fortnight\b")
COHORT_RE = re.compile(r"\bcohorts?\s*(?:#|no\.?|number|id)?\s*(?P<n>\d+)\b")
CAMPAIGN_RE = re.compile(r"\bcampaigns?\s*(?:#|no\.?|number|id)?\s*(?P<n>\d+)\b")
HASH_RE = re.compile(r"(?<![\w])#\s?(?P<n>\d+)\b")
ISO_DATE_RE = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}
LEVERAGE_RES = [
    re.compile(rf"\b(?:max(?:imum)?|at\s+most|up\s+to|no\s+more\s+than|cap(?:ped)?(?:\s+at)?|limit(?:ed)?(?:\s+to)?)"
               rf"\s+(?:a\s+)?(?:leverage\s+)?(?:of\s+)?(?P<n>{NUMBER})\s*(?:x|×|times)"),
    re.compile(rf"\b(?:max(?:imum)?\s+)?leverage\s*(?:of|at|to|=|:|cap|capped\s+at|up\s+to|at\s+most|max(?:imum)?)?\s*"
               rf"(?:of\s+)?(?P<n>{NUMBER})\s*(?:x|×|times)?"),
    re.compile(rf"(?<![\w.$])(?P<n>{NUMBER})\s*(?:x|×)\s*(?:max\s+)?(?:leverage|lev)\b"),
    re.compile(rf"\b(?:max(?:imum)?|at\s+most|up\s+to)\s+(?P<n>{NUMBER})\s*(?:x|×)(?!\w)"),
]
AGENTS_RE = re.compile(r"(?<![\w.])(?P<n>\d+)\s+(?:agents?|bots?|traders?)\b")


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def amounts(text: str) -> list[Decimal]:
    """Every dollar amount, in order of appearance, without repeats of the same place."""
    found: dict[int, Decimal] = {}
    taken: list[range] = []
    for pattern in AMOUNT_RES:
        for match in pattern.finditer(text):
            if any(match.start() in span for span in taken):
                continue
            number = _number(match["n"])
            if number is None:
                continue
            scale = SCALES.get((match["s"] or "").strip(), 1)
            found[match.start()] = number * scale
            taken.append(range(match.start(), match.end()))
    return [found[k] for k in sorted(found)]


def durations(text: str) -> list[int]:
    """Every duration, in days ("a week" is 7, "2 weeks" 14, "a fortnight" 14)."""
    found = []
    for match in DURATION_RE.finditer(text):
        count = 1 if match["n"] in ("a", "an") else int(match["n"])
        found.append(count * UNITS[match["u"]])
    if not found and DURATION_WORD_RE.search(text):
        found.append(14)
    return found


def _ids(pattern: re.Pattern, text: str) -> list[int]:
    return list(dict.fromkeys(int(m["n"]) for m in pattern.finditer(text)))


def cohort_ids(text: str) -> list[int]:
    return _ids(COHORT_RE, text)


def campaign_ids(text: str) -> list[int]:
    return _ids(CAMPAIGN_RE, text)


def hash_ids(text: str) -> list[int]:
    """Bare "#12" ids, not already named as a cohort or campaign."""
    named = {m.start("n") for p in (COHORT_RE, CAMPAIGN_RE) for m in p.finditer(text)}
    return list(dict.fromkeys(int(m["n"]) for m in HASH_RE.finditer(text) if m.start("n") not in named))


def dates(text: str, today: date) -> list[date]:
    """"today", "tomorrow", "yesterday" (relative to `today`) and ISO dates, in order."""
    found: dict[int, date] = {}
    for word, shift in RELATIVE_DAYS.items():
        for match in re.finditer(rf"\b{word}\b", text):
            found[match.start()] = today + timedelta(days=shift)
    for match in ISO_DATE_RE.finditer(text):
        try:
            found[match.start()] = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            continue
    return list(dict.fromkeys(found[k] for k in sorted(found)))


def leverages(text: str) -> list[Decimal]:
    """Every leverage cap named ("max leverage 3", "at most 3x", "3x leverage")."""
    found: dict[int, Decimal] = {}
    for pattern in LEVERAGE_RES:
        for match in pattern.finditer(text):
            number = _number(match["n"])
            if number is not None and not any(abs(match.start("n") - at) < 2 for at in found):
                found[match.start("n")] = number
    return list(dict.fromkeys(found[k] for k in sorted(found)))


def agent_counts(text: str) -> list[int]:
    return list(dict.fromkeys(int(m["n"]) for m in AGENTS_RE.finditer(text)))
