"""History written only by services is read in the admin, never added, edited or deleted there."""
import pytest
from django.contrib import admin

from knowledge.models import EntryKind, KnowledgeEntry
from knowledge.services.entries import entry_create
from neolight.admin import ReadOnlyAdmin
from tests.factories import CohortFactory

ENTRY = "/admin/knowledge/knowledgeentry/"


@pytest.fixture
def staff(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def entry(db):
    return entry_create(kind=EntryKind.DECISION, title="Day 1 finished", body="ROI 1.2%")


def test_superuser_reads_a_knowledge_entry(staff, entry):
    assert "Day 1 finished" in staff.get(ENTRY).content.decode()
    assert staff.get(f"{ENTRY}{entry.pk}/change/").status_code == 200


def test_superuser_cannot_delete_a_knowledge_entry(staff, entry):
    assert staff.get(f"{ENTRY}{entry.pk}/delete/").status_code == 403
    assert staff.post(f"{ENTRY}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert KnowledgeEntry.objects.filter(pk=entry.pk).exists()


def test_changelist_offers_no_bulk_delete_and_refuses_one(staff, entry):
    page = staff.get(ENTRY).content.decode()
    assert "delete_selected" not in page
    staff.post(ENTRY, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert KnowledgeEntry.objects.filter(pk=entry.pk).exists()


def test_superuser_cannot_add_or_edit_a_knowledge_entry(staff, entry):
    assert staff.get(f"{ENTRY}add/").status_code == 403
    staff.post(f"{ENTRY}{entry.pk}/change/", {"kind": EntryKind.DECISION, "title": "rewritten", "body": ""})
    entry.refresh_from_db()
    assert entry.title == "Day 1 finished"


def test_superuser_reads_a_cohort_with_its_wallet_but_cannot_delete_it(staff):
    cohort = CohortFactory()
    page = staff.get(f"/admin/cohorts/cohort/{cohort.pk}/change/")
    assert page.status_code == 200 and "BTC-USDT" in page.content.decode()
    assert staff.post(f"/admin/cohorts/cohort/{cohort.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "$1,000.00" in staff.get("/admin/cohorts/cohort/").content.decode()  # the wallet's bankroll column


@pytest.mark.parametrize("app", ["cohorts", "knowledge"])
def test_every_history_admin_of_the_app_is_read_only(app):
    """Every model of cohorts and knowledge the admin shows is read-only, except market data (imported there) and
    providers' keys (configuration, typed there)."""
    editable = {"Instrument", "Bar", "ProviderCredential"}
    shown = [(model, model_admin) for model, model_admin in admin.site._registry.items()
             if model._meta.app_label == app and model.__name__ not in editable]
    assert shown
    assert [model.__name__ for model, model_admin in shown if not isinstance(model_admin, ReadOnlyAdmin)] == []
