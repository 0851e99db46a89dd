from django.urls import path

from knowledge import views

urlpatterns = [
    path("knowledge/", views.knowledge_index, name="knowledge-index"),
    path("knowledge/campaigns/<int:campaign_id>/", views.campaign_detail, name="knowledge-campaign"),
]
