"""Fixtures of the cohorts tests: a couple of hours of bundled bars, enough for cheap launches."""
from __future__ import annotations

import pytest

from tests.conftest import sample_slice

HOURS_SYMBOLS = ["BTC-USDT", "ETH-USDT"]
HOURS = {"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T02:00:00Z"}  # every bar of `crypto_hours`


@pytest.fixture
def crypto_hours(db, tmp_path):
    """The first two hours (120 bars) of BTC-USDT and ETH-USDT, imported through the real service."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 120) for s in HOURS_SYMBOLS])


@pytest.fixture
def operator(client, maker):
    """The web client of a maker who may launch cohorts."""
    from django.contrib.auth.models import Permission

    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    client.force_login(maker)
    return client


@pytest.fixture
def launcher(client, api, maker):
    """A maker who may launch cohorts, through the API and through the launch page."""
    from django.contrib.auth.models import Permission

    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    client.force_login(maker)
    return {"api": api, "page": client}
