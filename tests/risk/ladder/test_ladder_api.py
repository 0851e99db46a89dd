"""`GET /api/risk/leverage`: sign-in required, one subject's tier, next tier, triggers, ladder and decisions;
the house bankroll by default; clear 400s and 404s naming the field. The admin and `manage.py leverage_evaluate`."""
from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.html import escape

from cohorts.services.ledger import bankroll_ensure
from risk.admin.ladder import LeverageLadderForm
from risk.services.leverage import leverage_evaluate

URL = reverse("api-risk-leverage")


def test_sign_in_required(anonymous_api, ladder):
    assert anonymous_api.get(URL).status_code in (401, 403)


def test_one_cohorts_tier_next_tier_triggers_and_decisions(api, ladder, completed_cohort):
    cohort = completed_cohort([0.010, 0.012, 0.011])
    decision = leverage_evaluate(cohort=cohort)
    leverage_evaluate(cohort=completed_cohort([-0.06]))  # another subject's decision stays out
    body = api.get(URL, {"cohort": cohort.pk}).json()
    assert body["subject"] == {"kind": "cohort", "id": cohort.pk}
    assert (body["tier"], body["next_tier"]) == ("3.00", "4.00")
    assert body["triggers"] == {"step_up": "rolling Sharpe > 1.50 and drawdown < 3.0% over 3 observations",
                                "step_down": "drawdown ≥ 5.0% or 3 losses in a row"}
    assert body["ladder"]["cap"] == "5.00" and body["ladder"]["window"] == 3
    assert body["count"] == 1 and body["pages"] == 1
    row, = body["decisions"]
    assert row["id"] == decision.pk and row["subject"] == {"kind": "cohort", "id": cohort.pk}
    assert (row["rule"], row["from_tier"], row["to_tier"], row["status"]) == ("step_up", "2.00", "3.00", "applied")
    assert row["rationale"] == decision.rationale and row["inputs"]["observations"] == 3 and row["request"] is None


def test_at_the_cap_there_is_no_next_tier(api, ladder, campaign_days):
    campaign = campaign_days([0.01, 0.012, 0.011, 0.01, 0.013])
    for _ in range(5):
        leverage_evaluate(campaign=campaign)
    body = api.get(URL, {"campaign": campaign.pk}).json()
    assert (body["tier"], body["next_tier"], body["count"]) == ("5.00", None, 5)
    assert [d["to_tier"] for d in body["decisions"]] == ["5.00", "4.00", "3.00", "2.00", "2.00"]  # newest first


def test_no_subject_is_the_house_bankroll_else_every_decision(api, ladder, completed_cohort, campaign_days):
    leverage_evaluate(cohort=completed_cohort([0.01]))
    leverage_evaluate(campaign=campaign_days([0.01]))
    every = api.get(URL).json()
    assert every["subject"] is None and every["tier"] is None and every["count"] == 2
    assert {d["subject"]["kind"] for d in every["decisions"]} == {"cohort", "campaign"}
    house = bankroll_ensure(name="house", funding=Decimal(1000))
    body = api.get(URL).json()
    assert body["subject"] == {"kind": "bankroll", "id": house.pk}
    assert (body["tier"], body["next_tier"], body["decisions"]) == ("2.00", "3.00", [])


@pytest.mark.parametrize(("query", "field"), [
    ({"cohort": "x"}, "cohort"), ({"deployment": "0"}, "deployment"), ({"page": "0"}, "page"),
    ({"cohort": "1", "campaign": "2"}, "cohort"),
])
def test_bad_queries_are_400s_naming_the_field(api, ladder, query, field):
    answer = api.get(URL, query)
    assert answer.status_code == 400 and field in answer.json()["errors"]


def test_unknown_subjects_are_404s_naming_the_field(api, ladder):
    answer = api.get(URL, {"bankroll": 999_999})
    assert answer.status_code == 404
    assert answer.json()["errors"] == {"bankroll": ["There is no bankroll 999999."]}


def test_a_page_past_the_last_is_a_400(api, ladder, completed_cohort):
    leverage_evaluate(cohort=completed_cohort([0.01]))
    answer = api.get(URL, {"page": 2})
    assert answer.status_code == 400 and answer.json()["errors"] == {"page": ["There are 1 page(s) of decisions, not 2."]}


@pytest.mark.parametrize(("change", "field"), [
    ({"cap": "0.50"}, "cap"), ({"start": "12"}, "start"), ({"up_max_drawdown": 1.5}, "up_max_drawdown"),
    ({"window": 1}, "window"), ({"step_down": "0"}, "step_down"),
])
def test_the_admin_names_the_threshold_the_policy_refuses(db, change, field):
    data = {"name": "tight", "start": "2", "step_up": "1", "step_down": "1", "cap": "10", "floor": "1",
            "up_sharpe": 1.5, "up_max_drawdown": 0.03, "window": 20, "down_drawdown": 0.05,
            "down_consecutive_losses": 3, **change}
    form = LeverageLadderForm(data=data)
    assert not form.is_valid() and list(form.errors) == [field]


def test_the_admin_keeps_a_valid_ladder(db):
    form = LeverageLadderForm(data={"name": "tight", "is_default": True, "start": "1", "step_up": "0.5",
                                    "step_down": "1", "cap": "3", "floor": "1", "up_sharpe": 2.0,
                                    "up_max_drawdown": 0.02, "window": 10, "down_drawdown": 0.04,
                                    "down_consecutive_losses": 2})
    assert form.is_valid(), form.errors
    assert form.save().policy().cap == 3.0


def test_the_command_evaluates_one_subject_or_what_is_due(ladder, completed_cohort):
    cohort = completed_cohort([0.010, 0.012, 0.011])
    out = StringIO()
    call_command("leverage_evaluate", stdout=out)
    assert out.getvalue().strip() == "0 bankroll decision(s), 1 cohort decision(s), 0 campaign decision(s), " \
                                     "0 deployment decision(s)"
    call_command("leverage_evaluate", cohort=cohort.pk, stdout=out)
    assert f"Cohort {cohort.pk}: step_up, 2.00× → 3.00× (applied)" in out.getvalue()
    with pytest.raises(CommandError, match="There is no campaign 999"):
        call_command("leverage_evaluate", campaign=999)


def test_the_admin_lists_ladders_and_decisions_by_subject_rule_and_status(client, superuser, ladder, completed_cohort):
    decision = leverage_evaluate(cohort=completed_cohort([0.01, 0.012, 0.011]))
    client.force_login(superuser)
    listed = client.get("/admin/risk/leveragedecision/", {"subject_kind": "cohort", "rule": "step_up",
                                                          "status": "applied"})
    assert listed.context["cl"].result_count == 1 and escape(decision.rationale) in listed.content.decode()
    assert client.get("/admin/risk/leveragedecision/", {"status": "refused"}).context["cl"].result_count == 0
    assert client.get(f"/admin/risk/leveragedecision/{decision.pk}/change/").status_code == 200
    assert client.get("/admin/risk/leverageladder/").status_code == 200
