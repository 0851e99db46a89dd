"""The assistant's answers: a sentence becomes an intent (assistant.intents), the intent a read or, for money,
a signed confirmation; only `ask_confirm` acts, through the same services as the API and the pages.

A confirmation is a token signed with the site's key (django.core.signing) naming the action, its arguments, the
user and a random request key; it lasts ASSISTANT_CONFIRM_SECONDS. The request key makes a second confirmation
of the same token answer the first result instead of acting again.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from assistant.intents import MONEY_MOVING, Intent, parse
from assistant.intents.parser import MAX_CHARS
from assistant.selectors.approvals import pending_approvals
from assistant.selectors.bankroll import bankroll_summary
from assistant.selectors.funding import fund_tomorrow
from assistant.selectors.readiness import promotion_readiness
from assistant.selectors.status import campaign_status, cohort_status, cohorts_status
from assistant.services.grow import GrowForbidden, grow_input, grow_prerequisites_check, grow_start
from cohorts.models import Bar, Cohort
from cohorts.selectors.market import symbols_with_bars
from cohorts.services.cohorts import cohort_launch
from cohorts.services.inputs import LaunchInput, cohort_input
from neolight.errors import ApplicationError
from neolight.formats import money, percent

SALT = "assistant.confirm"
EXAMPLES = {
    "start_cohort": "start an intraday cohort with $5,000",
    "grow": "grow $1,000 over 10 days at most 3x",
    "fund_tomorrow": "what should I fund tomorrow?",
    "cohort_status": "status of cohort 12",
    "campaign_status": "how is campaign 3 doing?",
    "promotion_readiness": "is cohort 12 ready for promotion?",
    "bankroll_summary": "bankroll summary",
    "pending_approvals": "pending approvals",
}
WHAT = {
    "start_cohort": "start an intraday cohort (a day of stored bars)",
    "grow": "grow a bankroll over N days, with a day-by-day plan",
    "fund_tomorrow": "say what to fund tomorrow",
    "cohort_status": "give a cohort's status",
    "campaign_status": "give a campaign's status",
    "promotion_readiness": "check a cohort's Day-3 promotion readiness",
    "bankroll_summary": "summarise the bankroll over 7 days",
    "pending_approvals": "list promotion requests awaiting signatures",
}


class ConfirmRefused(ApplicationError):
    """A confirmation token that is bad, expired or someone else's."""


@dataclass
class Answer:
    intent: str
    arguments: dict[str, Any]
    answer: str
    needs_confirmation: bool = False
    confirm: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def text_check(text) -> str:
    """The question's text, or ApplicationError on `text` (not text, empty, or longer than MAX_CHARS)."""
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError("Ask something in plain words, for example “help”.", field="text")
    if len(text) > MAX_CHARS:
        raise ApplicationError(f"Ask in at most {MAX_CHARS} characters; this is {len(text):,}.", field="text")
    return text


def ask(*, user, text: str, today: date | None = None) -> Answer:
    """Answers `text` for `user`: reads answer at once; money-moving intents answer with what would happen and
    a confirmation token (nothing is written). Bad text is an ApplicationError on `text`."""
    intent = parse(text_check(text), today=today or timezone.now().astimezone(UTC).date())
    if intent.intent == "unknown":
        return Answer("unknown", intent.arguments, _unknown_text(intent))
    if intent.intent == "help":
        return Answer("help", {}, help_text())
    if intent.missing:
        return Answer(intent.intent, intent.arguments, _missing_text(intent))
    try:
        if intent.intent in MONEY_MOVING:
            return _propose(intent, user)
        return READS[intent.intent](intent.arguments, user)
    except Http404:
        return Answer(intent.intent, intent.arguments, f"I found no {_subject(intent)} you may see.")
    except ApplicationError as exc:
        return Answer(intent.intent, intent.arguments, f"I cannot do that: {exc.message}")


# --- words --------------------------------------------------------------------------------------------
def help_text() -> str:
    lines = [f"• {WHAT[name]} — “{example}”" for name, example in EXAMPLES.items()]
    return "I can:\n" + "\n".join(lines) + "\nAnything that moves money waits for your Confirm."


