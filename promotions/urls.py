from django.urls import path

from promotions import apis

api_urlpatterns = [
    path("promotions/requests", apis.RequestListApi.as_view(), name="api-promotion-requests"),
    path("promotions/requests/<int:request_id>", apis.RequestDetailApi.as_view(), name="api-promotion-request"),
    path("promotions/requests/<int:request_id>/approve", apis.RequestApproveApi.as_view(),
         name="api-promotion-request-approve"),
    path("promotions/requests/<int:request_id>/reject", apis.RequestRejectApi.as_view(),
         name="api-promotion-request-reject"),
]
