"""`/ws/risk/?<the page's query>`: tells an open `/risk/leverage` page to refresh its live parts when a leverage
decision, a breaker, the kill switch or an alert moves. The page fetches them itself (`?part=live`), through the
view that renders the page, so the refresh sees what the user may see and carries the forms' CSRF tokens."""
from __future__ import annotations

import time

from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from cohorts.consumers import LiveConsumer
from neolight.realtime import RISK
from risk.selectors.page import page_query, risk_changed_at

EVENTS = ("leverage", "breaker", "kill_switch", "alert")


class RiskConsumer(LiveConsumer):
    def groups_for(self, user):
        params = QueryDict(self.scope.get("query_string", b"").decode())
        try:
            self.rendered = float(params.get("rendered", "0"))
        except ValueError:
            self.rendered = 0.0
        self.query = page_query(params)
        return (RISK,)

    def caught_up(self):
        if risk_changed_at() > self.rendered:  # something moved between the page's render and this connection
            self.send_refresh()

    def live_event(self, message):
        if message["event"] in EVENTS:
            self.send_refresh()

    def send_refresh(self) -> None:
        url = f"{reverse('risk-leverage')}?{self.query}{'&' if self.query else ''}part=live"
        self.rendered = time.time()
        self.send(text_data=render_to_string("risk/_refresh.html", {"url": escape(url)}))
