from django.contrib import admin
from django.http import HttpRequest
from django.urls import include, path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.api_errors import is_api, json_404, json_500


def not_found(request: HttpRequest, exception: Exception | None = None):
    if is_api(request):
        return json_404(request, exception)
    if request.path.startswith("/portal/"):  # a member's page in the portal's look and language, with a way back
        return defaults.page_not_found(request, exception, template_name="portal/404.html")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest):
    return json_500(request) if is_api(request) else defaults.server_error(request)


urlpatterns = [
    # The front door is the members' portal (its sign-in for a visitor); staff go to /admin/, shops to /api/docs/.
    path("", RedirectView.as_view(pattern_name="portal:home", http_method_names=["get", "head"]), name="landing"),
    path("portal/", include("members.portal.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("loyalty.api.urls")),
    path("api/v1/", include("rewards.urls")),
    path("api/v1/", include("privacy.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = not_found
handler500 = server_error
