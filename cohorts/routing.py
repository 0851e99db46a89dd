from django.urls import path

from cohorts.consumers import CohortLiveConsumer

websocket_urlpatterns = [
    path("ws/cohorts/", CohortLiveConsumer.as_asgi()),
    path("ws/cohorts/<int:cohort_id>/", CohortLiveConsumer.as_asgi()),
]
