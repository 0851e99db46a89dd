"""Admin for market data; CSV upload goes through the same import service as the command."""
from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from cohorts.models import (
    Account,
    Agent,
    Bankroll,
    Bar,
    Cohort,
    Entry,
    Instrument,
    LedgerTransaction,
    ProviderCredential,
    Session,
)
from cohorts.selectors.market import market_overview_expire
from cohorts.services.market import bars_import_upload
from neolight import formats
from neolight.admin import ReadOnlyAdmin, ReadOnlyInline
from neolight.errors import ApplicationError


class BarUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with header timestamp,open,high,low,close,volume (UTC)")
    symbol = forms.CharField(required=False, help_text="Leave empty to take it from the file name (BTC-USDT_1m.csv)")
    calendar = forms.CharField(required=False, help_text="24/7 (crypto) or an exchange calendar such as XNYS; "
                                                         "leave empty to keep the symbol's (24/7 if new)")
    session = forms.ChoiceField(required=False, choices=[("", "keep the symbol's (regular if new)"),
                                                         *Session.choices])


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("symbol", "name", "asset_class", "quote_currency", "calendar", "session", "ingest", "bar_count")
    list_editable = ("ingest",)  # tick to fetch the symbol's new bars each minute
    list_filter = ("asset_class", "calendar", "ingest")
    search_fields = ("symbol", "name")
    change_list_template = "admin/cohorts/instrument/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(bar_count=Count("bars"))

    @admin.display(ordering="bar_count", description="bars")
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(market_overview_expire)  # the market page and launch forms show calendars

    def bar_count(self, obj):
        return obj.bar_count

    def get_urls(self):
        upload = path("import-bars/", self.admin_site.admin_view(self.import_bars_view), name="cohorts_import_bars")
        return [upload, *super().get_urls()]

    def import_bars_view(self, request):
        """Upload one CSV file; a bad file is refused whole with its line and reason."""
        if not self.has_add_permission(request):
            messages.error(request, "You may not import bars.")
            return redirect("admin:cohorts_instrument_changelist")
        form = BarUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = bars_import_upload(upload=upload.file, name=upload.name, symbol=form.cleaned_data["symbol"] or None,
                                            calendar=form.cleaned_data["calendar"] or None,
                                            session=form.cleaned_data["session"] or None)
            except ApplicationError as exc:
                form.add_error("file", f"{exc.message} — nothing was imported.")
            else:
                messages.success(request, f"{report.symbol}: {report.rows} rows read, {report.inserted} new, "
                                          f"{report.already_present} already stored.")
                return redirect("admin:cohorts_instrument_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "title": "Import bars from CSV",
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/cohorts/instrument/import_bars.html", context)


@admin.register(Bar)
class BarAdmin(admin.ModelAdmin):
    list_display = ("instrument", "ts", "open_price", "high_price", "low_price", "close_price", "volume_units")
    list_filter = ("instrument",)
    date_hierarchy = "ts"
    list_select_related = ("instrument",)
    show_full_result_count = False

    @admin.display(description="open", ordering="open")
    def open_price(self, obj):
        return formats.price(obj.open)

    @admin.display(description="high", ordering="high")
    def high_price(self, obj):
        return formats.price(obj.high)

    @admin.display(description="low", ordering="low")
    def low_price(self, obj):
        return formats.price(obj.low)

    @admin.display(description="close", ordering="close")
    def close_price(self, obj):
        return formats.price(obj.close)

    @admin.display(description="volume", ordering="volume")
    def volume_units(self, obj):
        return formats.quantity(obj.volume)

    def has_add_permission(self, request):
        return False  # bars come from imports only

    def has_change_permission(self, request, obj=None):
        return False


class AgentFigures:
    """An agent's figures as the pages show them (money, signed percents, rounded parameters)."""

    @admin.display(description="capital", ordering="capital")
    def capital_shown(self, obj):
        return formats.money(obj.capital)

    @admin.display(description="final equity", ordering="final_equity")
    def final_equity_shown(self, obj):
        return formats.money(obj.final_equity)

    @admin.display(description="realised PnL", ordering="realised_pnl")
    def realised_pnl_shown(self, obj):
        return formats.money(obj.realised_pnl)

    @admin.display(description="unrealised PnL", ordering="unrealised_pnl")
    def unrealised_pnl_shown(self, obj):
        return formats.money(obj.unrealised_pnl)

    @admin.display(description="ROI", ordering="roi")
    def roi_shown(self, obj):
        return formats.signed_percent(obj.roi)

    @admin.display(description="win rate", ordering="win_rate")
    def win_rate_shown(self, obj):
        return formats.percent(obj.win_rate, 0)

    @admin.display(description="utilisation", ordering="utilisation")
    def utilisation_shown(self, obj):
        return formats.percent(formats.from_percent(obj.utilisation), 1)

    @admin.display(description="Sharpe", ordering="sharpe")
    def sharpe_shown(self, obj):
        return formats.number(obj.sharpe)

    @admin.display(description="max drawdown", ordering="max_drawdown")
    def max_drawdown_shown(self, obj):
        return formats.percent(obj.max_drawdown)

    @admin.display(description="confidence", ordering="confidence")
    def confidence_shown(self, obj):
        return formats.number(obj.confidence, 3)

    @admin.display(description="parameters")
    def params_shown(self, obj):
        return formats.params(obj.params)


class AgentInline(AgentFigures, ReadOnlyInline):
    model = Agent
    fields = ("index", "family", "params_shown", "capital_shown", "final_equity_shown", "roi_shown", "sharpe_shown",
              "max_drawdown_shown", "trades", "confidence_shown")
    show_change_link = True


@admin.register(Cohort)
class CohortAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "bankroll", "window_start", "day_number", "roi_shown", "is_ledger_balanced",
                    "is_reconciled", "runtime_seconds", "created_at")
    list_filter = ("status", "wallet__policy")
    list_select_related = ("wallet",)
    date_hierarchy = "window_start"
    fields = ("status", "status_reason", "source", "launched_by", "symbols", "window_start", "window_end", "seed",
              "day_number", "bankroll", "final_equity_shown", "roi_shown", "max_drawdown_shown", "utilisation_shown",
              "breaches", "agents_paused", "is_ledger_balanced", "is_reconciled", "runtime_seconds", "progress",
              "created_at", "started_at", "finished_at", "compliance_notes")
    readonly_fields = ("bankroll", "final_equity_shown", "roi_shown", "max_drawdown_shown", "utilisation_shown",
                       "agents_paused")
    inlines = [AgentInline]

    @admin.display(ordering="wallet__bankroll")
    def bankroll(self, obj):
        return formats.money(obj.wallet.bankroll)

    @admin.display(description="final equity", ordering="final_equity")
    def final_equity_shown(self, obj):
        return formats.money(obj.final_equity)

    @admin.display(description="ROI", ordering="roi")
    def roi_shown(self, obj):
        return formats.signed_percent(obj.roi)

    @admin.display(description="max drawdown", ordering="max_drawdown")
    def max_drawdown_shown(self, obj):
        return formats.percent(obj.max_drawdown)

    @admin.display(description="utilisation (mean gross exposure / equity)")
    def utilisation_shown(self, obj):
        return formats.percent(formats.from_percent(obj.utilisation), 1)

    @admin.display(description="agents paused by a circuit breaker")
    def agents_paused(self, obj):
        return obj.failed_agents


