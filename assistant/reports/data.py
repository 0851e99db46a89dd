"""What a report holds: the period's cohorts, their hours, leaderboard, leverage decisions, bankroll trend,
approvals and signatures, compliance notes, the assistant's commentary and post-mortems.

A daily report covers the cohorts that traded on a UTC date and what was decided that day or about them; a
campaign report covers the campaign's day cohorts and what was decided about them or the campaign. `user`
narrows everything to what that user may see (cohorts' and campaigns' visibility rules); None is the desk's
view, which the schedule sends.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from cohorts.models import AccountKind, Agent, AgentHour, Cohort, CohortSettlement, Entry, Fill, LedgerTransaction
from cohorts.models.ledger import TransactionKind
from cohorts.selectors.cohorts import cohort_visible
from cohorts.selectors.ledger import entry_sums
from knowledge.models import Campaign, EntryKind, KnowledgeEntry
from knowledge.selectors import campaign_visible
from neolight.errors import ApplicationError
from neolight.money import quantize, to_cents
from promotions.models import PromotionRequest
from risk.models import LeverageDecision

ZERO = Decimal(0)
COMMENTARY_LIMIT = 200  # narrations shown; a busy day has far fewer


@dataclass
class Report:
    """A report's figures, ready for the CSV writer and the PDF template (money as Decimal)."""

    kind: str  # "daily" or "campaign"
    period: str  # the UTC date, or the campaign's id
    title: str
    start: datetime
    end: datetime
    generated_at: datetime
    cohorts: list[dict] = field(default_factory=list)
    hours: list[dict] = field(default_factory=list)
    leaderboard: list[dict] = field(default_factory=list)
    leverage: list[dict] = field(default_factory=list)
    bankroll: list[dict] = field(default_factory=list)
    approvals: list[dict] = field(default_factory=list)
    compliance: list[dict] = field(default_factory=list)
    commentary: list[dict] = field(default_factory=list)
    post_mortems: list[dict] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.cohorts or self.leverage or self.approvals or self.commentary or self.post_mortems)

    @property
    def pnl(self) -> Decimal:
        return sum((c["pnl"] for c in self.cohorts if c["pnl"] is not None), ZERO)

    @property
    def file_stem(self) -> str:
        return f"neolight-daily-{self.period}" if self.kind == "daily" else f"neolight-campaign-{self.period}"


@dataclass(frozen=True)
class Scope:
    """What a report may show: the visible cohorts and campaigns, and whether desk-wide rows (decisions not tied
    to a visible cohort or campaign) are shown too."""

    cohorts: QuerySet[Cohort]
    campaigns: QuerySet[Campaign]
    is_desk: bool

    @classmethod
    def of(cls, user) -> Scope:
        if user is None:
            return cls(Cohort.objects.select_related("wallet", "source"), Campaign.objects.all(), True)
        return cls(cohort_visible(user), campaign_visible(user), user.has_perm("cohorts.view_cohort"))


def parse_day(value: str | date | None, *, default: date | None = None) -> date:
    """A UTC date from YYYY-MM-DD (ApplicationError naming `date` otherwise); `default` when empty."""
    if isinstance(value, date):
        return value
    if not value:
        if default is None:
            raise ApplicationError("Give a date as YYYY-MM-DD.", field="date")
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ApplicationError(f"'{value}' is not a date: use YYYY-MM-DD, e.g. 2021-05-06.", field="date") from None


def report_daily(*, day: date, user=None) -> Report:
    """The daily report of UTC date `day`."""
    scope = Scope.of(user)
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    cohorts = list(scope.cohorts.filter(window_start__gte=start, window_start__lt=end).select_related("campaign_day")
                   .order_by("window_start", "id"))
    in_period = Q(created_at__gte=start, created_at__lt=end)
    report = Report(kind="daily", period=day.isoformat(), title=f"Daily report — {day:%A %d %B %Y} (UTC)",
                    start=start, end=end, generated_at=timezone.now())
    return _fill(report, scope, cohorts, in_period, campaign=None)