def _unknown_text(intent: Intent) -> str:
    heard = f" I understood {', '.join(intent.understood)}." if intent.understood else ""
    return (f"I'm not sure what you'd like: {intent.problem}{heard} Nothing was done. Try “{EXAMPLES['grow']}”, "
            f"“{EXAMPLES['cohort_status']}” or “help” for everything I can do.")


def _missing_text(intent: Intent) -> str:
    asks = {"bankroll": "how much (an amount such as $1,000)", "days": "over how many days (such as 10 days)"}
    heard = f" I understood {', '.join(intent.understood)}." if intent.understood else ""
    wanted = " and ".join(asks[m] for m in intent.missing)
    return f"To {WHAT[intent.intent]}, tell me {wanted}.{heard} For example: “{EXAMPLES[intent.intent]}”."


def _subject(intent: Intent) -> str:
    for name in ("cohort", "campaign"):
        if name in intent.arguments:
            return f"{name} {intent.arguments[name]}"
    return "such item"


def _pct(value) -> str:
    return percent(value, 2, plus=True) if value is not None else "—"


# --- reads ----------------------------------------------------------------------------------------------
def _cohort_status(args: dict, user) -> Answer:
    if "cohort" not in args:
        rows = cohorts_status(user=user, limit=5)
        if not rows:
            return Answer("cohort_status", args, "There are no cohorts yet. Try “start an intraday cohort with $1,000”.",
                          data={"cohorts": []})
        lines = [_cohort_line(r) for r in rows]
        return Answer("cohort_status", args, "Latest cohorts:\n" + "\n".join(lines), data={"cohorts": rows})
    row = cohort_status(user=user, cohort_id=args["cohort"])
    return Answer("cohort_status", args, _cohort_line(row), data={"cohort": row})


def _cohort_line(row: dict) -> str:
    if row["status"] == "completed":
        return (f"Cohort {row['id']} completed: {money(row['bankroll'])} → {money(row['final_equity'])} "
                f"({_pct(row['roi'])}), max drawdown {percent(row['max_drawdown'])}, {row['agents']} agents.")
    reason = f" ({row['reason']})" if row["reason"] else ""
    return (f"Cohort {row['id']} is {row['status']}{reason}: {money(row['bankroll'])} on {row['agents']} agents, "
            f"{row['progress']}% done.")


def _campaign_status(args: dict, user) -> Answer:
    report = campaign_status(user=user, campaign_id=args.get("campaign"))
    if report is None:
        return Answer("campaign_status", args, "There are no campaigns yet. Try “grow $1,000 over 10 days”.")
    latest = f", latest equity {money(report['final_equity'])} ({_pct(report['roi'])})" if report["final_equity"] else ""
    text = (f"Campaign {report['campaign']} is {report['status']}: {money(report['bankroll'])} over {report['days']} "
            f"days from {report['start']}, {report['days_done']} of {report['days']} days done{latest}.")
    return Answer("campaign_status", args, text, data={"campaign": report})


def _readiness(args: dict, user) -> Answer:
    report = promotion_readiness(user=user, cohort_id=args.get("cohort"))
    if report["cohort"] is None:
        return Answer("promotion_readiness", args, "No cohort has been weighed for promotion yet: the Day-3 go/no-go "
                      f"weighs campaign days from day {settings.PROMOTION_DAY} on.", data={"readiness": report})
    head = {"not_weighed": "has not been weighed for promotion yet", "not_finished": "has not finished yet",
            "not_eligible": "is not ready: a guard rail failed", "eligible": "passed every guard rail, no request yet",
            "awaiting_signatures": "is awaiting signatures", "approved": "was approved",
            "rejected": "was rejected", "expired": "had its request expire", "cancelled": "had its request cancelled"}
    lines = [f"Cohort {report['cohort']} {head.get(report['verdict'], report['verdict'])}."]
    lines += [f"{'✓' if c['passed'] else '✗'} {c['name'].replace('_', ' ')}: {_figure(c['value'])} "
              f"{c['comparison']} {_figure(c['threshold'])}" for c in report["checks"]]
    lines += [f"{'→' if s['is_next'] else '·'} {s['role']}: {s['state']}{' by ' + s['user'] if s['user'] else ''}"
              for s in report["chain"]]
    return Answer("promotion_readiness", args, "\n".join(lines), data={"readiness": report})


