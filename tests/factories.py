"""Rows the tests need, built in one place with factory_boy.

Cohorts built here are rows only (no ledger draw, no run): for tests of states, pages and the admin. Tests
of money launch through `cohort_launch`, as the application does."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.conf import settings
from django.utils import timezone

from cohorts.models import Cohort, CohortStatus, ParentWallet
from cohorts.services.ledger import bankroll_ensure
from knowledge.models import Campaign

PASSWORD = "test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a usable password (`PASSWORD` unless given); `superuser=True` for the admin."""

    class Meta:
        model = settings.AUTH_USER_MODEL
        skip_postgeneration_save = True

    class Params:
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


class ParentWalletFactory(factory.django.DjangoModelFactory):
    """A cohort's wallet with the configured default rules."""

    class Meta:
        model = ParentWallet

    bankroll = Decimal("1000")
    exposure_limit = factory.LazyFunction(lambda: _default("exposure_limit"))
    leverage_ceiling = factory.LazyFunction(lambda: _default("leverage_ceiling"))
    market_exposure_limit = factory.LazyFunction(lambda: _default("market_exposure_limit"))
    daily_stop = factory.LazyFunction(lambda: _default("daily_stop"))
    fee_bps = factory.LazyFunction(lambda: _default("fee_bps"))
    slippage_bps = factory.LazyFunction(lambda: _default("slippage_bps"))


class CohortFactory(factory.django.DjangoModelFactory):
    """A cohort row (pending unless `status` says otherwise; a running one holds a lease) with its wallet."""

    class Meta:
        model = Cohort
        skip_postgeneration_save = True

    source = factory.LazyFunction(lambda: bankroll_ensure(name="test", funding=Decimal(1_000_000)))
    symbols = factory.LazyFunction(lambda: ["BTC-USDT"])
    window_start = datetime(2021, 5, 6, tzinfo=UTC)
    window_end = factory.LazyAttribute(lambda cohort: cohort.window_start + timedelta(hours=1))
    status = CohortStatus.PENDING
    lease_token = factory.LazyAttribute(lambda cohort: uuid.uuid4() if cohort.status == CohortStatus.RUNNING else None)
    lease_expires_at = factory.LazyAttribute(
        lambda cohort: timezone.now() if cohort.status == CohortStatus.RUNNING else None)
    wallet = factory.RelatedFactory(ParentWalletFactory, factory_related_name="cohort")


class CampaignFactory(factory.django.DjangoModelFactory):
    """A pending three-day campaign row (nothing launched) of `created_by`."""

    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"campaign {n}")
    bankroll = Decimal("1000")
    days = 3
    start_date = datetime(2021, 5, 6, tzinfo=UTC).date()
    symbols = factory.LazyFunction(lambda: ["BTC-USDT", "ETH-USDT"])
    agents = 10
    lookback_hours = 6
    trials = 10
    created_by = factory.SubFactory(UserFactory)


def _default(name: str) -> Decimal:
    return Decimal(str(settings.COHORT_DEFAULTS[name]))
