"""From a sentence to one intent and its arguments.

Words first become digits (text2num's `alpha2digit`: "ten thousand" → 10000, "two weeks" → 2 weeks), then each
intent's cue phrases are looked for. One intent must stand out: two action intents at once, an action without
its amount, or two different values for one argument give `unknown` with what was understood, never a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from text_to_num import alpha2digit

from assistant.intents import values

INTENTS = ("start_cohort", "grow", "fund_tomorrow", "cohort_status", "campaign_status", "promotion_readiness",
           "bankroll_summary", "pending_approvals", "help", "unknown")
MONEY_MOVING = ("start_cohort", "grow")  # these answer with a confirmation, never act at once
MAX_CHARS = 500

# Cue phrases per intent (on normalised text). An intent is heard when one of its cues matches.
CUES: dict[str, list[str]] = {
    "grow": [r"\bgrow(?:ing|th)?\b", r"\bcompound(?:ing)?\b", r"\bturn\b.*\binto\b", r"\bmultiply\b",
             r"\bbuild (?:up|it up)\b"],
    "start_cohort": [r"\b(?:start|launch|run|begin|kick off|spin up|fire up|open|create|new)\b.{0,40}\bcohort\b",
                     r"\b(?:start|launch|run|begin|kick off|spin up|fire up|create)\b.{0,40}\bintraday\b",
                     r"\bintraday (?:cohort|run|session)\b", r"\bnew cohort\b"],
    "fund_tomorrow": [r"\bfund(?:ing)?\b.{0,30}\b(?:tomorrow|next|today)\b", r"\bwhat should i fund\b",
                      r"\b(?:tomorrow|next day)'?s? (?:funding|allocation|bankroll)\b",
                      r"\b(?:allocate|allocation|back|bet on)\b.{0,30}\btomorrow\b", r"\bwho should i fund\b",
                      r"\bwhat (?:to|should i) (?:fund|back)\b", r"\brecommend(?:ed)? (?:bankroll|allocation|funding)\b"],
    "promotion_readiness": [r"\bpromot(?:e|ed|ion|able)\b", r"\bready\b.{0,20}\b(?:to go live|for live|live)\b",
                            r"\bday[- ]?3\b", r"\breadiness\b", r"\bgo[- ]live\b", r"\bgo ?/ ?no[- ]go\b"],
    "cohort_status": [r"\bcohorts?\b"],  # weak: any mention of a cohort, when nothing stronger is heard
    "campaign_status": [r"\bcampaigns?\b"],  # weak, like cohort_status
    "bankroll_summary": [r"\bbankroll\b", r"\bcash\b", r"\b(?:pnl|p&l|p and l|profit and loss)\b",
                         r"\bhow much (?:money|cash|capital)\b", r"\bdrawn\b.{0,20}\breturned\b", r"\bbalance\b"],
    "pending_approvals": [r"\bapprov(?:al|als|e|ed)\b", r"\bsign(?:atures?|-?off|off)?\b.{0,30}\b(?:pending|need|waiting|await)",
                          r"\b(?:pending|waiting|awaiting|need(?:s|ing)?)\b.{0,30}\bsign", r"\bsign-?offs?\b",
                          r"\bwaiting (?:on|for) me\b", r"\bmy signature\b"],
    "help": [r"^\s*(?:help|\?|h)\s*[.!?]*\s*$", r"\bwhat can you do\b", r"\bhelp\b", r"\bcommands?\b",
             r"\bhow do i\b", r"\bwhat do you (?:do|understand)\b", r"\bexamples?\b"],
}
WEAK = ("cohort_status", "campaign_status", "help")
# A stronger intent silences these (a readiness question names a cohort; a grow plan says "bankroll").
SILENCES = {
    "promotion_readiness": {"cohort_status", "campaign_status", "pending_approvals"},
    "start_cohort": {"cohort_status", "bankroll_summary"},
    "grow": {"bankroll_summary", "campaign_status", "cohort_status"},
    "fund_tomorrow": {"bankroll_summary", "cohort_status", "pending_approvals"},
    "bankroll_summary": {"cohort_status", "campaign_status"},
    "pending_approvals": {"cohort_status", "campaign_status"},
    "campaign_status": {"cohort_status"},
}
STATUS_WORDS = re.compile(r"\b(?:status|how(?:'s| is| are)|doing|progress|state|show|tell me about|update|where)\b")
QUESTION_WORDS = re.compile(r"^\s*(?:is|are|can|could|should|will|would|did|does|do)\b")
NEGATIVE = re.compile(r"(?<![\w-])(?:-|minus |negative )\s*\$?\d")
EVERY_ID = re.compile(r"(?<![\w.,$])\d+(?:\.\d+)?(?![\w.,])")


@dataclass(frozen=True)
class Intent:
    """What a sentence asks: `intent` (one of INTENTS), `arguments` (JSON-ready: amounts as decimal strings,
    dates as ISO text), `confidence` 0–1, `missing` (required arguments not given) and `understood` (what was
    read, in words, so an answer can repeat it)."""

    intent: str
    arguments: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.0
    missing: tuple[str, ...] = ()
    understood: tuple[str, ...] = ()
    problem: str = ""  # why the sentence was not clear enough, for `unknown`

    @property
    def is_actionable(self) -> bool:
        return self.intent not in ("unknown", "help") and not self.missing


def normalise(text: str) -> str:
    """Lower case, plain quotes and dashes, number words as digits ("a week" stays words; `values` reads it)."""
    text = text.strip().lower().replace("’", "'").replace("–", "-").replace("—", "-").replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text)
    try:
        text = alpha2digit(text, "en", threshold=0)
    except Exception:  # noqa: BLE001  (a parser fault must not become a server error; words stay words)
        pass
    # what alpha2digit leaves of scales: "half a 1000", "2 and a half 1000", "a 1000", "2.5 1000", "5 000"
    text = re.sub(r"\bhalf an? (1000|1000000)\b", lambda m: str(int(m[1]) // 2), text)
    text = re.sub(r"(?<![\d.])(\d{1,12}(?:\.\d{1,6})?) and a half (1000|1000000)\b",
                  lambda m: f"{Decimal(m[1]) * int(m[2]) + int(m[2]) // 2}", text)
    text = re.sub(r"\ban? (1000|1000000)\b", r"\1", text)
    text = re.sub(r"(?<![\d.])(\d{1,12}(?:\.\d{1,6})?) (1000|1000000)\b", lambda m: f"{Decimal(m[1]) * int(m[2]):f}", text)
    return re.sub(r"(\d) (\d{3})\b(?! ?(?:days?|weeks?))", r"\1\2", text)  # "5 000" → "5000"


def parse(text: str, *, today: date) -> Intent:
    """The intent of `text` (at most MAX_CHARS characters; longer or empty text is `unknown`)."""
    if not isinstance(text, str) or not text.strip():
        return Intent("unknown", problem="There was nothing to read.")
    if len(text) > MAX_CHARS:
        return Intent("unknown", problem=f"That is longer than {MAX_CHARS} characters.")
    plain = normalise(text)
    try:
        found = _Found.read(plain, today)
    except ArithmeticError:  # a number beyond what an amount or an id can be
        return Intent("unknown", problem="A number in it is too large to be an amount, a duration or an id.")
    heard = _heard(plain, found)
    if not heard:
        return Intent("unknown", understood=found.understood(), problem="I did not recognise a request.")
    if len(heard) > 1:
        names = " and ".join(n.replace("_", " ") for n in heard)
        return Intent("unknown", understood=found.understood(), problem=f"I heard more than one request ({names}).")
    intent = heard[0]
    if found.is_negative and intent in MONEY_MOVING:
        return Intent("unknown", arguments={"intent": intent}, understood=found.understood(),
                      problem="Amounts, days and leverage are never negative.")
    if found.conflicts:
        return Intent("unknown", arguments={"intent": intent}, understood=found.understood(),
                      problem=f"I read two different values for {', '.join(found.conflicts)}.")
    return _build(intent, found)


def _heard(plain: str, found: _Found) -> list[str]:
    heard = {name for name, cues in CUES.items() if any(re.search(c, plain) for c in cues)}
    if "cohort_status" in heard and "promotion_readiness" not in heard and QUESTION_WORDS.search(plain) \
            and re.search(r"\bready\b", plain):
        heard.add("promotion_readiness")  # "is cohort 12 ready?"
    if found.cohort is None and "cohort_status" in heard and not STATUS_WORDS.search(plain) \
            and not re.search(r"\bcohorts\b", plain):
        heard.discard("cohort_status")  # "cohort" alone, without an id or a status word, asks nothing
    if found.campaign is None and "campaign_status" in heard and not STATUS_WORDS.search(plain) \
            and not re.search(r"\bcampaigns\b", plain):
        heard.discard("campaign_status")
    for strong, silenced in SILENCES.items():
        if strong in heard:
            heard -= silenced
    if heard - set(WEAK):
        heard -= {"help"}
    if {"cohort_status", "campaign_status"} <= heard:
        heard.discard("cohort_status")
    return sorted(heard, key=INTENTS.index)


class _Found:
    """Every value in the sentence; `conflicts` names the arguments given two different values."""

    def __init__(self) -> None:
        self.conflicts: list[str] = []
        self.bankroll = self.days = self.leverage = self.cohort = self.campaign = self.agents = self.day = None
        self.hash_id: int | None = None
        self.is_negative = False

    @classmethod
    def read(cls, plain: str, today: date) -> _Found:
        found = cls()
        found.bankroll = found._one("amount", values.amounts(plain))
        found.days = found._one("duration", values.durations(plain))
        found.leverage = found._one("max leverage", values.leverages(plain))
        found.cohort = found._one("cohort", values.cohort_ids(plain))
        found.campaign = found._one("campaign", values.campaign_ids(plain))
        found.hash_id = found._one("id", values.hash_ids(plain))
        found.agents = found._one("agents", values.agent_counts(plain))
        found.day = found._one("date", values.dates(plain, today))
        found.is_negative = bool(NEGATIVE.search(plain))
        if found.bankroll is None:
            found.bankroll = found._loose_amount(plain)
        return found

    def _one(self, name: str, items: list):
        if len(set(items)) > 1:
            self.conflicts.append(name)
        return items[0] if items else None

    def _loose_amount(self, plain: str) -> Decimal | None:
        """A bare number ("grow 1000 over 10 days") that is nothing else read: an amount only if it is the only one
        and at least 50 (fewer is never a bankroll here)."""
        rest = plain
        for pattern in (values.DURATION_RE, values.COHORT_RE, values.CAMPAIGN_RE, values.HASH_RE, values.AGENTS_RE,
                        values.ISO_DATE_RE, *values.LEVERAGE_RES):
            rest = pattern.sub(" ", rest)
        numbers = [Decimal(n) for n in EVERY_ID.findall(rest)]
        return numbers[0] if len(numbers) == 1 and numbers[0] >= 50 else None

    def understood(self) -> tuple[str, ...]:
        said = []
        if self.bankroll is not None:
            said.append(f"an amount of ${self.bankroll:,.2f}")
        if self.days is not None:
            said.append(f"{self.days} day{'s' if self.days != 1 else ''}")
        if self.leverage is not None:
            said.append(f"at most {self.leverage:g}× leverage")
        if self.cohort is not None:
            said.append(f"cohort {self.cohort}")
        if self.campaign is not None:
            said.append(f"campaign {self.campaign}")
        if self.hash_id is not None:
            said.append(f"#{self.hash_id}")
        if self.agents is not None:
            said.append(f"{self.agents} agents")
        if self.day is not None:
            said.append(f"the date {self.day.isoformat()}")
        return tuple(said)


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}" if amount == amount.quantize(Decimal("0.01")) else str(amount)


REQUIRED = {"start_cohort": ("bankroll",), "grow": ("bankroll", "days")}


def _build(intent: str, found: _Found) -> Intent:
    args: dict[str, Any] = {}
    if intent in ("start_cohort", "grow"):
        if found.bankroll is not None:
            args["bankroll"] = _money(found.bankroll)
        if found.leverage is not None:
            args["max_leverage"] = str(found.leverage)
        if found.day is not None:
            args["date"] = found.day.isoformat()
    if intent == "grow" and found.days is not None:
        args["days"] = found.days
    if intent == "start_cohort" and found.agents is not None:
        args["agents"] = found.agents
    if intent in ("cohort_status", "promotion_readiness"):
        cohort = found.cohort if found.cohort is not None else found.hash_id
        if cohort is not None:
            args["cohort"] = cohort
    if intent == "campaign_status":
        campaign = found.campaign if found.campaign is not None else found.hash_id
        if campaign is not None:
            args["campaign"] = campaign
    if intent == "bankroll_summary" and found.days is not None:
        args["days"] = found.days
    if intent == "fund_tomorrow" and found.day is not None:
        args["date"] = found.day.isoformat()
    missing = tuple(name for name in REQUIRED.get(intent, ()) if name not in args)
    confidence = 0.5 if missing else (0.7 if intent in WEAK else 0.95)
    return Intent(intent, arguments=args, confidence=confidence, missing=missing, understood=found.understood())
