"""Fixtures of the Day-3 go/no-go tests: approvers in their groups, and a finished three-day campaign."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.conftest import sample_slice
from tests.factories import UserFactory

PAIR = ["BTC-USDT", "ETH-USDT"]
PERMISSIVE = {"min_trades": 0, "max_slippage_bps": 1000, "min_liquidity_ratio": 0, "max_drawdown": 1,
              "min_confidence": 0, "min_deflated_sharpe": 0, "min_walk_forward": 0, "min_paper_days": 0,
              "min_sharpe": -1000, "max_readiness_drawdown": 1, "min_win_rate": 0, "max_error_rate": 1}


def member(username: str, *groups: str):
    user = UserFactory(username=username, password=f"{username}-password-1", email=f"{username}@desk.example")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@pytest.fixture
def approvers(db) -> dict:
    """ops, a second ops, risk, and an outsider in no group."""
    return {"ops": member("olivia", "ops"), "ops2": member("oscar", "ops"), "risk": member("rita", "risk"),
            "outsider": member("otto")}


@pytest.fixture
def campaign_done(db, tmp_path):
    """A three-day replay campaign over two bundled pairs (2021-05-07 … 05-09), run to completion."""
    from cohorts.services.market import bars_import_files
    from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay

    bars_import_files(paths=[sample_slice(tmp_path, s, 4 * 1440) for s in PAIR])
    campaign = campaign_create(data=campaign_input(bankroll="2000", days=3, start="2021-05-07", agents=10,
                                                   symbols=",".join(PAIR), lookback_hours=6, trials=3))
    return campaign_replay(campaign_id=campaign.pk)


@pytest.fixture
def policy(db):
    """The default promotion policy; tests set its guards."""
    from promotions.models import PromotionPolicy

    return PromotionPolicy.objects.create(name="desk", is_default=True, guards=dict(PERMISSIVE))
