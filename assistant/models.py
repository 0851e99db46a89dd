"""The assistant's records: who receives the scheduled reports, and every report delivery made.

A delivery is unique per (recipient, report kind, period): the schedule claims the row before it sends, so a
retry after a crash or a mail-server outage finds the report already sent and sends nothing twice.
"""
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models


class ReportKind(models.TextChoices):
    DAILY = "daily", "Daily report (a UTC date)"
    CAMPAIGN = "campaign", "Campaign report (when a campaign ends)"


class ReportRecipient(models.Model):
    """A person or list that receives reports by e-mail, configured in the admin."""

    name = models.CharField(max_length=120, unique=True)
    emails = models.TextField(help_text="e-mail addresses, one per line or separated by commas")
    gets_daily = models.BooleanField(default=True, help_text="receives the daily report after each UTC day ends")
    gets_campaign = models.BooleanField(default=True, help_text="receives a campaign's report when the campaign ends")
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~models.Q(emails=""), name="report_recipient_has_emails")]

    def __str__(self) -> str:
        return self.name

    @property
    def addresses(self) -> list[str]:
        """The addresses, in order, without blanks or repeats."""
        found = [part.strip() for line in self.emails.splitlines() for part in line.split(",")]
        return list(dict.fromkeys(address for address in found if address))

    def clean(self) -> None:
        bad = [address for address in self.addresses if not _is_email(address)]
        if bad or not self.addresses:
            raise ValidationError({"emails": f"Not an e-mail address: {', '.join(bad)}" if bad else "Give an address."})
        if not (self.gets_daily or self.gets_campaign):
            raise ValidationError("Choose the daily report, the campaign reports, or both.")

    def gets(self, kind: str) -> bool:
        return self.gets_daily if kind == ReportKind.DAILY else self.gets_campaign


def _is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Sending"
    SENT = "sent", "Sent"


class ReportDelivery(models.Model):
    """One report for one period to one recipient: claimed pending, marked sent once the mail server took it."""

    recipient = models.ForeignKey(ReportRecipient, on_delete=models.PROTECT, related_name="deliveries")
    kind = models.CharField(max_length=8, choices=ReportKind.choices)
    period = models.CharField(max_length=32, help_text="the UTC date (YYYY-MM-DD) or the campaign's id")
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, help_text="the last failure, if any")
    addresses = models.JSONField(default=list, blank=True, help_text="where it was sent")
    attachments = models.JSONField(default=list, blank=True, help_text="file names attached")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "report deliveries"
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "period"], name="report_delivery_once_per_period"),
            models.CheckConstraint(condition=models.Q(kind__in=ReportKind.values), name="report_delivery_kind_valid"),
            models.CheckConstraint(condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                                   name="report_delivery_sent_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} report {self.period} to {self.recipient_id} ({self.status})"
