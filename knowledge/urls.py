from django.urls import path

from knowledge import apis, views

urlpatterns = [
    path("knowledge/", views.knowledge_index, name="knowledge-index"),
    path("knowledge/campaigns/new", views.campaign_new, name="knowledge-campaign-new"),
    path("knowledge/campaigns/<int:campaign_id>/", views.campaign_detail, name="knowledge-campaign"),
    path("knowledge/campaigns/<int:campaign_id>/cancel", views.campaign_cancel_view, name="knowledge-campaign-cancel"),
]

api_urlpatterns = [
    path("knowledge/campaigns", apis.CampaignStartApi.as_view(), name="api-campaigns"),
    path("knowledge/campaigns/<int:campaign_id>", apis.CampaignDetailApi.as_view(), name="api-campaign"),
    path("knowledge/campaigns/<int:campaign_id>/cancel", apis.CampaignCancelApi.as_view(), name="api-campaign-cancel"),
]
