"""Cohorts: one run of N agents on one parent wallet over one window, with their fills and scores."""
from django.conf import settings
from django.db import models

from neolight.money import MoneyField
from neolight.transitions import StateMachine

RATIO = {"max_digits": 12, "decimal_places": 6}


class AllocationPolicy(models.TextChoices):
    EQUAL = "equal", "Equal"
    RISK_WEIGHTED = "risk_weighted", "Risk weighted (inverse volatility)"
    PERFORMANCE_WEIGHTED = "performance_weighted", "Performance weighted (previous scores)"


class CohortStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


# The only moves a cohort's status makes; services check against it.
COHORT_TRANSITIONS = {
    CohortStatus.PENDING: {CohortStatus.RUNNING, CohortStatus.FAILED},
    CohortStatus.RUNNING: {CohortStatus.COMPLETED, CohortStatus.FAILED},
    CohortStatus.COMPLETED: set(),
    CohortStatus.FAILED: set(),
}


class CohortMode(models.TextChoices):
    REPLAY = "replay", "Replay (stored bars, as fast as the engine goes)"
    LIVE = "live", "Live paper (bar by bar, as the minutes arrive)"


class Cohort(models.Model):
    status = models.CharField(max_length=10, choices=CohortStatus.choices, default=CohortStatus.PENDING)
    status_reason = models.TextField(blank=True)
    source = models.ForeignKey("cohorts.Bankroll", on_delete=models.PROTECT, related_name="cohorts")
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="cohorts")
    symbols = models.JSONField(help_text="symbols traded, in column order")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    seed = models.BigIntegerField(default=7)
    mode = models.CharField(max_length=6, choices=CohortMode.choices, default=CohortMode.REPLAY)
    day_number = models.PositiveIntegerField(null=True, blank=True, help_text="Day N of a campaign")
    compliance_notes = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent of bars simulated")
    agent_count = models.PositiveIntegerField(default=0, help_text="agents launched (written once, at launch)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The run's lease: only the holder of `lease_token` may write the run's results, and only while the
    # lease is alive; recovery fails a running cohort only once its lease has expired.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    runtime_seconds = models.FloatField(null=True, blank=True)
    # Scores, filled in when the cohort completes.
    final_equity = MoneyField(null=True, blank=True)
    roi = models.FloatField(null=True, blank=True)
    max_drawdown = models.FloatField(null=True, blank=True)
    utilisation = models.FloatField(null=True, blank=True)
    breaches = models.PositiveIntegerField(default=0)
    failed_agents = models.PositiveIntegerField(default=0)
    is_ledger_balanced = models.BooleanField(null=True)
    is_reconciled = models.BooleanField(null=True)
    # The small part of the results; the large ones (curves, correlation, genomes) are in CohortResult.
    summary = models.JSONField(default=dict, blank=True, help_text="rollups, leaderboard, alerts, limits")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["window_start"]),
                   models.Index(fields=["status", "lease_expires_at"], name="cohort_status_lease"),
                   # the list's order (newest first, a page at a time) and the header's capital at work
                   models.Index(fields=["-created_at", "-id"], name="cohort_newest_first"),
                   models.Index(fields=["source", "status"], name="cohort_source_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(window_end__gt=models.F("window_start")),
                                   name="cohort_window_ordered"),
            models.CheckConstraint(condition=models.Q(status__in=CohortStatus.values), name="cohort_status_valid"),
            models.CheckConstraint(condition=models.Q(mode__in=CohortMode.values), name="cohort_mode_valid"),
            models.CheckConstraint(  # a running cohort always has a lease holder
                condition=~models.Q(status=CohortStatus.RUNNING) | models.Q(lease_token__isnull=False,
                                                                            lease_expires_at__isnull=False),
                name="cohort_running_has_lease"),
        ]

    def __str__(self) -> str:
        return f"Cohort {self.pk} ({self.status})"