def _figure(value) -> str:
    return "—" if value is None else f"{value:,.4g}"


def _bankroll(args: dict, user) -> Answer:
    summary = bankroll_summary(days=min(int(args.get("days") or 7), 60))
    lines = [f"{d['date']}: drawn {money(d['drawn'])}, returned {money(d['returned'])}, PnL {money(d['pnl'])}"
             for d in summary["days"]]
    totals = summary["totals"]
    text = (f"Bankroll “{summary['bankroll']}”: {money(summary['cash'])} cash now, {money(summary['at_work'])} at work.\n"
            + "\n".join(lines) + f"\nOver {len(lines)} days: drawn {money(totals['drawn'])}, returned "
            f"{money(totals['returned'])}, PnL {money(totals['pnl'])}.")
    return Answer("bankroll_summary", args, text, data={"bankroll": summary})


def _approvals(args: dict, user) -> Answer:
    report = pending_approvals(user=user)
    if not report["requests"]:
        return Answer("pending_approvals", args, "No promotion request is awaiting signatures.", data={"approvals": report})
    lines = [f"Request {r['id']} (cohort {r['cohort']}, agent {r['agent']}, {money(r['allocation'])}): waiting for "
             f"{r['waiting_for'] or '—'}; " + ("you can sign it now." if not r["blocked_by"] else f"{r['blocked_by']}.")
             for r in report["requests"]]
    return Answer("pending_approvals", args, f"{len(lines)} awaiting signatures, {report['signable']} yours to sign:\n"
                  + "\n".join(lines), data={"approvals": report})


def _fund(args: dict, user) -> Answer:
    report = fund_tomorrow(user=user)
    lines = []
    if report["outcomes"]:
        lines.append("Recent cohorts: " + "; ".join(f"{o['id']}: {money(o['bankroll'])} → {money(o['final_equity'])} "
                                                    f"({_pct(o['roi'])})" for o in report["outcomes"]) + ".")
    else:
        lines.append("No cohort has completed yet: nothing to learn from.")
    allocation = report["allocation"]
    if allocation:
        lines.append(f"The capital governor would split cohort {allocation['cohort']}'s {money(allocation['total'])} "
                     f"as: " + "; ".join(f"{f['family']} {money(f['current'])} → {money(f['proposed'])}"
                                         for f in allocation["families"]) + f"; {money(allocation['cash'])} in cash.")
        lines += [f"  agent {a['agent']} ({a['family']}): {money(a['proposed'])} — {a['reason']}"
                  for a in allocation["agents"][:5]]
    pending = report["approvals"]["requests"]
    lines.append(f"{len(pending)} promotion request{'s' if len(pending) != 1 else ''} awaiting signatures"
                 + (": " + "; ".join(f"{r['id']} waits for {r['waiting_for']}" + (f" ({r['blocked_by']})" if r["blocked_by"] else "")
                                     for r in pending) if pending else "") + ".")
    return Answer("fund_tomorrow", args, "\n".join(lines), data={"fund": report})


READS = {"cohort_status": _cohort_status, "campaign_status": _campaign_status, "promotion_readiness": _readiness,
         "bankroll_summary": _bankroll, "pending_approvals": _approvals, "fund_tomorrow": _fund}


# --- actions: proposed by `ask`, done by `ask_confirm` ----------------------------------------------------
def _propose(intent: Intent, user) -> Answer:
    args = intent.arguments
    if intent.intent == "grow":
        if not user.has_perm("knowledge.add_campaign"):
            raise GrowForbidden("you may not start campaigns.")
        data = grow_input(bankroll=args["bankroll"], days=args["days"], max_leverage=args.get("max_leverage"))
        start = grow_prerequisites_check(data=data, user=user)
        text = (f"Grow {money(data.bankroll)} over {data.days} days at most {data.max_leverage:g}× leverage: I'll start "
                f"a replay campaign on the latest {data.days} days of stored bars (from {start.isoformat()}), with a "
                f"learning cycle after each day and the Day-3 review on day {settings.PROMOTION_DAY}. Confirm to start.")
    else:
        if not user.has_perm("cohorts.add_cohort"):
            raise ApplicationError("you may not launch cohorts.")
        launch = start_cohort_input(args)
        text = (f"Start an intraday cohort of {launch.agents} agents with {money(launch.bankroll)} on "
                f"{', '.join(launch.symbols)}, trading {launch.start:%Y-%m-%d} (UTC) from stored bars, at most "
                f"{launch.leverage_ceiling:g}× leverage per agent. Confirm to launch.")
    token = signing.dumps({"a": intent.intent, "args": args, "u": user.pk, "k": uuid.uuid4().hex}, salt=SALT)
    return Answer(intent.intent, args, text, needs_confirmation=True, confirm=token)


