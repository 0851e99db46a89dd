"""Risk: the leverage ladder and its decisions, trading modes, breakers and the kill switch, alerts.

Subjects. A leverage decision or a breaker belongs to exactly one of a bankroll (the parent wallet), a cohort,
a campaign or a deployment (nullable foreign keys, one set, a CHECK says so). Decisions, mode changes, breaker
events, kill-switch events, alerts' deliveries are the audit trail: append-only.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from neolight.crypto import EncryptedTextField
from risk.engine import LeveragePolicy

TIER = {"max_digits": 6, "decimal_places": 2}  # a leverage multiple: 2.00 is 2×


class SubjectKind(models.TextChoices):
    BANKROLL = "bankroll", "Bankroll"
    COHORT = "cohort", "Cohort"
    CAMPAIGN = "campaign", "Campaign"
    DEPLOYMENT = "deployment", "Deployment"


def _one_subject(prefix: str) -> list[models.CheckConstraint]:
    """CHECK: the subject kind names the one foreign key that is set."""
    each = {
        SubjectKind.BANKROLL: models.Q(bankroll__isnull=False, cohort__isnull=True, campaign__isnull=True,
                                       deployment__isnull=True),
        SubjectKind.COHORT: models.Q(bankroll__isnull=True, cohort__isnull=False, campaign__isnull=True,
                                     deployment__isnull=True),
        SubjectKind.CAMPAIGN: models.Q(bankroll__isnull=True, cohort__isnull=True, campaign__isnull=False,
                                       deployment__isnull=True),
        SubjectKind.DEPLOYMENT: models.Q(bankroll__isnull=True, cohort__isnull=True, campaign__isnull=True,
                                         deployment__isnull=False),
    }
    condition = models.Q()
    for kind, q in each.items():
        condition |= models.Q(subject_kind=kind) & q
    return [models.CheckConstraint(condition=condition, name=f"{prefix}_one_subject")]


class Subject(models.Model):
    """Who a row is about: exactly one of a bankroll, a cohort, a campaign or a deployment."""

    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    bankroll = models.ForeignKey("cohorts.Bankroll", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey("knowledge.Campaign", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    deployment = models.ForeignKey("promotions.Deployment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        abstract = True

    @property
    def subject(self):
        return getattr(self, self.subject_kind)

    @property
    def subject_label(self) -> str:
        return f"{self.get_subject_kind_display()} {getattr(self, f'{self.subject_kind}_id')}"


# --- the leverage ladder -------------------------------------------------------------------------------
class LeverageLadder(models.Model):
    """A leverage policy (risk/engine/leverage.py) kept in the admin; the default one applies where none is named."""

    name = models.CharField(max_length=64, unique=True)
    is_default = models.BooleanField(default=False)
    start = models.DecimalField(**TIER, default=2, help_text="the first tier (×)")
    step_up = models.DecimalField(**TIER, default=1, help_text="added by a step up (×)")
    step_down = models.DecimalField(**TIER, default=1, help_text="taken off by a step down (×)")
    cap = models.DecimalField(**TIER, default=10, help_text="never above (×)")
    floor = models.DecimalField(**TIER, default=1, help_text="never below (×)")
    up_sharpe = models.FloatField(default=1.5, help_text="step up when the rolling Sharpe is above this …")
    up_max_drawdown = models.FloatField(default=0.03, help_text="… and the window's drawdown below this (fraction)")
    window = models.PositiveIntegerField(default=20, help_text="observations in the rolling window")
    down_drawdown = models.FloatField(default=0.05, help_text="step down at this drawdown from the peak (fraction)")
    down_consecutive_losses = models.PositiveIntegerField(default=3, help_text="step down after this many losses in a row")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                    name="one_default_leverage_ladder"),
            models.CheckConstraint(condition=models.Q(floor__gt=0, cap__gte=models.F("floor"),
                                                      start__gte=models.F("floor"), start__lte=models.F("cap"),
                                                      step_up__gt=0, step_down__gt=0),
                                   name="leverage_ladder_tiers_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def policy(self) -> LeveragePolicy:
        """The pure policy these thresholds describe (ValueError names a bad one)."""
        return LeveragePolicy(start=float(self.start), step_up=float(self.step_up), step_down=float(self.step_down),
                              cap=float(self.cap), floor=float(self.floor), up_sharpe=self.up_sharpe,
                              up_max_drawdown=self.up_max_drawdown, window=self.window,
                              down_drawdown=self.down_drawdown, down_consecutive_losses=self.down_consecutive_losses)


class DecisionStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    AWAITING_APPROVAL = "awaiting", "Awaiting approval"  # a step up of a LIVE deployment waits for the chain
    REFUSED = "refused", "Refused"  # the chain rejected it, or it expired


class LeverageDecision(Subject):
    """One evaluation of the ladder for one subject: the inputs, the rule that fired, from → to, and why.
    The subject's current tier is the `to_tier` of its latest applied decision, latest by `applied_at` (a step up
    approved later counts from its approval), the ladder's start before any."""

    ladder = models.ForeignKey(LeverageLadder, on_delete=models.PROTECT, related_name="decisions")
    rule = models.CharField(max_length=32, help_text="risk.engine.Rule, or 'manual'")
    from_tier = models.DecimalField(**TIER)
    to_tier = models.DecimalField(**TIER)
    status = models.CharField(max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.APPLIED)
    inputs = models.JSONField(default=dict, help_text="rolling Sharpe, drawdowns, losses in a row, observations")
    rationale = models.CharField(max_length=300)
    request = models.ForeignKey("promotions.PromotionRequest", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="leverage_decisions", help_text="the approval a step up waits for")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text="empty for the scheduled evaluations")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True, help_text="when the tier took effect: at once, or when "
                                                                        "the approval chain's last signature landed")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_kind", "created_at"])]
        constraints = [*_one_subject("leverage_decision"),
                       models.CheckConstraint(condition=models.Q(from_tier__gt=0, to_tier__gt=0),
                                              name="leverage_decision_tiers_positive"),
                       models.CheckConstraint(condition=models.Q(status__in=DecisionStatus.values),
                                              name="leverage_decision_status_valid")]

    def __str__(self) -> str:
        return f"{self.subject_label}: {self.from_tier}× → {self.to_tier}× ({self.rule})"


