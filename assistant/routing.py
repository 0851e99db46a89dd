from django.urls import path

from assistant.consumers import FeedConsumer

websocket_urlpatterns = [path("ws/assistant/", FeedConsumer.as_asgi())]