def start_cohort_input(args: dict) -> LaunchInput:
    """An intraday cohort's launch: the day `date` (else the latest day with stored bars), every symbol with bars
    that day, checked by `cohort_input` like every other launch."""
    day = date.fromisoformat(args["date"]) if args.get("date") else _latest_bar_day()
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    symbols = symbols_with_bars(start=start, end=end)
    if not symbols:
        raise ApplicationError(f"No bars are stored for {day.isoformat()}: name a day with bars, e.g. "
                               f"“start a cohort with $1,000 on {_latest_bar_day().isoformat()}”.", field="date")
    return cohort_input(bankroll=args["bankroll"], agents=args.get("agents"), symbols=symbols, start=start, end=end,
                        leverage_ceiling=args.get("max_leverage"))


def _latest_bar_day() -> date:
    last = Bar.objects.aggregate(last=Max("ts"))["last"]
    if last is None:
        raise ApplicationError("No bars are stored: load market data before starting a cohort.", field="date")
    return last.astimezone(UTC).date()


def ask_confirm(*, user, token) -> Answer:
    """Performs the action a confirmation token names, for the user it was issued to, once: a second
    confirmation of the same token answers what the first did. ConfirmRefused (on `token`) for a token that is
    bad, expired or someone else's; the action's own refusals (permission, limits, bounds) as ApplicationError."""
    if not isinstance(token, str) or not token:
        raise ConfirmRefused("Send the `confirm` token the answer gave.", field="token")
    try:
        claim = signing.loads(token, salt=SALT, max_age=settings.ASSISTANT_CONFIRM_SECONDS)
    except signing.SignatureExpired:
        raise ConfirmRefused("This confirmation has expired: ask again.", field="token") from None
    except signing.BadSignature:
        raise ConfirmRefused("This is not a confirmation I gave.", field="token") from None
    if claim.get("u") != user.pk:
        raise ConfirmRefused("This confirmation was given to someone else.", field="token")
    action, args, key = claim["a"], claim["args"], claim["k"]
    if action == "grow":
        grown = grow_start(data=grow_input(bankroll=args["bankroll"], days=args["days"],
                                           max_leverage=args.get("max_leverage")), user=user, request_key=key)
        plan = grown.plan
        said = "Started" if grown.is_new else "Already started"
        text = (f"{said}: campaign {grown.campaign.pk} grows {money(plan['bankroll'])} over {plan['days']} days from "
                f"{plan['start']}. " + (plan["note"] or f"Expected daily return {_pct(plan['history']['low'])} to "
                                        f"{_pct(plan['history']['high'])} (from {plan['history']['count']} cohorts)."))
        return Answer("grow", args, text, data={"plan": plan, "campaign": grown.campaign.pk, "is_new": grown.is_new})
    cohort, is_new = _start_cohort_once(args, user, key)
    said = "Launched" if is_new else "Already launched"
    return Answer("start_cohort", args, f"{said}: cohort {cohort.pk} with {money(cohort.wallet.bankroll)} on "
                  f"{cohort.agent_count} agents.", data={"cohort": cohort.pk, "is_new": is_new})


@transaction.atomic
def _start_cohort_once(args: dict, user, key: str) -> tuple[Cohort, bool]:
    if not user.has_perm("cohorts.add_cohort"):
        raise ApplicationError("You may not launch cohorts.", field="token")
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    mark = f"Asked of the assistant (request {key})."
    done = Cohort.objects.filter(launched_by=user, compliance_notes__contains=mark).select_related("wallet").first()
    if done is not None:
        return done, False
    launch = start_cohort_input(args)
    launch = LaunchInput(**{**launch.__dict__, "compliance_notes": mark})
    return cohort_launch(data=launch, user=user), True
