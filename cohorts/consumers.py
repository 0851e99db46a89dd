"""Live pages over websockets: authenticate, check access, join a group, re-read and render what changed.

Every message is HTML whose top-level elements htmx swaps out of band, each onto an element the page
has: a consumer sends a fragment only for what its page shows, so no swap misses its target. Consumers
only read.
"""
from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.contrib.auth.context_processors import PermWrapper
from django.core.paginator import Paginator
from django.http import QueryDict
from django.template.loader import render_to_string

from cohorts.filters import CohortFilter
from cohorts.selectors.cohorts import bankroll_badge, cohort_list_rows, cohort_visible
from cohorts.views import PAGE_SIZE
from neolight.realtime import BANKROLL, COHORTS, cohort_group

UNAUTHENTICATED, FORBIDDEN = 4401, 4403
ENDED = ("cohort.finished", "cohort.failed")
ARRIVALS = ("cohort.created", *ENDED)  # events that may bring a cohort onto a list it was not on


class LiveConsumer(WebsocketConsumer):
    """Refuses anonymous users, joins `self.groups_for()` and leaves them on disconnect."""

    joined: tuple[str, ...] = ()

    def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            self.close(code=UNAUTHENTICATED)
            return
        groups = self.groups_for(user)
        if groups is None:
            self.close(code=FORBIDDEN)
            return
        self.joined = groups
        for group in groups:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.accept()
        self.caught_up()

    def disconnect(self, code):
        for group in self.joined:
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

    def groups_for(self, user) -> tuple[str, ...] | None:
        """The groups to join, or None when `user` may not follow this page."""
        raise NotImplementedError

    def caught_up(self) -> None:
        """Sends what changed between the page's render and this connection (or a reconnection)."""


class HeaderConsumer(LiveConsumer):
    """`/ws/live/`, opened by every logged-in page: the header's bankroll badge, re-rendered at each
    movement of a bankroll's cash (launch, return, refund, funding), whoever made it."""

    def groups_for(self, user):
        return (BANKROLL,)

    def caught_up(self):
        self.send_badge()

    def live_event(self, message):
        self.send_badge()

    def send_badge(self) -> None:
        self.send(text_data=render_to_string("cohorts/_bankroll_badge.html",
                                             {"bankroll_badge": bankroll_badge(), "oob": True}))


class CohortConsumer(LiveConsumer):
    """`/ws/cohorts/<id>/`, opened by a pending or running cohort's page: its status and progress, and
    when the run ends, a notice that brings the finished page's results in place."""

    def groups_for(self, user):
        self.cohort_id = self.scope["url_route"]["kwargs"]["cohort_id"]
        if not cohort_visible(user).filter(pk=self.cohort_id).exists():
            return None
        return (cohort_group(self.cohort_id),)

    def caught_up(self):
        self.send_cohort({})

    def live_event(self, message):
        self.send_cohort(message["payload"])

    def send_cohort(self, payload: dict) -> None:
        cohort = cohort_visible(self.scope["user"]).defer("summary").filter(pk=self.cohort_id).first()
        if cohort is None:
            return
        if cohort.status in ("pending", "running"):  # progress is newer in the event while a run writes
            cohort.progress = payload.get("progress", cohort.progress)
        figures = payload if cohort.status == "running" and "equity" in payload else None  # a live run's bar
        self.send(text_data=render_to_string("cohorts/_live.html", {
            "cohort": cohort, "stage": payload.get("stage", ""), "figures": figures}))


class CohortListConsumer(LiveConsumer):
    """`/ws/cohorts/?<the list's filters and page>`, opened by the cohort list.

    Rows on the page follow their cohort's status and progress; a cohort that arrives (launched, or
    finished into the filters) and belongs on this page re-renders the page's table, newest first.
    Everything goes through `cohort_list_rows(user=…)`, so a user hears nothing of cohorts they may not see.
    """

    def groups_for(self, user):
        self.params = QueryDict(self.scope.get("query_string", b"").decode())
        self.shown: set[int] = set()
        return (COHORTS,)

    def caught_up(self):
        self.send_list(self.list_page())

    def live_event(self, message):
        cohort_id, event = message["payload"].get("cohort"), message["event"]
        if cohort_id in self.shown:
            self.send_row(cohort_id, event, message["payload"])
        elif event in ARRIVALS:
            page = self.list_page()
            if cohort_id in {c.pk for c in page.object_list}:
                self.send_list(page)

    def list_page(self):
        cohorts = CohortFilter(self.params, queryset=cohort_list_rows(user=self.scope["user"])).qs
        return Paginator(cohorts, PAGE_SIZE).get_page(self.params.get("page"))  # exactly the list page's rows

    def send_list(self, page) -> None:
        self.shown = {c.pk for c in page.object_list}
        self.send(text_data=render_to_string("cohorts/_list_body.html", {
            "page": page, "filters": self.params, "perms": PermWrapper(self.scope["user"]), "oob": True}))

    def send_row(self, cohort_id: int, event: str, payload: dict) -> None:
        cohort = cohort_list_rows(user=self.scope["user"]).filter(pk=cohort_id).first()
        if cohort is None:
            return
        if event in ENDED:
            html = render_to_string("cohorts/_row.html", {"c": cohort, "oob": True})
        else:
            if cohort.status in ("pending", "running"):
                cohort.progress = payload.get("progress", cohort.progress)
            html = render_to_string("cohorts/_status.html", {"cohort": cohort, "stage": payload.get("stage", ""),
                                                             "oob": True})
        self.send(text_data=html)
