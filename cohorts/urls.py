from django.urls import path

from cohorts import apis, views

api_urlpatterns = [
    path("market/instruments", apis.InstrumentListApi.as_view(), name="api-market-instruments"),
    path("market/bars", apis.BarListApi.as_view(), name="api-market-bars"),
]

urlpatterns = [
    path("market/", views.market_overview, name="market-overview"),
]
