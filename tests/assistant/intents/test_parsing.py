"""Plain English → intent and arguments: varied wording, number words, currency formats, ids, durations and dates;
ambiguous or malformed sentences are `unknown` (or ask for what is missing) and name what was understood."""
from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from assistant.intents import INTENTS, parse

TODAY = date(2026, 12, 3)
B = "bankroll"

PHRASINGS = [
    # grow: amounts in every format, durations in words and digits, leverage caps
    ("grow $1,000 over 10 days", "grow", {B: "1000.00", "days": 10}),
    ("Grow 1k for a week with max leverage 3", "grow", {B: "1000.00", "days": 7, "max_leverage": "3"}),
    ("grow ten thousand dollars over two weeks at most 3x", "grow", {B: "10000.00", "days": 14, "max_leverage": "3"}),
    ("please grow $2.5k over 14 days", "grow", {B: "2500.00", "days": 14}),
    ("I want to grow five thousand dollars in ten days", "grow", {B: "5000.00", "days": 10}),
    ("compound $500 for 5 days, leverage 2x", "grow", {B: "500.00", "days": 5, "max_leverage": "2"}),
    ("grow 1000 over 10 days", "grow", {B: "1000.00", "days": 10}),
    ("turn $1000 into more over 3 weeks", "grow", {B: "1000.00", "days": 21}),
    ("grow half a thousand over a fortnight", "grow", {B: "500.00", "days": 14}),
    ("grow one thousand five hundred dollars over twelve days max leverage of four", "grow",
     {B: "1500.00", "days": 12, "max_leverage": "4"}),
    ("grow $100,000 for 60 days at most 10x", "grow", {B: "100000.00", "days": 60, "max_leverage": "10"}),
    ("grow $ 750 for 1 week", "grow", {B: "750.00", "days": 7}),
    ("Grow 2,500 USD over 5 days with a max leverage of 2", "grow", {B: "2500.00", "days": 5, "max_leverage": "2"}),
    ("could you grow 3000 bucks across 8 days", "grow", {B: "3000.00", "days": 8}),
    ("grow two and a half thousand dollars over a week", "grow", {B: "2500.00", "days": 7}),
    ("GROW $1,234.56 OVER 3 DAYS", "grow", {B: "1234.56", "days": 3}),
    ("grow 10 grand over 20 days, 5x leverage", "grow", {B: "10000.00", "days": 20, "max_leverage": "5"}),
    ("grow a thousand bucks over a week", "grow", {B: "1000.00", "days": 7}),
    ("grow $800 over 4 days with leverage up to 2.5x", "grow", {B: "800.00", "days": 4, "max_leverage": "2.5"}),
    ("help me grow $5,000 over 30 days", "grow", {B: "5000.00", "days": 30}),
    ("grow 5 000 dollars over 3 days", "grow", {B: "5000.00", "days": 3}),
    ("grow $1000 for 2 weeks starting tomorrow", "grow", {B: "1000.00", "days": 14, "date": "2026-12-04"}),
    # start an intraday cohort
    ("start an intraday cohort with $5,000", "start_cohort", {B: "5000.00"}),
    ("launch a cohort with 2k and 40 agents", "start_cohort", {B: "2000.00", "agents": 40}),
    ("kick off a new cohort with 1500 dollars tomorrow", "start_cohort", {B: "1500.00", "date": "2026-12-04"}),
    ("i'd like to launch a cohort with ten grand", "start_cohort", {B: "10000.00"}),
    ("run a cohort tomorrow with $800", "start_cohort", {B: "800.00", "date": "2026-12-04"}),
    ("on 2021-05-10 start a cohort with $3k", "start_cohort", {B: "3000.00", "date": "2021-05-10"}),
    ("Start intraday run with $1,000 and thirty agents", "start_cohort", {B: "1000.00", "agents": 30}),
    ("spin up a cohort: $600, max leverage 2", "start_cohort", {B: "600.00", "max_leverage": "2"}),
    # what to fund tomorrow
    ("what should I fund tomorrow?", "fund_tomorrow", {"date": "2026-12-04"}),
    ("What to fund tomorrow", "fund_tomorrow", {"date": "2026-12-04"}),
    ("funding for tomorrow", "fund_tomorrow", {"date": "2026-12-04"}),
    ("who should I fund tomorrow", "fund_tomorrow", {"date": "2026-12-04"}),
    ("recommended bankroll for tomorrow", "fund_tomorrow", {"date": "2026-12-04"}),
    ("how should I allocate tomorrow", "fund_tomorrow", {"date": "2026-12-04"}),
    # cohort status
    ("status of cohort 12", "cohort_status", {"cohort": 12}),
    ("how is cohort #12 doing?", "cohort_status", {"cohort": 12}),
    ("cohort 12", "cohort_status", {"cohort": 12}),
    ("status cohort no. 5", "cohort_status", {"cohort": 5}),
    ("what's the status of cohort 5?", "cohort_status", {"cohort": 5}),
    ("cohort #9 status", "cohort_status", {"cohort": 9}),
    ("how is cohort number seven doing", "cohort_status", {"cohort": 7}),
    ("list cohorts", "cohort_status", {}),
    # campaign status
    ("status of campaign 3", "campaign_status", {"campaign": 3}),
    ("how's campaign #4", "campaign_status", {"campaign": 4}),
    ("where is campaign 2 at", "campaign_status", {"campaign": 2}),
    ("campaign 2", "campaign_status", {"campaign": 2}),
    ("how are the campaigns doing", "campaign_status", {}),
    # promotion readiness
    ("is cohort 12 ready for promotion?", "promotion_readiness", {"cohort": 12}),
    ("Is #7 ready to go live?", "promotion_readiness", {"cohort": 7}),
    ("Review Day-3 promotion", "promotion_readiness", {}),
    ("is cohort 5 promotable", "promotion_readiness", {"cohort": 5}),
    ("day 3 review for cohort 4", "promotion_readiness", {"cohort": 4}),
    ("can cohort 3 go live?", "promotion_readiness", {"cohort": 3}),
    ("promotion readiness of cohort twenty", "promotion_readiness", {"cohort": 20}),
    ("is cohort 12 ready", "promotion_readiness", {"cohort": 12}),
    # bankroll summary
    ("bankroll summary", "bankroll_summary", {}),
    ("how much cash do we have", "bankroll_summary", {}),
    ("what's my pnl this week", "bankroll_summary", {}),
    ("show the bankroll for the last 7 days", "bankroll_summary", {"days": 7}),
    ("weekly bankroll summary", "bankroll_summary", {}),
    ("how much money is in the bankroll", "bankroll_summary", {}),
    # pending approvals
    ("pending approvals", "pending_approvals", {}),
    ("what needs my signature?", "pending_approvals", {}),
    ("show pending approvals", "pending_approvals", {}),
    ("anything waiting for my approval?", "pending_approvals", {}),
    ("what is awaiting sign-off", "pending_approvals", {}),
    # help
    ("help", "help", {}),
    ("what can you do?", "help", {}),
    ("?", "help", {}),
    ("HELP", "help", {}),
    ("give me some examples", "help", {}),
]


