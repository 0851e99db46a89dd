from django.urls import path

from cohorts.consumers import CohortConsumer, CohortListConsumer, HeaderConsumer

websocket_urlpatterns = [
    path("ws/live/", HeaderConsumer.as_asgi()),
    path("ws/cohorts/", CohortListConsumer.as_asgi()),
    path("ws/cohorts/<int:cohort_id>/", CohortConsumer.as_asgi()),
]
