"""Live campaign and knowledge pages over websockets: authenticate, check access, join the group, and
answer each event with the page's live parts re-rendered (htmx swaps them in by id). Only reads."""
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.template.loader import render_to_string

from cohorts.selectors.cohorts import cohort_visible
from knowledge.filters import entry_page
from knowledge.selectors import campaign_page, campaign_trading_cohort, campaign_visible, knowledge_live
from knowledge.services.live import KNOWLEDGE_GROUP, campaign_group
from neolight.realtime import cohort_group

UNAUTHENTICATED, FORBIDDEN = 4401, 4403


class KnowledgeLiveConsumer(WebsocketConsumer):
    """`/ws/knowledge/` follows every campaign the user may see (and, with `?entries=1&kind=…&campaign=…&q=…`,
    the first page of entries so filtered); `/ws/campaigns/<id>/` follows one."""

    group: str | None = None
    entries: dict | None = None  # the entry filters of a knowledge page showing its first page of entries

    def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            self.close(code=UNAUTHENTICATED)
            return
        campaign_id = self.scope["url_route"]["kwargs"].get("campaign_id")
        if campaign_id is not None and not campaign_visible(user).filter(pk=campaign_id).exists():
            self.close(code=FORBIDDEN)
            return
        self.campaign_id = campaign_id
        params = {k: v[0] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        self.entries = params if "entries" in params else None
        self.group = campaign_group(campaign_id) if campaign_id is not None else KNOWLEDGE_GROUP
        self.day_groups: set[str] = set()
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()
        if campaign_id is not None:
            self.follow_trading_day()

    def disconnect(self, code):
        for group in [self.group, *getattr(self, "day_groups", ())]:
            if group:
                async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)

    def follow_trading_day(self) -> None:
        """Joins the group of the campaign's day whose cohort is pending or running, so its progress shows
        on the campaign page while it trades (leaving the group of a day that has ended)."""
        trading = campaign_trading_cohort(campaign_id=self.campaign_id)
        wanted = {cohort_group(trading)} if trading is not None else set()
        for group in self.day_groups - wanted:
            async_to_sync(self.channel_layer.group_discard)(group, self.channel_name)
        for group in wanted - self.day_groups:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        self.day_groups = wanted

    def live_event(self, message):
        user = self.scope["user"]
        if message.get("event") == "cohort.progress":  # the trading day's cohort: its status cell moves
            self.send_day_progress(message["payload"])
            return
        if self.campaign_id is None:
            context = knowledge_live(user=user)
            if self.entries is not None:
                page, errors = entry_page(user=user, params=self.entries)
                context |= {"entries": page, "filters": self.entries, "filter_errors": errors}
            self.send(text_data=render_to_string("knowledge/_knowledge_live.html", context))
            return
        self.follow_trading_day()
        campaign = campaign_visible(user).filter(pk=self.campaign_id).first()
        if campaign is not None:
            self.send(text_data=render_to_string("knowledge/_campaign_live.html",
                                                 campaign_page(user=user, campaign=campaign)))

    def send_day_progress(self, payload: dict) -> None:
        cohort = cohort_visible(self.scope["user"]).filter(pk=payload.get("cohort")).first()
        if cohort is None or cohort.status not in ("pending", "running"):
            return
        cohort.progress = payload.get("progress", cohort.progress)  # newer in the event while the run writes
        self.send(text_data=render_to_string("cohorts/_status.html", {
            "cohort": cohort, "stage": payload.get("stage", ""), "oob": True}))