class RolloutStep(models.Model):
    """A deployment's capital slice: the share of its approved allocation it may have in the market.
    A step up waits for the approval chain; a step down applies at once. The latest applied step is current."""

    deployment = models.ForeignKey("promotions.Deployment", on_delete=models.PROTECT, related_name="rollout_steps")
    from_capital = models.DecimalField(max_digits=20, decimal_places=8)
    to_capital = models.DecimalField(max_digits=20, decimal_places=8)
    status = models.CharField(max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.APPLIED)
    rationale = models.CharField(max_length=300)
    request = models.ForeignKey("promotions.PromotionRequest", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="rollout_steps")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(from_capital__gte=0, to_capital__gte=0),
                                              name="rollout_capital_not_negative")]

    def __str__(self) -> str:
        return f"deployment {self.deployment_id}: ${self.from_capital:,.2f} → ${self.to_capital:,.2f} ({self.status})"


# --- trading modes -------------------------------------------------------------------------------------
class ModeChange(models.Model):
    """One change of a deployment's trading mode (TEST → PAPER → LIVE): who, why, and for LIVE the approval."""

    deployment = models.ForeignKey("promotions.Deployment", on_delete=models.PROTECT, related_name="mode_changes")
    from_mode = models.CharField(max_length=5)
    to_mode = models.CharField(max_length=5)
    automatic = models.BooleanField(default=False, help_text="a safety action (only ever toward TEST)")
    reason = models.CharField(max_length=300)
    request = models.ForeignKey("promotions.PromotionRequest", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", help_text="the approved request a move to LIVE rests on")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~models.Q(to_mode="LIVE") | models.Q(request__isnull=False),
                                              name="mode_change_live_needs_request")]

    def __str__(self) -> str:
        return f"deployment {self.deployment_id}: {self.from_mode} → {self.to_mode}"


# --- the guardian: breakers and the kill switch ---------------------------------------------------------
class TradingState(models.TextChoices):
    """Graded, as NautilusTrader's: active trades; reducing only reduces positions; halted sends nothing."""

    ACTIVE = "active", "Active"
    REDUCING = "reducing", "Reduce-only"
    HALTED = "halted", "Halted"


STATE_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class BreakerRule(models.TextChoices):
    DAILY_LOSS = "daily_loss", "Daily loss limit"
    CAPITAL_STOP = "capital_stop", "Hard capital stop (day)"
    CONSECUTIVE_LOSSES = "consecutive_losses", "Consecutive losses"
    ERROR_RATE = "error_rate", "Error rate (broker, provider)"


