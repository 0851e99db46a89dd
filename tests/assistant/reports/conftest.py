"""Fixtures of the reports tests: one small cohort run on the bundled first day, with a decision, an approval, a
narration and a post-mortem about it; a local mail server."""
from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assistant.reports.pdf import pdf_unavailable
from tests.promotions.smtp_stub import SmtpStub

DAY = date(2021, 5, 6)
WINDOW = {"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T03:00:00Z"}


needs_pdf = pytest.mark.skipif(pdf_unavailable() is not None, reason="WeasyPrint needs Pango (libpango-1.0-0)")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="reading PDFs needs poppler-utils")


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def day_cohort(crypto_day, maker):
    """A completed cohort of 10 agents over three hours of 2021-05-06 on BTC and ETH, launched by `maker`, with a
    formula-like compliance note."""
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input

    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT,ETH-USDT",
                        compliance_notes="=HYPERLINK(\"http://evil.example\")", **WINDOW)
    cohort = cohort_run(cohort_id=cohort_launch(data=data, user=maker, run=False).pk)
    assert cohort.status == "completed" and cohort.fills.exists()
    return cohort


@pytest.fixture
def day_story(day_cohort):
    """What was decided about the day's cohort: a leverage decision, a signed promotion request, a narration
    and a post-mortem."""
    from cohorts.models import Agent
    from knowledge.models import EntryKind, KnowledgeEntry
    from promotions.models import PromotionCandidate, PromotionRequest, Signature
    from risk.models import LeverageDecision, LeverageLadder
    from tests.factories import UserFactory

    ladder = LeverageLadder.objects.create(name="reports", is_default=True)
    LeverageDecision.objects.create(subject_kind="cohort", cohort=day_cohort, ladder=ladder, rule="step_up",
                                    from_tier=Decimal(2), to_tier=Decimal(3), rationale="Sharpe 2.1 over 3 hours")
    agent = Agent.objects.filter(cohort=day_cohort).order_by("-roi").first()
    candidate = PromotionCandidate.objects.create(cohort=day_cohort, agent=agent, rank=1, score=1.0, family=agent.family,
                                                  params=agent.params, allocation=Decimal(50), is_eligible=True)
    now = timezone.now()
    request = PromotionRequest.objects.create(candidate=candidate, roles=["ops", "risk"], payload_digest="a" * 64,
                                              payload={"allocation": "50.00"}, expires_at=now + timedelta(days=1))
    Signature.objects.create(request=request, step=0, role="ops", user=UserFactory(username="olivia"),
                             decision="approve", note="Checks reviewed.", payload_digest="a" * 64,
                             previous_hash="0" * 64, hash="f00dfeed" + "1" * 56, signed_at=now)
    KnowledgeEntry.objects.create(kind=EntryKind.NARRATION, title=f"Cohort {day_cohort.pk} finished.",
                                  cohort=day_cohort)
    KnowledgeEntry.objects.create(kind=EntryKind.POST_MORTEM, title="Post-mortem: kill switch at 02:10",
                                  body="Timeline: 02:10 kill switch by risk.", cohort=day_cohort)
    return day_cohort


@pytest.fixture
def smtp(settings):
    with SmtpStub() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server
