from django.urls import path

from promotions import apis, views

urlpatterns = [
    path("promotions/", views.promotion_list, name="promotion-list"),
    path("promotions/requests/<int:request_id>/", views.promotion_request, name="promotion-request"),
    path("promotions/requests/<int:request_id>/decide", views.promotion_decide, name="promotion-decide"),
    path("promotions/deployments/<int:deployment_id>/override", views.deployment_override,
         name="deployment-override"),
    path("promotions/deployments/<int:deployment_id>/renewal", views.deployment_renewal, name="deployment-renewal"),
    path("promotions/deployments/<int:deployment_id>/capital", views.deployment_capital, name="deployment-capital"),
]

api_urlpatterns = [
    path("promotions/requests", apis.RequestListApi.as_view(), name="api-promotion-requests"),
    path("promotions/requests/<int:request_id>", apis.RequestDetailApi.as_view(), name="api-promotion-request"),
    path("promotions/requests/<int:request_id>/approve", apis.RequestApproveApi.as_view(),
         name="api-promotion-request-approve"),
    path("promotions/requests/<int:request_id>/reject", apis.RequestRejectApi.as_view(),
         name="api-promotion-request-reject"),
]
