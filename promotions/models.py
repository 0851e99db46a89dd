"""Day-3 promotion: candidates and their guard-rail checks, approval requests signed along an ordered chain,
and the micro-live deployments they start, with an append-only promotion log.

Signatures, checks and the log are append-only on PostgreSQL (migration 0001's triggers); a request's and a
deployment's status move only through their `StateMachine`s, in the services.
"""
from django.conf import settings
from django.db import models

from neolight.money import MoneyField
from neolight.transitions import StateMachine


class PromotionPolicy(models.Model):
    """Thresholds, approval chain and deployment limits of a promotion. `guards` overrides the settings'
    `PROMOTION_GUARDS` key by key; the default policy is the one with `is_default`."""

    name = models.CharField(max_length=64, unique=True)
    is_default = models.BooleanField(default=False)
    guards = models.JSONField(default=dict, blank=True, help_text="overrides of PROMOTION_GUARDS, e.g. {\"min_trades\": 10}")
    approval_roles = models.JSONField(default=list, blank=True,
                                      help_text="ordered Django group names; empty: PROMOTION_APPROVAL_ROLES")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "promotion policies"
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="promotion_policy_one_default")]

    def __str__(self) -> str:
        return self.name


class PromotionCandidate(models.Model):
    """An agent of a completed cohort weighed for promotion: its rank, score, proposed allocation and
    whether every guard rail passed (the checks are its `GuardCheck` rows). Written once per agent."""

    cohort = models.ForeignKey("cohorts.Cohort", on_delete=models.PROTECT, related_name="promotion_candidates")
    agent = models.ForeignKey("cohorts.Agent", on_delete=models.PROTECT, related_name="promotion_candidates")
    campaign_day = models.ForeignKey("knowledge.CampaignDay", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="promotion_candidates")
    policy = models.ForeignKey(PromotionPolicy, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="candidates", help_text="empty: the settings' thresholds")
    guards = models.JSONField(default=dict, help_text="the thresholds the checks ran with")
    rank = models.PositiveIntegerField(help_text="1 = best ROI + Sharpe of the cohort")
    score = models.FloatField(help_text="ROI + Sharpe")
    family = models.CharField(max_length=32)
    params = models.JSONField()
    allocation = MoneyField(help_text="proposed micro-live capital")
    is_eligible = models.BooleanField(help_text="every guard rail passed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cohort", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "agent"], name="candidate_once_per_agent"),
            models.CheckConstraint(condition=models.Q(allocation__gte=0), name="candidate_allocation_not_negative"),
        ]

    def __str__(self) -> str:
        return f"candidate #{self.rank} of cohort {self.cohort_id} (agent {self.agent_id})"


class CheckKind(models.TextChoices):
    GUARD = "guard", "Guard rail"
    READINESS = "readiness", "Go-live readiness"


class GuardCheck(models.Model):
    """One guard rail or readiness check of a candidate: its value, its threshold, pass or fail."""

    candidate = models.ForeignKey(PromotionCandidate, on_delete=models.PROTECT, related_name="checks")
    kind = models.CharField(max_length=10, choices=CheckKind.choices)
    name = models.CharField(max_length=40)
    value = models.FloatField(null=True, blank=True, help_text="measured; empty when it could not be measured")
    threshold = models.FloatField()
    comparison = models.CharField(max_length=2, help_text="how value meets threshold: >=, <=, >, <")
    passed = models.BooleanField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["candidate", "kind", "id"]
        constraints = [models.UniqueConstraint(fields=["candidate", "name"], name="check_once_per_candidate")]

    def __str__(self) -> str:
        return f"{self.name} {'pass' if self.passed else 'fail'}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Awaiting signatures"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


