"""Risk events are narrated: a leverage decision that moves the tier (not one that holds), an alert (once per
breach; not one that repeats a rollback), a breaker opening, the kill switch engaged and released; the kill switch
and a breaker halting its subject each get one post-mortem."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from assistant.selectors.narration import postmortems_since
from assistant.services.postmortem import postmortem_halt, postmortem_kill_switch
from cohorts.models import CohortMode
from promotions.services.deployments import deployment_resume
from risk.models import BreakerEvent, KillSwitchEvent, TradingState
from risk.services.alerts import alert_raise
from risk.services.guardian import Reading, SubjectGuard, kill_switch_engage, kill_switch_release
from risk.services.leverage import leverage_evaluate
from risk.services.modes import mode_change
from tests.assistant.narration.conftest import events, post_mortems, said
from tests.factories import CohortFactory
from tests.promotions.chain.conftest import member
from tests.risk.guardian.conftest import START

pytestmark = pytest.mark.django_db


def test_a_leverage_decision_is_narrated_only_when_it_moves_the_tier(ladder, campaign_days, commit):
    campaign = campaign_days([0.010, 0.012, 0.011])
    with commit():
        for _ in range(3):  # two holds (too few days), then a step up
            leverage_evaluate(campaign=campaign)
    assert events() == ["leverage.changed"]
    sentence, = said()
    assert re.fullmatch(rf"Leverage for campaign {campaign.pk}: 2× → 3× \(rolling Sharpe \d+\.\d\d > 1\.50 and "
                        r"drawdown 0\.0 % < 3\.0 %\)\.", sentence), sentence


def test_an_alert_is_narrated_once_per_breach_and_not_when_another_sentence_says_it(commit):
    with commit():
        alert_raise("utilisation", "bankroll:1", "Bankroll desk is 97 % drawn, above the 90 % limit")
        alert_raise("utilisation", "bankroll:1", "Bankroll desk is 98 % drawn, above the 90 % limit")  # still open
        alert_raise("rollback", "deployment:1", "Deployment 1 rolled back: by hand")
    assert said() == ["Alert, Bankroll utilisation [PAPER]: Bankroll desk is 97 % drawn, above the 90 % limit"]


def test_a_breaker_halting_a_live_cohort_is_narrated_with_one_post_mortem(commit):
    cohort = CohortFactory(mode=CohortMode.LIVE)
    guard = SubjectGuard(cohort=cohort, start_equity=10_000)
    with commit():
        guard.bar(Reading(START + timedelta(minutes=1), 10_000))
        assert guard.bar(Reading(START + timedelta(minutes=2), 9_480)).state == TradingState.HALTED  # a 5.2 % loss
    opened = said("breaker.opened")
    assert len(opened) == 2 and all(s.startswith(f"Breaker opened on cohort {cohort.pk}: ") for s in opened)
    assert any("Hard capital stop (day), halted — the day's loss is 5.20%" in s for s in opened)
    assert said("alert.raised") == []  # the breakers' alerts repeat these sentences
    written, = post_mortems()
    assert written.title == f"Post-mortem: cohort {cohort.pk} halted (Hard capital stop (day))"
    assert "Equity at the halt $9,480.00; the day opened at $10,000.00 (loss 5.2 %)" in written.body
    assert "a permitted person resets it" in written.body and "active → halted" in written.body
    halt = BreakerEvent.objects.get(to_state=TradingState.HALTED)
    assert postmortem_halt(event=halt).pk == written.pk and len(post_mortems()) == 1


def test_the_kill_switch_is_narrated_with_what_it_paused_and_one_post_mortem(operator, deployment_of, groups, commit):
    deployment = deployment_of("PAPER")
    with commit():
        kill_switch_engage(user=operator, reason="exchange outage")
    assert events() == ["deployment.paused", "kill_switch.engaged", "post_mortem.written"]
    assert said("deployment.paused") == [f"Deployment {deployment.pk} paused: Kill switch: exchange outage"]
    assert said("kill_switch.engaged") == ["Kill switch engaged by switcher: exchange outage. Deployments paused: 1; "
                                           "live cohorts halted: 0."]
    written, = post_mortems()
    assert "switcher engaged the kill switch at" in written.body
    assert f"Deployment {deployment.pk}: $1,000.00 drawn, PAPER on the paper broker" in written.body
    assert f"Deployment {deployment.pk}: Paused: Kill switch: exchange outage" in written.body
    engaged = KillSwitchEvent.objects.get(engaged=True)
    assert postmortem_kill_switch(event=engaged).pk == written.pk
    assert postmortems_since(engaged.created_at.date()) == [written]
    assert postmortems_since(engaged.created_at + timedelta(seconds=1)) == []

    with commit():
        kill_switch_release(user=operator, reason="exchange back")
        deployment_resume(deployment_id=deployment.pk, reason="prices sane again", user=member("risky", groups["risk"]))
    assert said("kill_switch.released") == ["Kill switch released by switcher: exchange back. Paused deployments "
                                            "stay paused."]
    assert said("deployment.resumed") == [f"Deployment {deployment.pk} resumed: prices sane again"]
    assert len(post_mortems()) == 1


def test_a_change_of_trading_mode_is_narrated(deployment_of, groups, commit):
    deployment = deployment_of("LIVE")
    with commit():
        mode_change(deployment_id=deployment.pk, to="PAPER", user=member("risky", groups["risk"]), reason="calmer")
    assert said() == [f"Deployment {deployment.pk}'s trading mode: LIVE → PAPER (by hand): calmer"]
