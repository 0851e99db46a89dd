"""The risk admin: alerts — channels (secrets typed, never shown), rules (the per-rule routing, quiet minutes,
thresholds), and the alerts and their delivery log, read-only."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from neolight.admin import ReadOnlyAdmin, ReadOnlyInline
from neolight.errors import ApplicationError
from risk.models import Alert, AlertChannel, AlertDelivery, AlertRule, ChannelKind
from risk.services.alerts import alert_channel_test

MASK = "••••"


class AlertChannelForm(forms.ModelForm):
    """The secret (Slack's webhook URL, Telegram's bot token) is typed, never shown back: blank keeps the stored one."""

    secret = forms.CharField(required=False, strip=True, widget=forms.PasswordInput(render_value=False),
                             help_text="Slack: the incoming webhook URL; Telegram: the bot token; e-mail: none")

    class Meta:
        model = AlertChannel
        fields = ("name", "kind", "target", "secret", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].required = False
        if self.instance.pk:
            self.fields["secret"].help_text = f"Stored: {MASK if self.instance.secret else 'none'}. Leave blank to keep it."

    def clean_secret(self):
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")

    def clean(self):
        data = super().clean()
        kind, target, secret = data.get("kind"), (data.get("target") or "").strip(), data.get("secret") or ""
        if kind == ChannelKind.EMAIL:
            addresses = [a.strip() for a in target.split(",") if a.strip()]
            if not addresses:
                self.add_error("target", "Give one or more e-mail addresses, comma-separated.")
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    self.add_error("target", f"{address} is not an e-mail address.")
        elif kind == ChannelKind.SLACK:
            try:
                URLValidator(schemes=["http", "https"])(secret)
            except ValidationError:
                self.add_error("secret", "Give the Slack incoming webhook URL (https://hooks.slack.com/services/…).")
        elif kind == ChannelKind.TELEGRAM:
            if not target:
                self.add_error("target", "Give the Telegram chat id the bot writes to.")
            if not secret:
                self.add_error("secret", "Give the bot token (from @BotFather).")
        data["target"] = target
        return data


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ("name", "kind", "target", "secret_shown", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "target")
    actions = ["send_test_alert"]

    @admin.display(description="secret")
    def secret_shown(self, obj):
        return MASK if obj.secret else "—"

    @admin.action(description="Send a test alert to the selected channels")
    def send_test_alert(self, request, queryset):
        for channel in queryset:
            try:
                answer = alert_channel_test(channel_id=channel.pk)
            except ApplicationError as exc:
                self.message_user(request, f"Test alert not delivered: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Test alert sent to {channel.name}: {answer}", messages.SUCCESS)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Per-rule routing: the channels an alert kind goes to (none: RISK_ALERT_EMAILS), its quiet minutes and threshold."""

    list_display = ("kind", "enabled", "threshold", "quiet_minutes", "channel_names")
    list_filter = ("enabled",)
    list_editable = ("enabled", "threshold", "quiet_minutes")
    filter_horizontal = ("channels",)

    @admin.display(description="channels")
    def channel_names(self, obj):
        return ", ".join(channel.name for channel in obj.channels.all()) or "default (RISK_ALERT_EMAILS)"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("channels")


class DeliveryInline(ReadOnlyInline):
    model = AlertDelivery
    fields = ("channel", "status", "attempts", "response", "error", "created_at", "sent_at")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("raised_at", "kind", "trading_mode", "status", "key", "message", "resolved_at")
    list_filter = ("kind", "status", "trading_mode")
    search_fields = ("key", "message")
    date_hierarchy = "raised_at"
    inlines = [DeliveryInline]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "alert", "channel", "status", "attempts", "response", "error", "sent_at")
    list_filter = ("status", "channel__kind", "channel", "alert__kind")
    search_fields = ("alert__message", "response", "error")
    list_select_related = ("alert", "channel")