OPEN_REQUEST = (RequestStatus.PENDING,)
REQUEST_TRANSITIONS = {
    RequestStatus.PENDING: {RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.EXPIRED,
                            RequestStatus.CANCELLED},
    RequestStatus.APPROVED: set(),
    RequestStatus.REJECTED: set(),
    RequestStatus.EXPIRED: set(),
    RequestStatus.CANCELLED: set(),
}


class PromotionRequest(models.Model):
    """A request to deploy a candidate, bound to the exact payload signed (canonical JSON, RFC 8785) and to
    the ordered roles that must sign it. `payload_digest` is SHA-256 of the canonical payload; a change of
    payload changes the digest and so voids the signatures made over the old one."""

    candidate = models.ForeignKey(PromotionCandidate, on_delete=models.PROTECT, related_name="requests")
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    status_reason = models.TextField(blank=True)
    payload = models.JSONField(help_text="candidate, genome, allocation, limits, trading mode (money as strings)")
    payload_digest = models.CharField(max_length=64, help_text="SHA-256 of the canonical payload, hex")
    roles = models.JSONField(help_text="the ordered Django groups that sign, fixed when requested")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="promotion_requests", help_text="empty: the Day-3 go/no-go")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("sign_promotionrequest", "Can sign a promotion request (granted per request to its roles)")]
        constraints = [
            models.UniqueConstraint(fields=["candidate"], condition=models.Q(status__in=OPEN_REQUEST),
                                    name="request_one_open_per_candidate"),
            models.CheckConstraint(condition=models.Q(status__in=RequestStatus.values), name="request_status_valid"),
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("created_at")),
                                   name="request_expires_after_creation"),
        ]

    def __str__(self) -> str:
        return f"Promotion request {self.pk} ({self.status})"


