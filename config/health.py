from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Answer without touching the database: for load balancers and as the benchmark's Django reference."""
    return JsonResponse({"status": "ok"})
