from django.core.cache import caches
from django.http import HttpRequest, JsonResponse

from config.cache import SharedCache


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer without touching the database: for load balancers and as the benchmark's Django reference.

    ``shared_cache`` says whether this process last reached Redis ("reachable"), is counting on its own
    because it could not ("unreachable"), or runs without Redis ("none"). The node serves either way.
    """
    backend = caches["default"]
    state = "none"
    if isinstance(backend, SharedCache):
        state = "reachable" if backend.reachable else "unreachable"
    return JsonResponse({"status": "ok", "shared_cache": state})
