"""The assistant's console: a chat-style page over the ask service, its history kept in the session."""
from __future__ import annotations

import json
from dataclasses import asdict

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from assistant.services.ask import EXAMPLES, ask, ask_confirm
from neolight.errors import ApplicationError

HISTORY_KEY = "assistant_history"


def console(request):
    """The console: earlier questions and answers (newest last), quick actions and the live feed."""
    return render(request, "assistant/console.html", {"history": request.session.get(HISTORY_KEY, []),
                                                      "examples": EXAMPLES})


@require_POST
def console_ask(request):
    """`{"text"}` asks, `{"token"}` confirms; the answer as the API gives it, kept in the session's history."""
    try:
        body = json.loads(request.body or b"{}")
        body = body if isinstance(body, dict) else {}
        if "token" in body:
            answer = ask_confirm(user=request.user, token=body["token"])
        else:
            answer = ask(user=request.user, text=body.get("text"))
    except (ValueError, ApplicationError) as exc:
        problem = exc.message if isinstance(exc, ApplicationError) else "Send JSON."
        return JsonResponse({"detail": problem, "errors": getattr(exc, "errors", {})},
                            status=getattr(exc, "status_code", 400))
    said = {**asdict(answer), "question": body.get("text") or "Confirm"}
    request.session[HISTORY_KEY] = [*request.session.get(HISTORY_KEY, []), said][-settings.ASSISTANT_HISTORY:]
    return JsonResponse(said)