REQUEST_STATES = StateMachine(PromotionRequest, REQUEST_TRANSITIONS)


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Signature(models.Model):
    """One step of a request's chain, signed: who, in which role, what they decided and why, over which
    payload, chained to the previous signature. `hash` = SHA-256 over the canonical JSON of every field
    above it and `previous_hash`; `verify_signatures` recomputes it. Append-only."""

    request = models.ForeignKey(PromotionRequest, on_delete=models.PROTECT, related_name="signatures")
    step = models.PositiveSmallIntegerField(help_text="0-based position in the request's roles")
    role = models.CharField(max_length=80)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promotion_signatures")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="the request's requester, copied: never the signer")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    note = models.TextField()
    payload_digest = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64, help_text="the previous signature's hash; 64 zeros for the first")
    hash = models.CharField(max_length=64, unique=True)
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["request", "signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "payload_digest", "step"], name="signature_one_per_step"),
            models.UniqueConstraint(fields=["request", "payload_digest", "user"], name="signature_one_step_per_user"),
            models.CheckConstraint(condition=~models.Q(user=models.F("requested_by")), name="signature_not_requester"),
            models.CheckConstraint(condition=~models.Q(note=""), name="signature_note_required"),
            models.CheckConstraint(condition=models.Q(decision__in=Decision.values), name="signature_decision_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.decision} by {self.user_id} on request {self.request_id}"


class DeploymentStatus(models.TextChoices):
    PENDING = "pending", "Starting"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed (timer ran out)"
    ROLLED_BACK = "rolled_back", "Rolled back"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded (capital stepped)"  # its successor trades the new capital


DEPLOYMENT_ENDED = (DeploymentStatus.COMPLETED, DeploymentStatus.ROLLED_BACK, DeploymentStatus.FAILED,
                    DeploymentStatus.SUPERSEDED)
DEPLOYMENT_TRANSITIONS = {
    DeploymentStatus.PENDING: {DeploymentStatus.RUNNING, DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK,
                               DeploymentStatus.SUPERSEDED},
    DeploymentStatus.RUNNING: {DeploymentStatus.PAUSED, DeploymentStatus.COMPLETED, DeploymentStatus.ROLLED_BACK,
                               DeploymentStatus.FAILED, DeploymentStatus.SUPERSEDED},
    DeploymentStatus.PAUSED: {DeploymentStatus.RUNNING, DeploymentStatus.ROLLED_BACK, DeploymentStatus.FAILED,
                              DeploymentStatus.SUPERSEDED},
    DeploymentStatus.COMPLETED: set(),
    DeploymentStatus.ROLLED_BACK: set(),
    DeploymentStatus.FAILED: set(),
    DeploymentStatus.SUPERSEDED: set(),
}


class BrokerName(models.TextChoices):
    PAPER = "paper", "NeoLight paper broker"
    ALPACA = "alpaca", "Alpaca (paper trading)"


class TradingMode(models.TextChoices):
    """TEST → PAPER → LIVE (risk/services/modes.py): TEST sends no order to any broker."""

    TEST = "TEST", "Test"
    PAPER = "PAPER", "Paper"
    LIVE = "LIVE", "Live"


class Deployment(models.Model):
    """An approved candidate trading its allocation on live bars through a broker until its timer runs out
    or a rollback ends it. Its capital is drawn from and returned to `bankroll` through the ledger.

    A capital step (gradual rollout) ends a deployment (superseded) and starts its successor on the same request
    with the new capital: a request deploys once (`predecessor` empty), and a deployment has at most one successor."""

    request = models.ForeignKey(PromotionRequest, on_delete=models.PROTECT, related_name="deployments",
                                help_text="the approved request it rests on (a successor keeps its predecessor's)")
    predecessor = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="successor", help_text="the deployment whose capital step it continues")
    status = models.CharField(max_length=12, choices=DeploymentStatus.choices, default=DeploymentStatus.PENDING)
    status_reason = models.TextField(blank=True)
    broker = models.CharField(max_length=12, choices=BrokerName.choices, default=BrokerName.PAPER)
    trading_mode = models.CharField(max_length=5, choices=TradingMode.choices, default=TradingMode.PAPER)
    bankroll = models.ForeignKey("cohorts.Bankroll", on_delete=models.PROTECT, related_name="deployments")
    family = models.CharField(max_length=32)
    params = models.JSONField()
    symbols = models.JSONField()
    capital = MoneyField(help_text="the capital it trades: the approved allocation, or its current rollout slice")
    max_drawdown = models.FloatField(help_text="rollback when equity falls this far below its peak (fraction)")
    max_return_variance = models.FloatField(help_text="rollback when the variance of 1-minute returns exceeds this")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(help_text="the rollback timer: ends here unless renewed through the chain")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["request"], condition=models.Q(predecessor__isnull=True),
                                    name="deployment_once_per_request"),
            models.CheckConstraint(condition=models.Q(status__in=DeploymentStatus.values), name="deployment_status_valid"),
            models.CheckConstraint(condition=models.Q(capital__gt=0), name="deployment_capital_positive"),
            models.CheckConstraint(condition=models.Q(trading_mode__in=TradingMode.values),
                                   name="deployment_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"Deployment {self.pk} ({self.trading_mode}, {self.status})"


DEPLOYMENT_STATES = StateMachine(Deployment, DEPLOYMENT_TRANSITIONS)


class LogKind(models.TextChoices):
    CANDIDATES = "candidates", "Candidates weighed"
    REQUESTED = "requested", "Promotion requested"
    SIGNED = "signed", "Signed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    PAYLOAD_CHANGED = "payload_changed", "Payload changed: signatures voided"
    REFUSED = "refused", "Action refused"
    DEPLOYED = "deployed", "Deployment started"
    ORDER = "order", "Order"
    RECONCILED = "reconciled", "Reconciled with the broker"
    MISMATCH = "mismatch", "Reconciliation mismatch"
    PAUSED = "paused", "Paused"
    RESUMED = "resumed", "Resumed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    COMPLETED = "completed", "Deployment completed"
    RENEWED = "renewed", "Deployment renewed"
    MODE = "mode", "Trading mode changed"
    RESIZED = "resized", "Capital stepped"


class PromotionLog(models.Model):
    """The promotion audit trail: every request, check run, signature, refusal, deployment, order, rollback
    and human override, as one append-only row with who, why and the figures."""

    kind = models.CharField(max_length=16, choices=LogKind.choices)
    request = models.ForeignKey(PromotionRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="log")
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.PROTECT, related_name="log")
    cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text="empty: the system")
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return self.message