@pytest.mark.parametrize(("text", "intent", "arguments"), PHRASINGS, ids=[p[0][:40] for p in PHRASINGS])
def test_a_phrasing_maps_to_its_intent_and_arguments(text, intent, arguments):
    heard = parse(text, today=TODAY)
    assert (heard.intent, heard.arguments, heard.missing) == (intent, arguments, ())
    assert heard.confidence >= 0.7


def test_the_table_covers_every_intent_but_unknown_with_at_least_60_phrasings():
    assert len(PHRASINGS) >= 60
    assert {p[1] for p in PHRASINGS} == set(INTENTS) - {"unknown"}


UNCLEAR = [
    ("", "nothing to read"),
    ("   ", "nothing to read"),
    ("x" * 501, "longer than 500"),
    ("asdf qwerty", "did not recognise"),
    ("hello", "did not recognise"),
    ("launch", "did not recognise"),
    ("fund", "did not recognise"),
    ("grow $1000 and start a cohort with $2000", "more than one request"),
    ("grow $1,000 over 10 days or $2,000", "two different values for amount"),
    ("grow $1,000 over 10 days and 2 weeks", "two different values for duration"),
    ("start a cohort with $1,000 and another with $2,000", "two different values for amount"),
    ("status of cohort 3 and cohort 4", "two different values for cohort"),
    ("grow -$500 over 10 days", "never negative"),
    ("grow $1,000 over -3 days", "never negative"),
    ("start a cohort with minus 500 dollars", "never negative"),
    ("start a cohort with $1,000 and grow $500 over 3 days", "more than one request"),
    ("bankroll summary and pending approvals", "more than one request"),
]
MISSING = [
    ("grow $1000", ("days",)),
    ("grow my money", ("bankroll", "days")),
    ("Start an intraday cohort", ("bankroll",)),
    ("grow over ten days", ("bankroll",)),
]


@pytest.mark.parametrize(("text", "problem"), UNCLEAR, ids=[u[0][:30] or "empty" for u in UNCLEAR])
def test_an_unclear_sentence_is_unknown_and_says_why(text, problem):
    heard = parse(text, today=TODAY)
    assert heard.intent == "unknown" and not heard.is_actionable
    assert problem in heard.problem


@pytest.mark.parametrize(("text", "missing"), MISSING)
def test_an_action_without_its_amount_or_days_asks_for_them(text, missing):
    heard = parse(text, today=TODAY)
    assert heard.missing == missing and not heard.is_actionable


def test_what_was_understood_is_repeated_in_words():
    heard = parse("grow $1,000 over 10 days or $2,000", today=TODAY)
    assert "10 days" in heard.understood and "an amount of $1,000.00" in heard.understood


def test_the_parser_imports_no_django():
    """assistant/intents/ is pure: only the standard library and text2num."""
    root = Path(__file__).resolve().parents[3] / "assistant" / "intents"
    allowed = {"__future__", "re", "dataclasses", "datetime", "decimal", "typing", "text_to_num", "assistant"}
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] in allowed, (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in allowed for a in node.names), path.name
