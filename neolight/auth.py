"""Login for every page: Django's LoginRequiredMiddleware, leaving /api/ to DRF's own authentication."""
from django.contrib.auth.middleware import LoginRequiredMiddleware


class PagesLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Redirects anonymous page requests to the login page.

    API views are skipped here because they accept token authentication, which only DRF sees;
    DRF's `IsAuthenticated` default refuses them with 401/403 instead.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