COHORT_STATES = StateMachine(Cohort, COHORT_TRANSITIONS)


class CohortCheckpoint(models.Model):
    """Where a live cohort's run stands: `bar` bars done with their `fills` fills in the ledger, and the
    engine's checkpoint after `data_bar` of them (saved every few bars: the engine is deterministic, so a
    resumed run steps from `data_bar` to `bar` again, then goes on posting only the fills after `fills`).

    Written in the same database transaction as each bar's fills and postings, so after a crash the
    ledger and the checkpoint agree.
    """

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, primary_key=True, related_name="checkpoint")
    bar = models.PositiveIntegerField(help_text="bars of the window simulated, their fills posted")
    fills = models.PositiveIntegerField(default=0, help_text="fills posted to the ledger so far")
    data_bar = models.PositiveIntegerField(help_text="bars the engine checkpoint has seen (at most `bar`)")
    data = models.BinaryField(editable=False, help_text="Simulation.checkpoint_bytes() after `data_bar` bars")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(data_bar__lte=models.F("bar")),
                                              name="checkpoint_data_not_ahead")]

    def __str__(self) -> str:
        return f"checkpoint of cohort {self.cohort_id} at bar {self.bar}"


class CohortResult(models.Model):
    """The large results of a completed cohort, on a row of their own so that lists never read them.

    Written once, with the scores, in the transaction that completes the run; read by the cohort's
    page, its API detail and the agent pages.
    """

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, primary_key=True, related_name="result")
    equity_curves = models.BinaryField(editable=False,
                                       help_text="compressed npz (cohorts.curves): timestamps, parent (T,), agents (A, T)")
    correlation = models.JSONField(default=list, blank=True, help_text="agents' return correlations (A × A), 4 dp")
    heatmap = models.BinaryField(default=b"", editable=False,
                                 help_text="the correlations as the page draws them (cohorts.curves.heatmap_cells)")
    genomes = models.JSONField(default=list, blank=True, help_text="per agent: index, family, params, capital")

    def __str__(self) -> str:
        return f"results of cohort {self.cohort_id}"


class SettlementKind(models.TextChoices):
    RETURN = "return", "Returned at completion"
    REFUND = "refund", "Refunded on failure"


class CohortSettlement(models.Model):
    """The one settlement of a cohort's capital: its return when it completes or its refund when it fails.

    One row per cohort (the database refuses a second, whatever its kind), written in the same database
    transaction as the postings it records; append-only on PostgreSQL.
    """

    cohort = models.OneToOneField(Cohort, on_delete=models.PROTECT, related_name="settlement")
    kind = models.CharField(max_length=6, choices=SettlementKind.choices)
    drawn = MoneyField(help_text="capital the cohort drew from its bankroll")
    settled = MoneyField(help_text="capital that went back to the bankroll")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=SettlementKind.values), name="settlement_kind_valid"),
            models.CheckConstraint(condition=models.Q(settled__gte=0), name="settlement_not_negative"),
            # a failed run wrote no fills, so its refund is exactly what it drew
            models.CheckConstraint(condition=~models.Q(kind="refund") | models.Q(settled=models.F("drawn")),
                                   name="settlement_refund_is_the_draw"),
        ]

    def __str__(self) -> str:
        return f"cohort {self.cohort_id} {self.kind} {self.settled}"


class ParentWallet(models.Model):
    """The cohort's bankroll and the rules every agent trades under."""

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="wallet")
    bankroll = MoneyField()
    policy = models.CharField(max_length=24, choices=AllocationPolicy.choices, default=AllocationPolicy.EQUAL)
    exposure_limit = models.DecimalField(**RATIO, help_text="gross notional / parent equity")
    leverage_ceiling = models.DecimalField(**RATIO, help_text="per agent: gross notional / agent equity")
    market_exposure_limit = models.DecimalField(**RATIO, null=True, blank=True,
                                                help_text="per symbol, all agents: notional / parent equity")
    daily_stop = models.DecimalField(**RATIO, help_text="loss on the day, as a fraction of the day's opening equity")
    fee_bps = models.DecimalField(max_digits=8, decimal_places=3)
    slippage_bps = models.DecimalField(max_digits=8, decimal_places=3)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(bankroll__gt=0), name="wallet_bankroll_positive")]

    def __str__(self) -> str:
        return f"wallet of cohort {self.cohort_id}: {self.bankroll}"


