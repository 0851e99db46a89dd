"""The `/risk/leverage` page and its kill switch form."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from neolight.errors import ApplicationError
from risk.selectors.page import page_query, page_subject, risk_live, risk_page
from risk.services.guardian import kill_switch_engage, kill_switch_release


def risk_leverage(request):
    """Tier and next tier, VaR and stresses, rollbacks, breakers, the kill switch, decisions and alerts;
    `?part=live` renders only the parts the websocket refreshes."""
    if request.GET.get("part") == "live":
        subject, _ = page_subject(user=request.user, params=request.GET)
        context = risk_live(user=request.user, params=request.GET, subject=subject)
        return render(request, "risk/_parts.html", {**context, "subject": subject, "query": page_query(request.GET)})
    return render(request, "risk/leverage.html", risk_page(user=request.user, params=request.GET))


@require_POST
def kill_switch(request):
    """Engage or release the kill switch with a reason, through the guardian's services; back to the page."""
    action = {"engage": kill_switch_engage, "release": kill_switch_release}.get(request.POST.get("action", ""))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("risk-leverage")
    if action is None:
        messages.error(request, "Choose Engage or Release.")
        return redirect(back)
    try:
        action(user=request.user, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Kill switch {request.POST['action']}d.")
    return redirect(back)