@admin.register(Agent)
class AgentAdmin(AgentFigures, ReadOnlyAdmin):
    list_display = ("cohort", "index", "family", "capital_shown", "final_equity_shown", "roi_shown", "sharpe_shown",
                    "trades", "confidence_shown")
    fields = ("cohort", "index", "family", "params_shown", "is_short_horizon", "capital_shown", "final_equity_shown",
              "realised_pnl_shown", "unrealised_pnl_shown", "roi_shown", "sharpe_shown", "max_drawdown_shown",
              "utilisation_shown", "leverage_breaches", "trades", "win_rate_shown", "confidence_shown")
    readonly_fields = fields
    list_filter = ("family",)
    list_select_related = ("cohort",)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "cohort", "agent")
    list_filter = ("kind",)
    search_fields = ("code",)


class EntryInline(ReadOnlyInline):
    model = Entry
    fields = ("account", "amount_shown")

    @admin.display(description="amount")
    def amount_shown(self, obj):
        return formats.money_exact(obj.amount)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "idempotency_key", "cohort", "memo", "created_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key",)
    inlines = [EntryInline]


admin.site.register(Bankroll, ReadOnlyAdmin)


MASK = "••••"


def masked(value: str | None) -> str:
    """A key shown without giving it away: its first and last four characters when long enough, else dots."""
    if not value:
        return "—"
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 16 else MASK


class ProviderCredentialForm(forms.ModelForm):
    """Keys are typed, never shown: a field left blank keeps the stored value."""

    key_id = forms.CharField(required=False, strip=True, widget=forms.PasswordInput(render_value=False),
                             help_text="Alpaca's key id, or the API key of Finnhub and TwelveData")
    secret = forms.CharField(required=False, strip=True, widget=forms.PasswordInput(render_value=False),
                             help_text="Alpaca's secret key; empty for Finnhub and TwelveData")

    class Meta:
        model = ProviderCredential
        fields = ("provider", "key_id", "secret", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["key_id"].help_text = f"Stored: {masked(self.instance.key_id)}. Leave blank to keep it."
            self.fields["secret"].help_text = f"Stored: {MASK if self.instance.secret else 'none'}. Leave blank to keep it."

    def clean_key_id(self):
        key_id = self.cleaned_data["key_id"] or (self.instance.key_id if self.instance.pk else "")
        if not key_id:
            raise forms.ValidationError("Enter the key.")
        return key_id

    def clean_secret(self):
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    form = ProviderCredentialForm
    list_display = ("provider", "key_id_shown", "secret_shown", "enabled", "updated_at", "updated_by")
    list_filter = ("enabled",)
    readonly_fields = ("updated_at", "updated_by")

    @admin.display(description="key id")
    def key_id_shown(self, obj):
        return masked(obj.key_id)

    @admin.display(description="secret")
    def secret_shown(self, obj):
        return MASK if obj.secret else "—"

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