def report_campaign(*, campaign_id: int, user=None) -> Report:
    """The report of campaign `campaign_id` over its days (ApplicationError naming `campaign` if unknown or hidden)."""
    scope = Scope.of(user)
    campaign = scope.campaigns.filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError(f"There is no campaign {campaign_id}.", field="campaign")
    start = datetime.combine(campaign.start_date, time(), tzinfo=UTC)
    end = campaign.finished_at or timezone.now()
    cohorts = list(scope.cohorts.filter(campaign_day__campaign=campaign).select_related("campaign_day")
                   .order_by("window_start", "id"))
    report = Report(kind="campaign", period=str(campaign.pk), title=f"Campaign report — {campaign}",
                    start=start, end=max(end, start), generated_at=timezone.now())
    return _fill(report, scope, cohorts, Q(pk__in=[]), campaign=campaign)


def _fill(report: Report, scope: Scope, cohorts: list[Cohort], in_period: Q, campaign: Campaign | None) -> Report:
    ids = [c.pk for c in cohorts]
    report.cohorts = [_cohort_row(c) for c in cohorts]
    report.hours = hourly_breakdown(cohorts)
    report.leaderboard = leaderboard(ids)
    report.leverage = leverage_decisions(scope, ids, in_period, campaign)
    report.bankroll = bankroll_trend(cohorts)
    report.approvals = approvals(scope, ids, in_period)
    report.compliance = [{"cohort": c.pk, "tag": cohort_tag(c), "line": line.strip()}
                         for c in cohorts for line in c.compliance_notes.splitlines() if line.strip()]
    report.commentary = _entries(scope, EntryKind.NARRATION, ids, in_period, campaign)[:COMMENTARY_LIMIT]
    report.post_mortems = _entries(scope, EntryKind.POST_MORTEM, ids, in_period, campaign)
    return report


def cohort_tag(cohort: Cohort) -> str:
    """How a cohort's trades are tagged in exports: 'cohort-12', or 'cohort-12/campaign-3/day-2' for a campaign day."""
    day = getattr(cohort, "campaign_day", None)  # None: not a campaign day
    return f"cohort-{cohort.pk}" + (f"/campaign-{day.campaign_id}/day-{day.number}" if day else "")


def _cohort_row(cohort: Cohort) -> dict:
    bankroll = cohort.wallet.bankroll
    final = cohort.final_equity
    return {"id": cohort.pk, "tag": cohort_tag(cohort), "status": cohort.status, "start": cohort.window_start,
            "end": cohort.window_end, "agents": cohort.agent_count, "bankroll": to_cents(bankroll),
            "final_equity": None if final is None else to_cents(final),
            "pnl": None if final is None else to_cents(final - bankroll), "roi": cohort.roi,
            "max_drawdown": cohort.max_drawdown, "source": cohort.source.name}


def hourly_breakdown(cohorts: list[Cohort]) -> list[dict]:
    """Per clock hour: PnL (equity change over the hour), fills, and equity at the hour's end (each cohort's agents'
    equity plus the capital its wallet did not allocate), summed across the cohorts."""
    if not cohorts:
        return []
    idle = {c.pk: c.wallet.bankroll - sum((a.capital for a in c.agents.all()), ZERO) for c in cohorts}
    equity: dict = defaultdict(lambda: defaultdict(lambda: ZERO))  # cohort → hour → Σ agents' equity
    for cohort_id, hour, value in (AgentHour.objects.filter(agent__cohort__in=list(idle))
                                   .values_list("agent__cohort", "hour", "equity").order_by()):
        equity[cohort_id][hour] += quantize(value)
    rows: dict = defaultdict(lambda: {"pnl": ZERO, "equity": ZERO, "fills": 0})
    for cohort in cohorts:
        previous = cohort.wallet.bankroll
        for hour in sorted(equity[cohort.pk]):
            value = equity[cohort.pk][hour] + idle[cohort.pk]
            rows[hour]["pnl"] += value - previous
            rows[hour]["equity"] += value
            previous = value
    fills = (Fill.objects.filter(cohort__in=list(idle)).annotate(hour=TruncHour("ts", tzinfo=UTC))
             .values("hour").annotate(n=Count("id")).order_by())
    for row in fills:
        rows[row["hour"]]["fills"] += row["n"]
    return [{"hour": hour, "pnl": to_cents(row["pnl"]), "fills": row["fills"], "equity": to_cents(row["equity"])}
            for hour, row in sorted(rows.items())]


