"""Websocket routes of every app, gathered in one list for the ASGI router."""
from cohorts.routing import websocket_urlpatterns as cohort_routes

websocket_urlpatterns = [*cohort_routes]
