"""Fixtures of the assistant's tests: stored bars for a grow plan, users with and without the rights."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import sample_slice

PAIR = ["BTC-USDT"]


@pytest.fixture
def two_days(db, tmp_path):
    """A bundled pair's first two days (2021-05-06 and 2021-05-07 UTC), imported through the real service."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 2 * 1440) for s in PAIR])


@pytest.fixture
def grower(maker):
    """The maker, allowed to start campaigns and launch cohorts."""
    maker.user_permissions.add(*Permission.objects.filter(codename__in=["add_campaign", "add_cohort"]))
    return maker


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client
