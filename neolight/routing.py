"""Websocket routes of every app, gathered in one list for the ASGI router."""
from assistant.routing import websocket_urlpatterns as assistant_routes
from cohorts.routing import websocket_urlpatterns as cohort_routes
from knowledge.routing import websocket_urlpatterns as knowledge_routes
from risk.routing import websocket_urlpatterns as risk_routes

websocket_urlpatterns = [*cohort_routes, *knowledge_routes, *risk_routes, *assistant_routes]
