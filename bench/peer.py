"""The peer: a textbook DRF implementation of the same three requests over the same data.

What a competent first version looks like: a bounding box and a haversine over the locations for
"nearest", ModelSerializers, django-filter and PageNumberPagination for the list, Twilio's own
helpers for the webhook; DRF's default authentication and no throttles. The benchmark serves it
from the same application as the project (``bench.urls``), on a server of its own, so both are measured in
the same run and neither's workers hold memory the other's requests left.
"""

import math
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django_filters import rest_framework as filters
from rest_framework import generics, serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from directory.geocoding import resolve_postcode
from directory.models import Location, Service, ServiceStatus, VerificationState
from sms.parsing import country_for_number, normalize_number, parse_message
from sms.topics import topic_tables

RADIUS_KM = 50.0
EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearest_services(lat: float, lon: float, topic: str, count: int) -> list[Service]:
    dlat = RADIUS_KM / 111.0
    dlon = RADIUS_KM / (111.0 * max(math.cos(math.radians(lat)), 0.01))
    locations = Location.objects.filter(
        latitude__range=(lat - dlat, lat + dlat),
        longitude__range=(lon - dlon, lon + dlon),
        service__status=ServiceStatus.ACTIVE,
        service__archived_at__isnull=True,
    ).select_related("service")
    if topic:
        locations = locations.filter(service__topics__slug=topic)
    best: dict[int, tuple[float, Service]] = {}
    for location in locations:
        distance = haversine_km(lat, lon, float(location.latitude or 0.0), float(location.longitude or 0.0))
        if distance <= RADIUS_KM and (location.service_id not in best or distance < best[location.service_id][0]):
            best[location.service_id] = (distance, location.service)
    ranked = sorted(best.values(), key=lambda pair: (pair[0], pair[1].id))[:count]
    for distance, service in ranked:
        service.distance_km = round(distance, 1)  # type: ignore[attr-defined]
    return [service for _, service in ranked]


class PeerServiceSerializer(serializers.ModelSerializer[Service]):
    topics: Any = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")
    languages: Any = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Service
        fields = ["id", "name", "kind", "verification_state", "min_age", "max_age", "is_free", "topics", "languages"]


class PeerNearestSerializer(PeerServiceSerializer):
    distance_km = serializers.FloatField()

    class Meta(PeerServiceSerializer.Meta):
        fields = [*PeerServiceSerializer.Meta.fields, "distance_km"]


class PeerView(APIView):
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    throttle_classes: list[Any] = []


class PeerNearestView(PeerView):
    def get(self, request: Request) -> Response:
        postcode, country = request.query_params.get("postcode", ""), request.query_params.get("country") or None
        if not postcode:
            raise ValidationError({"postcode": ["Required."]})
        place = resolve_postcode(postcode, country)
        if place is None:
            raise NotFound("Unknown postcode.")
        found = nearest_services(place.latitude, place.longitude, request.query_params.get("topic", ""), 5)
        return Response({"results": PeerNearestSerializer(found, many=True).data})


class PeerServiceFilter(filters.FilterSet):
    country = filters.CharFilter(method="filter_country")
    topic = filters.CharFilter(field_name="topics__slug")
    kind = filters.CharFilter(field_name="kind")
    language = filters.CharFilter(field_name="languages__code")

    class Meta:
        model = Service
        fields = ["country", "topic", "kind", "language"]

    def filter_country(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        return queryset.filter(Q(coverage__country=value) | Q(locations__country=value))


class PeerPagination(PageNumberPagination):
    page_size = 20


class PeerServiceList(generics.ListAPIView[Service]):
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    throttle_classes: list[Any] = []
    serializer_class = PeerServiceSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = PeerServiceFilter
    pagination_class = PeerPagination

    def get_queryset(self) -> QuerySet[Service]:
        rows = Service.objects.filter(
            status=ServiceStatus.ACTIVE, archived_at__isnull=True, verification_state=VerificationState.VERIFIED
        )
        return rows.prefetch_related("topics", "languages").distinct().order_by("name", "id")


@csrf_exempt
def peer_sms(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not validator.validate(request.build_absolute_uri(), request.POST.dict(), signature):
        return HttpResponseForbidden()
    sender_country = country_for_number(normalize_number(request.POST.get("From", "")))
    intent = parse_message(request.POST.get("Body", ""), sender_country, topic_tables().keywords)
    place = resolve_postcode(intent.postcode, intent.country) if intent.postcode else None
    reply = MessagingResponse()
    if place is None:
        reply.message("Send HELP and your postcode.")
    else:
        found = nearest_services(place.latitude, place.longitude, intent.topic, 3)
        lines = [f"{service.name} ({service.distance_km} km)" for service in found]  # type: ignore[attr-defined]
        reply.message("\n".join(lines) or "None found.")
    return HttpResponse(str(reply), content_type="application/xml")
