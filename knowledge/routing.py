from django.urls import path

from knowledge.consumers import KnowledgeLiveConsumer

websocket_urlpatterns = [
    path("ws/knowledge/", KnowledgeLiveConsumer.as_asgi()),
    path("ws/campaigns/<int:campaign_id>/", KnowledgeLiveConsumer.as_asgi()),
]
