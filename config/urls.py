from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config.health import healthz

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("sms/", include("sms.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("directory.urls")),
    path("hsds/", include("directory.hsds_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="directory/redoc.html"),
        name="redoc",
    ),
]

handler404 = "directory.exception_handler.page_not_found"
