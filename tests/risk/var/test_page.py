"""The `/risk/leverage` page as a server renders it: the subject's tier and VaR, empty states, the kill switch form."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from risk.models import KillSwitch


@pytest.mark.django_db
def test_page_shows_a_cohorts_tier_var_and_stresses(client, completed, owner):
    client.force_login(owner)
    html = client.get(f"/risk/leverage?subject=cohort&id={completed.pk}").content.decode()

    assert 'id="tier-current">2×<' in html and 'id="tier-next">3×<' in html and 'id="tier-down">1×<' in html
    assert "No leverage decisions yet — the ladder is evaluated after each cohort" in html
    assert 'id="var-h95">$' in html and 'id="var-m99">$' in html
    assert "replay of the 2021-05-19 crash" in html and "gap down 20%" in html
    assert "No breaker has tripped" in html and "No alerts yet" in html
    assert 'id="kill-button" disabled' in html and "Can engage and release the kill switch" in html


@pytest.mark.django_db
def test_live_part_and_a_wrong_subject_explain_themselves(client, outsider):
    client.force_login(outsider)
    page = client.get("/risk/leverage?subject=cohort&id=424242").content.decode()
    assert "There is no cohort 424242 you may see." in page
    live = client.get("/risk/leverage?part=live&kind=nope&from=yesterday").content.decode()
    assert 'id="risk-tier" hx-swap-oob="true"' in live and 'id="risk-live" hx-swap-oob="true"' in live
    assert "is not a date" in live


@pytest.mark.django_db
def test_kill_switch_form_needs_the_permission_and_a_reason(client, outsider):
    client.force_login(outsider)
    refused = client.post("/risk/kill-switch", {"action": "engage", "reason": "test"}, follow=True).content.decode()
    assert "You may not operate the kill switch" in refused
    assert not KillSwitch.objects.filter(engaged=True).exists()

    outsider.user_permissions.add(Permission.objects.get(codename="operate_kill_switch"))
    client.post("/risk/kill-switch", {"action": "engage", "reason": " "})
    assert not KillSwitch.objects.filter(engaged=True).exists()
    page = client.post("/risk/kill-switch", {"action": "engage", "reason": "venue outage",
                                             "next": "https://elsewhere.example/"}, follow=True)
    assert page.redirect_chain[-1][0] == "/risk/leverage"
    assert "Kill switch engaged" in page.content.decode() and "venue outage" in page.content.decode()


@pytest.mark.django_db
def test_decisions_move_the_tier_and_the_log_filters_and_pages_them(client, owner, outsider):
    from decimal import Decimal

    from risk.models import LeverageDecision, LeverageLadder
    from tests.factories import CohortFactory

    cohort = CohortFactory(launched_by=owner, status="completed")
    ladder = LeverageLadder.objects.create(name="desk", is_default=True)
    for n in range(22):
        LeverageDecision.objects.create(subject_kind="cohort", cohort=cohort, ladder=ladder, rule="hold",
                                        from_tier=Decimal(2), to_tier=Decimal(2), rationale=f"hold number {n}")
    LeverageDecision.objects.create(subject_kind="cohort", cohort=cohort, ladder=ladder, rule="step_up",
                                    from_tier=Decimal(2), to_tier=Decimal(3), inputs={"rolling_sharpe": 1.9},
                                    rationale="Sharpe 1.90 above 1.50 with a drawdown of 1.2%")

    client.force_login(owner)
    html = client.get(f"/risk/leverage?subject=cohort&id={cohort.pk}").content.decode()
    assert 'id="tier-current">3×<' in html and 'id="tier-next">4×<' in html and 'id="tier-down">2×<' in html
    assert "2× → 3×" in html and "Sharpe 1.90 above 1.50" in html and "Page 1 of 2" in html
    older = client.get(f"/risk/leverage?subject=cohort&id={cohort.pk}&page=2").content.decode()
    assert "hold number 0" in older and "Page 2 of 2" in older
    only = client.get("/risk/leverage?rule=step_up&status=applied&from=2000-01-01").content.decode()
    assert "Sharpe 1.90 above 1.50" in only and "hold number" not in only
    assert "No decision matches these filters" in client.get("/risk/leverage?to=2000-01-01").content.decode()

    client.force_login(outsider)  # another's cohort: not in their log
    assert "Sharpe 1.90 above 1.50" not in client.get("/risk/leverage?rule=step_up").content.decode()


@pytest.mark.django_db
def test_the_var_horizon_comes_from_the_query_string_within_bounds(client, completed, owner):
    client.force_login(owner)
    url = f"/risk/leverage?subject=cohort&id={completed.pk}"
    assert "over 15 minutes" in client.get(f"{url}&horizon=15").content.decode()
    assert "over 60 minutes" in client.get(f"{url}&horizon=99999").content.decode()  # out of bounds: the default