class DeploymentRun(models.Model):
    """How a deployment trades: the live cohort of one agent (its genome, its capital) that steps the live
    bars, draws and returns the capital through the ledger and checkpoints for resumption; and where the
    run stands: the last bar it saw and when a match with the broker was last written to the log."""

    deployment = models.OneToOneField(Deployment, on_delete=models.PROTECT, primary_key=True, related_name="run")
    cohort = models.OneToOneField("cohorts.Cohort", on_delete=models.PROTECT, related_name="deployment_run")
    bar_at = models.DateTimeField(null=True, blank=True, help_text="close time of the last bar the run stepped")
    reconciled_at = models.DateTimeField(null=True, blank=True, help_text="the last `reconciled` log row")
    broker_baseline = models.JSONField(null=True, blank=True, help_text="the broker account's cash and positions "
                                       "when the run began (decimal strings): reconciliation compares what moved since")

    def __str__(self) -> str:
        return f"run of deployment {self.deployment_id} (cohort {self.cohort_id})"


class DeploymentOrder(models.Model):
    """One order a deployment sent its broker and the broker's answer, written once (append-only on
    PostgreSQL). `fill_number` is the engine fill it carries (None: a flattening order); the client order
    id derives from the deployment and that number, so a resumed run never sends a fill twice."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="orders")
    fill_number = models.PositiveIntegerField(null=True, blank=True)
    client_order_id = models.CharField(max_length=64, unique=True)
    broker_order_id = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=5, choices=TradingMode.choices)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, help_text="buy or sell")
    qty = MoneyField()
    expected_price = MoneyField(null=True, blank=True, help_text="the engine's fill price (None when flattening)")
    status = models.CharField(max_length=24, help_text="the broker's word: filled, rejected, …")
    filled_qty = MoneyField(default=0)
    filled_avg_price = MoneyField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "fill_number"], name="deployment_order_once_per_fill"),
            models.CheckConstraint(condition=models.Q(qty__gt=0, filled_qty__gte=0), name="deployment_order_qty_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.mode} {self.side.upper()} {self.qty} {self.symbol} ({self.status})"


class PaperAccount(models.Model):
    """A book of NeoLight's paper broker: its cash and the fee and slippage it charges (its positions and
    orders are rows of their own). One per deployment on the paper broker, named after it."""

    name = models.CharField(max_length=64, unique=True)
    cash = MoneyField()
    fee_bps = models.DecimalField(max_digits=8, decimal_places=3)
    slippage_bps = models.DecimalField(max_digits=8, decimal_places=3)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"paper account {self.name}"


class PaperPosition(models.Model):
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=32)
    qty = MoneyField(help_text="signed: negative is short")
    avg_entry_price = MoneyField()

    class Meta:
        ordering = ["account", "symbol"]
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="paper_position_once_per_symbol")]

    def __str__(self) -> str:
        return f"{self.qty} {self.symbol}"


class PaperOrder(models.Model):
    """An order the paper broker took: filled at once at the latest stored close ± slippage, or rejected."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    client_order_id = models.CharField(max_length=64)
    broker_order_id = models.CharField(max_length=64, unique=True)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4)
    qty = MoneyField()
    filled_qty = MoneyField(default=0)
    filled_avg_price = MoneyField(null=True, blank=True)
    fee = MoneyField(default=0)
    status = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "client_order_id"], name="paper_order_client_id_once")]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol} ({self.status})"