class Agent(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="agents")
    index = models.PositiveIntegerField(help_text="position in the cohort, 0-based")
    family = models.CharField(max_length=32)
    params = models.JSONField()
    is_short_horizon = models.BooleanField(default=True)
    capital = MoneyField(help_text="capital drawn from the parent wallet")
    # Scores from the engine's metrics.
    final_equity = MoneyField(null=True, blank=True)
    realised_pnl = MoneyField(null=True, blank=True)
    unrealised_pnl = MoneyField(null=True, blank=True)
    roi = models.FloatField(null=True, blank=True)
    variance = models.FloatField(null=True, blank=True)
    sharpe = models.FloatField(null=True, blank=True)
    sortino = models.FloatField(null=True, blank=True)
    max_drawdown = models.FloatField(null=True, blank=True)
    max_drawdown_vs_parent = models.FloatField(null=True, blank=True)
    utilisation = models.FloatField(null=True, blank=True)
    leverage_breaches = models.PositiveIntegerField(default=0)
    trades = models.PositiveIntegerField(default=0)
    win_rate = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["cohort", "index"]
        constraints = [models.UniqueConstraint(fields=["cohort", "index"], name="agent_unique_index")]

    def __str__(self) -> str:
        return f"agent {self.index} of cohort {self.cohort_id} ({self.family})"


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class Fill(models.Model):
    # No FOREIGN KEY constraints in the database: a week of 300 agents writes ~200,000 fills in one
    # COPY, and per-row checks of four keys cost more than the rest of the commit. Only the run writes
    # fills, with ids it has just read, and nothing they point at can be deleted: a cohort, its agents
    # and its instruments are held by ledger accounts, and the transaction by the append-only ledger.
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="fills", db_constraint=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="fills", db_constraint=False,
                              db_index=False)  # the (agent, ts) index serves
    instrument = models.ForeignKey("cohorts.Instrument", on_delete=models.PROTECT, db_constraint=False)
    ts = models.DateTimeField(help_text="open time of the bar filled at")
    side = models.CharField(max_length=4, choices=Side.choices)
    qty = MoneyField()
    price = MoneyField()
    fee = MoneyField()
    transaction = models.OneToOneField("cohorts.LedgerTransaction", on_delete=models.PROTECT, related_name="fill",
                                       db_constraint=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["agent", "ts"])]
        constraints = [models.CheckConstraint(condition=models.Q(qty__gt=0, price__gt=0, fee__gte=0),
                                              name="fill_amounts_valid")]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.instrument_id} @ {self.price}"


class CohortEvent(models.Model):
    """A rule that bit during the run (breach, pause, stop), from the engine's event list."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="events")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    ts = models.DateTimeField()
    rule = models.CharField(max_length=40)
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["ts", "id"]

    def __str__(self) -> str:
        return f"{self.rule} at {self.ts:%H:%M}"


class AgentHour(models.Model):
    """An agent's ROI over one clock hour of the window (equity at the hour's last bar vs the one before)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="hours")
    hour = models.DateTimeField()
    roi = models.FloatField()
    equity = MoneyField(help_text="equity at the hour's last bar")

    class Meta:
        ordering = ["agent", "hour"]
        constraints = [models.UniqueConstraint(fields=["agent", "hour"], name="agent_hour_unique")]

    def __str__(self) -> str:
        return f"agent {self.agent_id} {self.hour:%H}:00 {self.roi:+.4%}"
