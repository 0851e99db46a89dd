"""Campaigns (consecutive daily cohorts), their learning cycles, and the knowledge base entries."""
from django.conf import settings
from django.db import models

from cohorts.models import AllocationPolicy
from neolight.money import MoneyField
from neolight.transitions import StateMachine


class CampaignStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# The only moves a campaign's status makes; services check against it.
CAMPAIGN_TRANSITIONS = {
    CampaignStatus.PENDING: {CampaignStatus.RUNNING, CampaignStatus.FAILED, CampaignStatus.CANCELLED},
    CampaignStatus.RUNNING: {CampaignStatus.COMPLETED, CampaignStatus.FAILED, CampaignStatus.CANCELLED},
    CampaignStatus.COMPLETED: set(),
    CampaignStatus.FAILED: set(),
    CampaignStatus.CANCELLED: set(),
}
CAMPAIGN_ENDED = (CampaignStatus.COMPLETED, CampaignStatus.FAILED, CampaignStatus.CANCELLED)


class CampaignMode(models.TextChoices):
    REPLAY = "replay", "Replay (stored bars, full speed)"
    LIVE = "live", "Live (advances on the clock)"


class Campaign(models.Model):
    """Day 1 … Day N of cohorts on one growing bankroll, with a learning cycle after each day."""

    name = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.PENDING)
    status_reason = models.TextField(blank=True)
    mode = models.CharField(max_length=6, choices=CampaignMode.choices, default=CampaignMode.REPLAY)
    bankroll = MoneyField(help_text="Day 1's bankroll; each later day starts from the previous day's final equity")
    days = models.PositiveIntegerField()
    start_date = models.DateField(help_text="UTC date of Day 1")
    policy = models.CharField(max_length=24, choices=AllocationPolicy.choices, default=AllocationPolicy.PERFORMANCE_WEIGHTED)
    symbols = models.JSONField()
    agents = models.PositiveIntegerField()
    seed = models.BigIntegerField(default=7)
    lookback_hours = models.PositiveIntegerField(help_text="daily cycle: tune on 2L..L hours before, score on the last L")
    trials = models.PositiveIntegerField(help_text="optuna trials per genome family in a cycle")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="campaigns")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="campaigns_cancelled")
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(days__gte=1), name="campaign_has_days"),
            models.CheckConstraint(condition=models.Q(bankroll__gt=0), name="campaign_bankroll_positive"),
            models.CheckConstraint(condition=models.Q(status__in=CampaignStatus.values), name="campaign_status_valid"),
        ]

    def __str__(self) -> str:
        return self.name or f"Campaign {self.pk}"

    @property
    def is_ended(self) -> bool:
        return self.status in CAMPAIGN_ENDED


CAMPAIGN_STATES = StateMachine(Campaign, CAMPAIGN_TRANSITIONS)


class CampaignDay(models.Model):
    """Day N of a campaign: the cohort that traded it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="campaign_days")
    number = models.PositiveIntegerField()
    date = models.DateField()
    cohort = models.OneToOneField("cohorts.Cohort", on_delete=models.PROTECT, related_name="campaign_day")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="campaign_day_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="campaign_day_from_one"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} day {self.number}"


class CycleKind(models.TextChoices):
    DAILY = "daily", "Daily (after a campaign day)"
    INTRADAY = "intraday", "Intraday (short-horizon genomes)"


class CycleStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


# A cycle is claimed running; a failed one, or one whose worker died while running, is claimed again.
CYCLE_TRANSITIONS = {
    CycleStatus.RUNNING: {CycleStatus.COMPLETED, CycleStatus.FAILED, CycleStatus.RUNNING},
    CycleStatus.FAILED: {CycleStatus.RUNNING},
    CycleStatus.COMPLETED: set(),
}


class LearningCycle(models.Model):
    """One tuning-and-evolution pass for a campaign, unique per (campaign, kind, slot)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="cycles")
    kind = models.CharField(max_length=8, choices=CycleKind.choices)
    slot = models.DateTimeField(help_text="end of the data learnt from: a day's end, or the intraday slot")
    day_number = models.PositiveIntegerField(help_text="the campaign day whose cohort fed the cycle")
    source_cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="learning_cycles")
    status = models.CharField(max_length=10, choices=CycleStatus.choices, default=CycleStatus.RUNNING)
    status_reason = models.TextField(blank=True)
    lookback_hours = models.PositiveIntegerField()
    trials = models.PositiveIntegerField(help_text="per family tuned")
    seed = models.BigIntegerField()
    tune_start = models.DateTimeField()
    tune_end = models.DateTimeField()
    score_start = models.DateTimeField()
    score_end = models.DateTimeField()
    in_sample_score = models.FloatField(null=True, blank=True, help_text="mean best score on the tuning window")
    out_of_sample_score = models.FloatField(null=True, blank=True, help_text="mean score of the winners on the next")
    families = models.JSONField(default=list, blank=True, help_text="per family: incumbent, tuned, scores, decision, trials")
    changes = models.JSONField(default=list, blank=True, help_text="per slot: kept, carried, immigrant or child, and why")
    genomes = models.JSONField(default=list, blank=True, help_text="the next population: family, params, side")
    weights = models.JSONField(default=list, blank=True, help_text="capital weights of the next population (sum 1)")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runtime_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-slot", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind", "slot"], name="cycle_unique_slot"),
            models.CheckConstraint(condition=models.Q(tune_end__lte=models.F("score_start")),
                                   name="cycle_tuning_before_scoring"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} cycle of {self.campaign} at {self.slot:%Y-%m-%d %H:%M}"



CYCLE_STATES = StateMachine(LearningCycle, CYCLE_TRANSITIONS)

class EntryKind(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign"
    CAMPAIGN_DAY = "campaign_day", "Campaign day"
    LEARNING_CYCLE = "learning_cycle", "Learning cycle"
    DECISION = "decision", "Decision"
    NARRATION = "narration", "Narration"  # the assistant's sentence for an event (assistant/services/narration.py)
    POST_MORTEM = "post_mortem", "Post-mortem"  # written after a rollback, the kill switch or a halt


class KnowledgeEntry(models.Model):
    """A line of the desk's history: what happened or was decided, why, and the numbers behind it."""

    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="entries")
    cycle = models.ForeignKey(LearningCycle, null=True, blank=True, on_delete=models.CASCADE, related_name="entries")
    cohort = models.ForeignKey("cohorts.Cohort", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="knowledge_entries")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "knowledge entries"
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return self.title
