from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from assistant.urls import api_urlpatterns as assistant_api
from cohorts.urls import api_urlpatterns as cohorts_api
from knowledge.urls import api_urlpatterns as knowledge_api
from neolight.ops.health import healthz, readyz
from neolight.ops.metrics import metrics_view
from promotions.urls import api_urlpatterns as promotions_api
from risk.urls import api_urlpatterns as risk_api

api_urlpatterns = [
    *cohorts_api,
    *knowledge_api,
    *promotions_api,
    *risk_api,
    *assistant_api,
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="cohort-list"), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("cohorts.urls")),
    path("", include("knowledge.urls")),
    path("", include("promotions.urls")),
    path("", include("risk.urls")),
    path("", include("assistant.urls")),
]
