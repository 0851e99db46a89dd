from django.urls import path

from promotions import views

urlpatterns = [
    path("promotions/", views.promotion_list, name="promotion-list"),
    path("promotions/requests/<int:request_id>/", views.promotion_request, name="promotion-request"),
    path("promotions/requests/<int:request_id>/decide", views.promotion_decide, name="promotion-decide"),
]
