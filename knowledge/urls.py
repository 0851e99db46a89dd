from django.urls import path

from knowledge import views

urlpatterns = [
    path("knowledge/", views.knowledge_index, name="knowledge-index"),
    path("knowledge/campaigns/new", views.campaign_new, name="knowledge-campaign-new"),
    path("knowledge/campaigns/<int:campaign_id>/", views.campaign_detail, name="knowledge-campaign"),
    path("knowledge/campaigns/<int:campaign_id>/cancel", views.campaign_cancel_view, name="knowledge-campaign-cancel"),
]
