"""Fixtures of the guardian tests: the deployment tests' approved requests and approvers, a quarter of an hour of
bundled bars (a run of fifteen bars ends in seconds), a genome that trades within it, and permitted users."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.conftest import sample_slice
from tests.factories import UserFactory
from tests.promotions.deployments.conftest import (  # noqa: F401
    START,
    approved,
    at_start,
    desk,
    ops_user,
    queued,
    quick_passwords,
    risk_user,
)

SYMBOLS = ["BTC-USDT", "ETH-USDT"]
QUICK = {"family": "ma_crossover", "params": {"fast": 2, "slow": 4, "ma": "sma", "side": "long"}}  # trades at once


@pytest.fixture
def quarter_hour(db, tmp_path):
    """The first fifteen bars of BTC-USDT and ETH-USDT, imported through the real service."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 15) for s in SYMBOLS])


@pytest.fixture
def operator(db):
    """A user allowed to operate the kill switch."""
    user = UserFactory(username="switcher")
    user.user_permissions.add(Permission.objects.get(codename="operate_kill_switch"))
    return user
