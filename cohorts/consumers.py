"""Live cohort updates over websockets: authenticate, check access, join the group, forward events."""
from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.template.loader import render_to_string

from cohorts.selectors.cohorts import cohort_visible

UNAUTHENTICATED, FORBIDDEN = 4401, 4403


class CohortLiveConsumer(WebsocketConsumer):
    """`/ws/cohorts/` follows every cohort the user may see; `/ws/cohorts/<id>/` follows one.

    Each event becomes HTML fragments that htmx swaps in by id (status, progress, list row, and a
    notice when the run ends). The consumer only reads.
    """

    group: str | None = None

    def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            self.close(code=UNAUTHENTICATED)
            return
        cohort_id = self.scope["url_route"]["kwargs"].get("cohort_id")
        if cohort_id is not None and not cohort_visible(user).filter(pk=cohort_id).exists():
            self.close(code=FORBIDDEN)
            return
        self.group = f"cohort-{cohort_id}" if cohort_id is not None else "cohorts"
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code):
        if self.group:
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def live_event(self, message):
        cohort_id = message["payload"].get("cohort")
        cohort = cohort_visible(self.scope["user"]).defer("summary").filter(pk=cohort_id).first()
        if cohort is None:
            return
        payload = message["payload"]
        cohort.progress = payload.get("progress", cohort.progress)  # newer than the row while a run writes
        self.send(text_data=render_to_string("cohorts/_live.html", {
            "cohort": cohort, "c": cohort, "event": message["event"], "stage": payload.get("stage", ""),
            "on_list": self.group == "cohorts"}))
