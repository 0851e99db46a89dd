"""The promotions admin: policies (validated guards and chain), and read-only candidates, requests, signatures,
deployments and the log. A request's page shows its payload, checks, risk metrics and signature chain with
each row's verification, and Approve / Reject buttons (note required, POST only) that call the same services
as the API; no field and no status is edited here."""
from __future__ import annotations

import json
import numbers

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from neolight.admin import ReadOnlyAdmin, ReadOnlyInline
from neolight.errors import ApplicationError
from promotions.engine import gate
from promotions.models import (
    Deployment,
    GuardCheck,
    PromotionCandidate,
    PromotionLog,
    PromotionPolicy,
    PromotionRequest,
    RequestStatus,
    Signature,
)
from promotions.selectors.requests import may_sign_now, request_detail
from promotions.services.requests import promotion_reject, promotion_sign


class PromotionPolicyForm(forms.ModelForm):
    class Meta:
        model = PromotionPolicy
        fields = ["name", "is_default", "guards", "approval_roles"]

    def clean_guards(self):
        guards = self.cleaned_data["guards"] or {}
        if not isinstance(guards, dict):
            raise forms.ValidationError("Guards are a JSON object of threshold names and numbers.")
        unknown = sorted(set(guards) - set(gate.SPECS))
        if unknown:
            raise forms.ValidationError(f"Unknown guards: {', '.join(unknown)} (known: {', '.join(gate.SPECS)}).")
        not_numbers = sorted(k for k, v in guards.items() if isinstance(v, bool) or not isinstance(v, numbers.Real))
        if not_numbers:
            raise forms.ValidationError(f"Not numbers: {', '.join(not_numbers)}.")
        return guards

    def clean_approval_roles(self):
        roles = self.cleaned_data["approval_roles"] or []
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise forms.ValidationError("Approval roles are an ordered JSON list of group names.")
        if len(set(roles)) != len(roles):
            raise forms.ValidationError("Each group signs once: a role is named twice.")
        missing = sorted(set(roles) - set(Group.objects.filter(name__in=roles).values_list("name", flat=True)))
        if missing:
            raise forms.ValidationError(f"No such groups: {', '.join(missing)}.")
        return roles


@admin.register(PromotionPolicy)
class PromotionPolicyAdmin(admin.ModelAdmin):
    form = PromotionPolicyForm
    list_display = ("name", "is_default", "approval_roles", "updated_at")


class GuardCheckInline(ReadOnlyInline):
    model = GuardCheck
    fields = ("kind", "name", "value", "comparison", "threshold", "passed", "detail")


@admin.register(PromotionCandidate)
class PromotionCandidateAdmin(ReadOnlyAdmin):
    list_display = ("id", "cohort", "agent", "rank", "score", "family", "allocation", "is_eligible", "created_at")
    list_filter = ("is_eligible", "family")
    list_select_related = ("cohort", "agent")
    inlines = [GuardCheckInline]


@admin.register(PromotionRequest)
class PromotionRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "candidate", "status", "roles", "requested_by", "created_at", "expires_at", "decided_at")
    list_filter = ("status",)
    list_select_related = ("candidate", "requested_by")
    readonly_fields = ("candidate", "status", "status_reason", "payload_digest", "roles", "requested_by",
                       "created_at", "expires_at", "decided_at")
    exclude = ("payload",)
    change_form_template = "admin/promotions/promotionrequest/change_form.html"

    def get_urls(self):
        return [
            path("<int:request_id>/approve/", self.admin_site.admin_view(self.approve_view),
                 name="promotions_promotionrequest_approve"),
            path("<int:request_id>/reject/", self.admin_site.admin_view(self.reject_view),
                 name="promotions_promotionrequest_reject"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = get_object_or_404(PromotionRequest.objects.select_related("candidate__agent"), pk=object_id)
        detail = request_detail(obj)
        extra = {"detail": detail, "payload_json": json.dumps(obj.payload, indent=2, sort_keys=True),
                 "may_sign": obj.status == RequestStatus.PENDING and may_sign_now(request.user, obj)}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def approve_view(self, request, request_id: int):
        return self._decide(request, request_id, promotion_sign, "approved")

    def reject_view(self, request, request_id: int):
        return self._decide(request, request_id, promotion_reject, "rejected")

    def _decide(self, request, request_id: int, service, verb: str):
        """Calls `service` (sign or reject) as the signed-in user with the posted note; the service decides."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            service(request_id=request_id, user=request.user, note=request.POST.get("note", ""),
                    payload_digest=request.POST.get("payload_digest") or None)
        except ApplicationError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, f"Request {request_id}: you {verb} its step.")
        return redirect(reverse("admin:promotions_promotionrequest_change", args=[request_id]))


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "step", "role", "user", "decision", "signed_at", "payload_digest", "hash")
    list_filter = ("role", "decision")
    list_select_related = ("request", "user")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "request", "status", "broker", "trading_mode", "capital", "started_at", "ends_at")
    list_filter = ("status", "broker", "trading_mode")


@admin.register(PromotionLog)
class PromotionLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "request", "deployment", "actor", "message")
    list_filter = ("kind",)
    list_select_related = ("actor",)
    search_fields = ("message",)
