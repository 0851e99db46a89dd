from django.urls import path

from cohorts import views
from cohorts.apis import cohorts as cohort_apis
from cohorts.apis import market as market_apis
from cohorts.apis import providers as provider_apis

api_urlpatterns = [
    path("market/instruments", market_apis.InstrumentListApi.as_view(), name="api-market-instruments"),
    path("market/bars", market_apis.BarListApi.as_view(), name="api-market-bars"),
    path("market/providers", provider_apis.ProviderStatusApi.as_view(), name="api-market-providers"),
    path("market/quotes/<str:symbol>", provider_apis.QuoteApi.as_view(), name="api-market-quote"),
    path("experiments/cohorts", cohort_apis.CohortListApi.as_view(), name="api-cohorts"),
    path("experiments/cohorts.csv", cohort_apis.CohortListCsvApi.as_view(), name="api-cohorts-csv"),
    path("experiments/cohorts/<int:cohort_id>", cohort_apis.CohortDetailApi.as_view(), name="api-cohort"),
    path("experiments/cohorts/<int:cohort_id>/agents.csv", cohort_apis.CohortAgentsCsvApi.as_view(),
         name="api-cohort-agents-csv"),
    path("experiments/cohorts/<int:cohort_id>/agents/<int:index>", cohort_apis.AgentDetailApi.as_view(),
         name="api-cohort-agent"),
]

urlpatterns = [
    path("market/", views.market_overview, name="market-overview"),
    path("market/providers", views.provider_status_page, name="market-providers"),
    path("trading/cohorts", views.cohort_list_page, name="cohort-list"),
    path("trading/cohorts/launch", views.cohort_launch_page, name="cohort-launch"),
    path("trading/cohorts/<int:cohort_id>/", views.cohort_detail_page, name="cohort-detail"),
    path("trading/cohorts/<int:cohort_id>/events/", views.cohort_events_page, name="cohort-events"),
    path("trading/cohorts/<int:cohort_id>/agents/<int:index>/", views.agent_detail_page, name="agent-detail"),
]
