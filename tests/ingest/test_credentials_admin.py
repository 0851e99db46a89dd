"""The admin shows provider keys masked, never decrypted, and keeps a stored secret when its field is left blank."""
from __future__ import annotations

import pytest
from django.urls import reverse

from cohorts.models import ProviderCredential

pytestmark = pytest.mark.django_db

KEY_ID, SECRET = "PKABCDEFGH12345J7Q2Z", "s3cr3t-alpaca-secret-key-0123456789abcdef"


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def alpaca():
    return ProviderCredential.objects.create(provider="alpaca", key_id=KEY_ID, secret=SECRET)


def test_list_and_change_pages_show_keys_masked(admin_client, alpaca):
    listing = admin_client.get(reverse("admin:cohorts_providercredential_changelist")).content.decode()
    assert "PKAB…7Q2Z" in listing and "••••" in listing
    change = admin_client.get(reverse("admin:cohorts_providercredential_change", args=[alpaca.pk])).content.decode()
    assert "PKAB…7Q2Z" in change
    for page in (listing, change):
        assert KEY_ID not in page and SECRET not in page


def test_blank_secret_keeps_the_stored_one(admin_client, alpaca, superuser):
    response = admin_client.post(reverse("admin:cohorts_providercredential_change", args=[alpaca.pk]),
                                 {"provider": "alpaca", "key_id": "PKNEWKEYID9876543210", "secret": "",
                                  "enabled": "on", "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]
    row = ProviderCredential.objects.get(pk=alpaca.pk)
    assert (row.key_id, row.secret, row.updated_by) == ("PKNEWKEYID9876543210", SECRET, superuser)


def test_typed_secret_replaces_the_stored_one_and_is_not_echoed(admin_client):
    response = admin_client.post(reverse("admin:cohorts_providercredential_add"),
                                 {"provider": "twelvedata", "key_id": "td-0123456789abcdef0123456789abcd",
                                  "secret": "", "enabled": "on", "_continue": "Save"}, follow=True)
    row = ProviderCredential.objects.get(provider="twelvedata")
    assert (row.key_id, row.secret) == ("td-0123456789abcdef0123456789abcd", "")
    assert "td-0123456789abcdef0123456789abcd" not in response.content.decode()


def test_a_new_provider_needs_its_key(admin_client):
    response = admin_client.post(reverse("admin:cohorts_providercredential_add"),
                                 {"provider": "finnhub", "key_id": "", "secret": "", "enabled": "on", "_save": "Save"})
    assert response.status_code == 200 and "Enter the key." in response.content.decode()
    assert not ProviderCredential.objects.exists()


def test_instrument_list_toggles_ingestion(admin_client):
    from cohorts.models import Instrument

    spy = Instrument.objects.create(symbol="SPY", calendar="XNYS")
    page = admin_client.get(reverse("admin:cohorts_instrument_changelist"))
    assert 'name="form-0-ingest"' in page.content.decode()
    response = admin_client.post(reverse("admin:cohorts_instrument_changelist"), {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(spy.pk), "form-0-ingest": "on",
        "_save": "Save"})
    assert response.status_code == 302
    spy.refresh_from_db()
    assert spy.ingest is True
