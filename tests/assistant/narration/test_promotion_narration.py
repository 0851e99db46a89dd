"""The approval chain is narrated step by step: requested, each signature, approved (and the deployment it starts),
rejected, expired — one sentence each, once its step commits."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input
from promotions.services.requests import promotion_expire_due, promotion_reject, promotion_request_create, promotion_sign
from tests.assistant.narration.conftest import events, said
from tests.cohorts.conftest import HOURS
from tests.promotions.chain.conftest import candidate_maker, member

pytestmark = pytest.mark.django_db


def test_each_step_of_the_chain_is_narrated_once(crypto_hours, groups, commit, queued):
    cohort = cohort_run(cohort_id=cohort_launch(data=cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT",
                                                                  **HOURS), run=False).pk)
    make = candidate_maker(cohort)
    requester, ops, risk = member("requester", groups["ops"]), member("ops", groups["ops"]), member("risk", groups["risk"])
    first, second, third = make(0), make(1), make(2)
    with commit():
        request = promotion_request_create(candidate=first, user=requester)
        promotion_sign(request_id=request.pk, user=ops, note="looks sound")
        promotion_sign(request_id=request.pk, user=risk, note="limits fine")
    agent = cohort.agents.get(index=0)
    assert events() == ["promotion.requested", "promotion.signed", "promotion.approved", "deployment.started"]
    assert said("promotion.requested") == [f"Request {request.pk}: promote agent #0 ({agent.family}) of cohort "
                                           f"{cohort.pk} with $50.00, asked by requester; signed by ops then risk."]
    assert said("promotion.signed") == [f"Request {request.pk}: ops signed by ops (step 1 of 2)."]
    assert said("promotion.approved") == [f"Request {request.pk} approved: risk signed by risk, the last of 2 steps; "
                                          f"promote agent #0 ({agent.family}) of cohort {cohort.pk} with $50.00."]

    with commit():
        rejected = promotion_request_create(candidate=second, user=requester)
        promotion_reject(request_id=rejected.pk, user=ops, note="too few trades")
        late = promotion_request_create(candidate=third, user=requester)
        promotion_expire_due(now=timezone.now() + timedelta(days=30))
    assert said("promotion.rejected") == [f"Request {rejected.pk} rejected by ops (ops): too few trades"]
    assert said("promotion.expired") == [f"Request {late.pk} expired unsigned: promote agent #2 "
                                         f"({cohort.agents.get(index=2).family}) of cohort {cohort.pk} with $50.00."]
    assert len(said("promotion.requested")) == 3
