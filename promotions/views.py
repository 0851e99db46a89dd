"""The Day-3 promotion pages: the requests, and one request's checklist, risk metrics, chain and actions."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from neolight.errors import ApplicationError
from promotions.models import Deployment
from promotions.selectors.status import promotion_page, promotion_status
from promotions.services.deployments import deployment_pause, deployment_resume, deployment_rollback
from promotions.services.requests import promotion_reject, promotion_renewal_request, promotion_sign
from risk.services.rollout import rollout_step_down, rollout_step_up_request


def promotion_list(request):
    """Requests awaiting signatures first, then the latest decided; deployments under way and ended."""
    return render(request, "promotions/list.html", promotion_status(limit=50))


def promotion_request(request, request_id: int):
    """One request: the candidate's checklist (guard rails and go-live readiness), its risk metrics, the payload
    signed, the signature chain, and Approve / Reject for the user whose step is next."""
    return render(request, "promotions/request.html", promotion_page(request_id=request_id, user=request.user))


@require_POST
def promotion_decide(request, request_id: int):
    """Approve or reject the next step with a note, through the same services as the admin and the API."""
    decide = {"approve": promotion_sign, "reject": promotion_reject}.get(request.POST.get("decision", ""))
    if decide is None:
        messages.error(request, "Choose Approve or Reject.")
        return redirect("promotion-request", request_id=request_id)
    try:
        decide(request_id=request_id, user=request.user, note=request.POST.get("note", ""))
    except (ApplicationError, PermissionDenied) as exc:
        messages.error(request, getattr(exc, "message", None) or str(exc) or "You may not sign this request.")
    else:
        messages.success(request, f"Request {request_id}: your {request.POST['decision']} is signed.")
    return redirect("promotion-request", request_id=request_id)



OVERRIDES = {"pause": (deployment_pause, "paused"), "resume": (deployment_resume, "resumed"),
             "rollback": (deployment_rollback, "rolled back")}


@require_POST
def deployment_override(request, deployment_id: int):
    """Pause, resume or roll back a deployment by hand, with a reason (members of ops or risk; the services
    decide and log who and why); back to its request's page."""
    action = OVERRIDES.get(request.POST.get("action", ""))
    request_id = get_object_or_404(Deployment, pk=deployment_id).request_id
    if action is None:
        messages.error(request, "Choose Pause, Resume or Roll back.")
        return redirect("promotion-request", request_id=request_id)
    override, done = action
    try:
        moved = override(deployment_id=deployment_id, reason=request.POST.get("reason", ""), user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if moved is None:
            messages.error(request, f"Deployment {deployment_id} could not be {done} from where it stands.")
        else:
            messages.success(request, f"Deployment {deployment_id} {done}.")
    return redirect("promotion-request", request_id=request_id)


@require_POST
def deployment_renewal(request, deployment_id: int):
    """Asks the approval chain to renew a deployment's timer (ops or an approver); to the new request's page."""
    hours = request.POST.get("hours", "")
    try:
        renewal = promotion_renewal_request(deployment_id=deployment_id, user=request.user,
                                            hours=int(hours) if hours.strip().isdigit() else None)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("promotion-request", request_id=get_object_or_404(Deployment, pk=deployment_id).request_id)
    messages.success(request, f"Renewal of deployment {deployment_id} requested: request {renewal.pk} awaits its "
                              "signatures.")
    return redirect("promotion-request", request_id=renewal.pk)


@require_POST
def deployment_capital(request, deployment_id: int):
    """A capital step of the gradual rollout: step down at once to an amount, with a reason (ops or risk), or ask
    the approval chain for a step up (the next slice, or the amount given; to the new request's page)."""
    deployment = get_object_or_404(Deployment, pk=deployment_id)
    to_capital = request.POST.get("to_capital", "").strip() or None
    try:
        if request.POST.get("action") == "step_down":
            successor = rollout_step_down(deployment_id=deployment_id, to_capital=to_capital,
                                          reason=request.POST.get("reason", ""), user=request.user)
        else:
            step_up = rollout_step_up_request(deployment_id=deployment_id, user=request.user, to_capital=to_capital)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("promotion-request", request_id=deployment.request_id)
    if request.POST.get("action") == "step_down":
        messages.success(request, f"Deployment {deployment_id} stepped down: deployment {successor.pk} trades "
                                  f"${successor.capital:,.2f}.")
        return redirect("promotion-request", request_id=deployment.request_id)
    messages.success(request, f"Capital step of deployment {deployment_id} requested: request {step_up.pk} awaits "
                              "its signatures.")
    return redirect("promotion-request", request_id=step_up.pk)