def leaderboard(cohort_ids: list[int]) -> list[dict]:
    """The period's best agents by ROI, then Sharpe."""
    agents = (Agent.objects.filter(cohort__in=cohort_ids, roi__isnull=False)
              .order_by("-roi", F("sharpe").desc(nulls_last=True), "cohort", "index")[:settings.REPORT_LEADERBOARD_SIZE])
    return [{"rank": n, "cohort": a.cohort_id, "agent": a.index, "family": a.family, "roi": a.roi, "sharpe": a.sharpe,
             "max_drawdown": a.max_drawdown, "trades": a.trades, "win_rate": a.win_rate,
             "pnl": None if a.final_equity is None else to_cents(a.final_equity - a.capital)}
            for n, a in enumerate(agents, start=1)]


def leverage_decisions(scope: Scope, cohort_ids: list[int], in_period: Q, campaign: Campaign | None) -> list[dict]:
    """Leverage decisions of the period, or about its cohorts or campaign."""
    about = Q(cohort__in=cohort_ids) | (Q(campaign=campaign) if campaign else Q(pk__in=[]))
    if not scope.is_desk:
        in_period &= Q(cohort__in=scope.cohorts) | Q(campaign__in=scope.campaigns)
    decisions = LeverageDecision.objects.filter(about | in_period).select_related("actor").order_by("created_at", "id")
    return [{"at": d.created_at, "subject": d.subject_label, "cohort": d.cohort_id, "rule": d.rule,
             "from_tier": d.from_tier, "to_tier": d.to_tier, "status": d.status, "rationale": d.rationale,
             "actor": d.actor.username if d.actor else "schedule"} for d in decisions]


def bankroll_trend(cohorts: list[Cohort]) -> list[dict]:
    """Each settled cohort's draw and settlement, and its bankroll's cash balance once it settled (from the ledger)."""
    settlements = {s.cohort_id: s for s in CohortSettlement.objects.filter(cohort__in=[c.pk for c in cohorts])}
    rows = []
    for cohort in cohorts:
        settlement = settlements.get(cohort.pk)
        last = (LedgerTransaction.objects.filter(cohort=cohort, kind__in=[TransactionKind.RETURN, TransactionKind.REFUND])
                .order_by("-id").values_list("id", flat=True).first())
        if settlement is None or last is None:
            continue
        cash = Entry.objects.filter(account__kind=AccountKind.BANKROLL_CASH, account__bankroll=cohort.source_id,
                                    transaction_id__lte=last)
        balance = entry_sums(cash, "account__bankroll").get(cohort.source_id, ZERO)
        rows.append({"at": settlement.created_at, "cohort": cohort.pk, "bankroll": cohort.source.name,
                     "drawn": to_cents(settlement.drawn), "settled": to_cents(settlement.settled),
                     "pnl": to_cents(settlement.settled - settlement.drawn), "balance": to_cents(balance)})
    return rows


def approvals(scope: Scope, cohort_ids: list[int], in_period: Q) -> list[dict]:
    """Promotion requests of the period or about its cohorts, each with its signatures (signer, role, time, hash)."""
    if not scope.is_desk:
        in_period &= Q(candidate__cohort__in=scope.cohorts)
    requests = (PromotionRequest.objects.filter(Q(candidate__cohort__in=cohort_ids) | in_period)
                .select_related("candidate__agent", "requested_by").prefetch_related("signatures__user")
                .order_by("created_at", "id"))
    return [{"id": r.pk, "at": r.created_at, "cohort": r.candidate.cohort_id, "agent": r.candidate.agent.index,
             "family": r.candidate.family, "status": r.status, "decided_at": r.decided_at,
             "allocation": r.payload.get("allocation", ""),
             "requested_by": r.requested_by.username if r.requested_by else "Day-3 go/no-go",
             "signatures": [{"step": s.step + 1, "role": s.role, "signer": s.user.username, "decision": s.decision,
                             "at": s.signed_at, "hash": s.hash[:12], "note": s.note} for s in r.signatures.all()]}
            for r in requests]


def _entries(scope: Scope, kind: str, cohort_ids: list[int], in_period: Q, campaign: Campaign | None) -> list[dict]:
    about = Q(cohort__in=cohort_ids) | (Q(campaign=campaign) if campaign else Q(pk__in=[]))
    visible = ((Q(campaign__isnull=True) | Q(campaign__in=scope.campaigns))
               & (Q(cohort__isnull=True) | Q(cohort__in=scope.cohorts)))
    entries = KnowledgeEntry.objects.filter(Q(kind=kind) & (about | in_period) & visible).order_by("created_at", "id")
    return [{"at": e.created_at, "cohort": e.cohort_id, "campaign": e.campaign_id, "title": e.title, "body": e.body}
            for e in entries]