class Breaker(Subject):
    """A circuit breaker's current state for one subject and rule (one row each, locked to change)."""

    rule = models.CharField(max_length=20, choices=BreakerRule.choices)
    state = models.CharField(max_length=8, choices=TradingState.choices, default=TradingState.ACTIVE)
    reason = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    recovers_at = models.DateTimeField(null=True, blank=True, help_text="auto-recovery after the cool-down, if the rule allows")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subject_kind", "id"]
        constraints = [
            *_one_subject("breaker"),
            models.CheckConstraint(condition=models.Q(state__in=TradingState.values), name="breaker_state_valid"),
            models.UniqueConstraint(fields=["subject_kind", "bankroll", "cohort", "campaign", "deployment", "rule"],
                                    name="one_breaker_per_subject_rule", nulls_distinct=False),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} on {self.subject_label}: {self.state}"


class BreakerEvent(models.Model):
    """A breaker's move (opened, graded, recovered, reset by hand): append-only."""

    breaker = models.ForeignKey(Breaker, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField(max_length=8)
    to_state = models.CharField(max_length=8)
    reason = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"breaker {self.breaker_id}: {self.from_state} → {self.to_state}"


class KillSwitch(models.Model):
    """The one switch that halts everything at once (row 1). Engaged, no deployment sends an order and no live
    cohort trades until a permitted user releases it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    engaged = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="kill_switch_single_row")]
        permissions = [("operate_kill_switch", "Can engage and release the kill switch")]

    def __str__(self) -> str:
        return "Kill switch engaged" if self.engaged else "Kill switch released"


class KillSwitchEvent(models.Model):
    """The kill switch engaged or released, by whom and why: append-only."""

    engaged = models.BooleanField()
    reason = models.CharField(max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    data = models.JSONField(default=dict, blank=True, help_text="what it halted or resumed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"kill switch {'engaged' if self.engaged else 'released'}: {self.reason}"


# --- alerts --------------------------------------------------------------------------------------------
class AlertKind(models.TextChoices):
    PARENT_DRAWDOWN = "parent_drawdown", "Parent drawdown"
    LEVERAGE_BREACH = "leverage_breach", "Agent leverage breach"
    UTILISATION = "utilisation", "Bankroll utilisation"
    BREAKER_OPENED = "breaker_opened", "Circuit breaker opened"
    KILL_SWITCH = "kill_switch", "Kill switch"
    ROLLBACK = "rollback", "Rollback executed"
    RECONCILIATION = "reconciliation", "Reconciliation mismatch"
    BEAT_MISSED = "beat_missed", "Scheduled job missed its run"
    ANOMALY = "anomaly", "Anomaly (z-score)"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack webhook"
    TELEGRAM = "telegram", "Telegram bot"


class AlertChannel(models.Model):
    """Where alerts go: e-mail addresses, a Slack incoming webhook, or a Telegram bot and chat."""

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.CharField(max_length=300, help_text="e-mail: comma-separated addresses; Telegram: the chat id; "
                                                        "Slack: empty (the webhook URL is the secret)")
    secret = EncryptedTextField(blank=True, help_text="Slack: the webhook URL; Telegram: the bot token")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class AlertRule(models.Model):
    """When an alert of `kind` is raised, and where it goes; silent for `quiet_minutes` after a delivery."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    threshold = models.FloatField(null=True, blank=True, help_text="the rule's figure (drawdown 0.05, utilisation 0.9, "
                                                                   "z-score 3, …); empty where the rule has none")
    quiet_minutes = models.PositiveIntegerField(default=0, help_text="after a delivery, the rule stays silent this long")
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """One breach: raised once (the open alert of its kind and key), resolved when the condition clears."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    key = models.CharField(max_length=120, help_text="what the breach is about, e.g. cohort:12 — one open alert per kind and key")
    status = models.CharField(max_length=8, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    trading_mode = models.CharField(max_length=5, help_text="TEST, PAPER or LIVE: said in every message")
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deployment = models.ForeignKey("promotions.Deployment", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    raised_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=models.Q(status="open"), name="one_open_alert_per_key"),
            models.CheckConstraint(condition=models.Q(status__in=AlertStatus.values), name="alert_status_valid"),
        ]

    def __str__(self) -> str:
        return f"[{self.trading_mode}] {self.message}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"
    QUIET = "quiet", "Held back (quiet period)"


class AlertDelivery(models.Model):
    """One alert to one channel: the delivery log (attempts, the answer, the last error)."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="one_delivery_per_alert_channel")]

    def __str__(self) -> str:
        return f"alert {self.alert_id} to {self.channel_id}: {self.status}"
