"""Trading modes: TEST → PAPER → LIVE along the state machine, LIVE only on an approved LIVE request, automatic
changes only toward TEST, every change audited (and the audit append-only on PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from neolight.errors import ApplicationError
from promotions.models import (
    DEPLOYMENT_STATES,
    DeploymentStatus,
    LogKind,
    PromotionRequest,
    RequestStatus,
    TradingMode,
)
from promotions.services.deployments import deployment_start
from risk.models import ModeChange
from risk.services.modes import ModeChangeForbidden, mode_change

pytestmark = pytest.mark.usefixtures("quarter_hour", "at_start")


@pytest.fixture
def pending(approved):
    def make(mode: str = "PAPER"):
        return deployment_start(request_id=approved(trading_mode=mode).pk, run=False)

    return make


def live_request(deployment, *, status=RequestStatus.APPROVED, mode="LIVE") -> PromotionRequest:
    now = timezone.now()
    return PromotionRequest.objects.create(
        candidate=deployment.request.candidate, status=status, payload_digest="1" * 64, roles=["ops", "risk"],
        payload={**deployment.request.payload, "trading_mode": mode, "deployment": deployment.pk},
        decided_at=now, expires_at=now + timedelta(days=1))


def test_test_to_paper_and_back_each_leave_one_audit_row_and_persist(pending, ops_user, risk_user):
    deployment = pending("TEST")
    moved = mode_change(deployment_id=deployment.pk, to="PAPER", user=ops_user, reason="model looks sane")
    assert moved.trading_mode == TradingMode.PAPER
    deployment.refresh_from_db()
    assert deployment.trading_mode == TradingMode.PAPER  # persisted: a restart reads it back
    back = mode_change(deployment_id=deployment.pk, to="TEST", user=risk_user, reason="hold on")
    assert back.trading_mode == TradingMode.TEST
    rows = list(ModeChange.objects.filter(deployment=deployment).order_by("id")
                .values_list("from_mode", "to_mode", "actor__username", "reason", "automatic"))
    assert rows == [("TEST", "PAPER", "opsie", "model looks sane", False), ("PAPER", "TEST", "risky", "hold on", False)]
    log = list(deployment.log.filter(kind=LogKind.MODE).order_by("id").values_list("message", flat=True))
    assert log == ["Mode: TEST → PAPER: model looks sane", "Mode: PAPER → TEST: hold on"]


@pytest.mark.parametrize("start, to, words", [("TEST", "LIVE", "is not a move"), ("PAPER", "PAPER", "already"),
                                              ("TEST", "CASINO", "Unknown trading mode")])
def test_moves_off_the_machine_are_refused_and_write_nothing(pending, ops_user, start, to, words):
    deployment = pending(start)
    with pytest.raises(ApplicationError, match=words):
        mode_change(deployment_id=deployment.pk, to=to, user=ops_user, reason="try")
    deployment.refresh_from_db()
    assert deployment.trading_mode == start and not ModeChange.objects.exists()
    assert not deployment.log.filter(kind=LogKind.MODE).exists()


def test_only_the_approval_roles_change_modes_with_a_reason(pending, outsider, ops_user):
    deployment = pending("PAPER")
    with pytest.raises(ModeChangeForbidden):
        mode_change(deployment_id=deployment.pk, to="TEST", user=outsider, reason="I want to")
    with pytest.raises(ApplicationError, match="reason"):
        mode_change(deployment_id=deployment.pk, to="TEST", user=ops_user, reason="  ")
    with pytest.raises(ModeChangeForbidden, match="automatic"):
        mode_change(deployment_id=deployment.pk, to="TEST", user=None, reason="nobody")
    assert not ModeChange.objects.exists()


def test_live_needs_an_approved_request_of_this_deployment_with_trading_mode_live(pending, ops_user, monkeypatch):
    deployment = pending("PAPER")
    refusals = [(None, "name it"), (live_request(deployment, status=RequestStatus.REJECTED).pk, "LIVE needs it approved"),
                (live_request(deployment, mode="PAPER").pk, "not LIVE"), (deployment.request_id, "not LIVE")]
    for request_id, words in refusals:
        with pytest.raises(ApplicationError, match=words):
            mode_change(deployment_id=deployment.pk, to="LIVE", user=ops_user, reason="go", request_id=request_id)
    request = live_request(deployment)
    # NeoLight's paper broker trades a paper account: it refuses LIVE, and the change is refused whole
    with pytest.raises(ApplicationError, match="paper account only"):
        mode_change(deployment_id=deployment.pk, to="LIVE", user=ops_user, reason="go", request_id=request.pk)
    deployment.refresh_from_db()
    assert deployment.trading_mode == "PAPER" and not ModeChange.objects.exists()

    monkeypatch.setitem(__import__("promotions.brokers.registry", fromlist=["x"]).BROKER_MODES, "paper",
                        ("PAPER", "LIVE"))  # a broker that honours LIVE
    moved = mode_change(deployment_id=deployment.pk, to="LIVE", user=ops_user, reason="approved", request_id=request.pk)
    assert moved.trading_mode == "LIVE"
    assert ModeChange.objects.get().request == request


def test_an_automatic_change_moves_only_toward_test(pending):
    deployment = pending("PAPER")
    moved = mode_change(deployment_id=deployment.pk, to="TEST", user=None, reason="breaker", automatic=True)
    assert moved.trading_mode == "TEST"
    with pytest.raises(ApplicationError, match="only moves toward TEST"):
        mode_change(deployment_id=deployment.pk, to="PAPER", user=None, reason="all clear", automatic=True)
    change = ModeChange.objects.get()
    assert (change.automatic, change.actor, change.to_mode) == (True, None, "TEST")
    assert deployment.log.get(kind=LogKind.MODE).message == "Automatic: PAPER → TEST: breaker"


def test_a_started_deployment_does_not_move_into_or_out_of_test(pending, ops_user):
    deployment = pending("PAPER")
    DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.RUNNING)
    with pytest.raises(ApplicationError, match="before its run starts"):
        mode_change(deployment_id=deployment.pk, to="TEST", user=ops_user, reason="stop")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trail's triggers are PostgreSQL's")
def test_the_database_keeps_the_mode_trail_append_only_and_live_tied_to_a_request(pending, ops_user):
    deployment = pending("TEST")
    mode_change(deployment_id=deployment.pk, to="PAPER", user=ops_user, reason="ready")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModeChange.objects.update(reason="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModeChange.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        ModeChange.objects.create(deployment=deployment, from_mode="PAPER", to_mode="LIVE", reason="sneak")
    assert ModeChange.objects.get().reason == "ready"


def test_the_deployment_command_changes_a_mode_as_a_named_approver_and_refuses_without_one(pending, ops_user):
    from django.core.management import CommandError, call_command

    deployment = pending("TEST")
    with pytest.raises(CommandError, match="without a user"):
        call_command("deployment", "mode", str(deployment.pk), "--to", "PAPER", "--reason", "from the shell")
    assert not ModeChange.objects.filter(deployment=deployment).exists()

    call_command("deployment", "mode", str(deployment.pk), "--to", "PAPER", "--reason", "from the shell",
                 "--user", ops_user.username)

    deployment.refresh_from_db()
    change = ModeChange.objects.get(deployment=deployment)
    assert deployment.trading_mode == TradingMode.PAPER and (change.actor, change.reason) == (ops_user, "from the shell")
