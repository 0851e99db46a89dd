"""Admin for market data; CSV upload goes through the same import service as the command."""
from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from cohorts.models import Account, Agent, Bankroll, Bar, Cohort, Entry, Instrument, LedgerTransaction, Session
from cohorts.services.market import bars_import_upload
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
    list_display = ("symbol", "name", "asset_class", "quote_currency", "calendar", "session", "bar_count")
    list_filter = ("asset_class", "calendar")
    search_fields = ("symbol", "name")
    change_list_template = "admin/cohorts/instrument/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(bar_count=Count("bars"))

    @admin.display(ordering="bar_count", description="bars")
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
    list_display = ("instrument", "ts", "open", "high", "low", "close", "volume")
    list_filter = ("instrument",)
    date_hierarchy = "ts"
    list_select_related = ("instrument",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # bars come from imports only

    def has_change_permission(self, request, obj=None):
        return False


class AgentInline(ReadOnlyInline):
    model = Agent
    fields = ("index", "family", "capital", "final_equity", "roi", "sharpe", "max_drawdown", "trades", "confidence")
    show_change_link = True


@admin.register(Cohort)
class CohortAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "bankroll", "window_start", "day_number", "roi", "is_ledger_balanced",
                    "is_reconciled", "runtime_seconds", "created_at")
    list_filter = ("status", "wallet__policy")
    list_select_related = ("wallet",)
    date_hierarchy = "window_start"
    inlines = [AgentInline]

    @admin.display(ordering="wallet__bankroll")
    def bankroll(self, obj):
        return obj.wallet.bankroll


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ("cohort", "index", "family", "capital", "final_equity", "roi", "sharpe", "trades", "confidence")
    list_filter = ("family",)
    list_select_related = ("cohort",)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "cohort", "agent")
    list_filter = ("kind",)
    search_fields = ("code",)


class EntryInline(ReadOnlyInline):
    model = Entry
    fields = ("account", "amount")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "idempotency_key", "cohort", "memo", "created_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key",)
    inlines = [EntryInline]


admin.site.register(Bankroll, ReadOnlyAdmin)
