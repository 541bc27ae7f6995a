"""The HSDS 3.0 API under ``/hsds/``: parse the parameters, query, answer with HSDS records.

Ordinary DRF views, so authentication, throttling and caching settings apply to them as to the rest
of the API. Every list takes ``page``/``per_page`` and answers in the HSDS Page wrapper, or with
``format=ndjson`` streams every matching record, one JSON document a line, without pages.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from directory import geocoding, hsds
from directory.models import Location, Service, Topic
from directory.renderers import JSONRenderer

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000  # Far past any real listing count; keeps the SQL offset a small integer.
MAX_PROXIMITY_METRES = 500_000
STREAM_CHUNK = 200


class IgnoreFormatNegotiation(DefaultContentNegotiation):
    """HSDS's ``format`` parameter (json or ndjson) is ours to read, not DRF's renderer override."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class ListParameters(serializers.Serializer[Any]):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Words in the name or description"
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=1)
    per_page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PER_PAGE, default=DEFAULT_PER_PAGE)
    format = serializers.ChoiceField(
        choices=["json", "ndjson"], required=False, default="json", help_text="ndjson streams every record"
    )


class ServiceParameters(ListParameters):
    taxonomy_term_id = serializers.UUIDField(required=False, help_text="Services with this taxonomy term")
    taxonomy_id = serializers.UUIDField(required=False, help_text="Services with any term of this taxonomy")
    organization_id = serializers.UUIDField(required=False, help_text="Services of this organization")
    modified_after = serializers.DateTimeField(required=False, help_text="Changed on or after (ISO 8601)")
    full = serializers.BooleanField(required=False, default=False, help_text="Fully nested records")


class ServiceListParameters(ServiceParameters):
    minimal = serializers.BooleanField(
        required=False, default=False, help_text="Only id, name, status and last_modified of each service"
    )


class ServiceAtLocationParameters(ServiceParameters):
    postcode = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="Services whose service area holds this postcode"
    )
    proximity = serializers.FloatField(
        required=False,
        min_value=1,
        max_value=MAX_PROXIMITY_METRES,
        help_text="With postcode: locations within this many metres of the postcode's centroid",
    )
    country = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2,
        help_text="Profile: the postcode's country, where its format fits several",
    )


class OrganizationListParameters(ListParameters):
    full = serializers.BooleanField(required=False, default=False, help_text="Organizations with their services")
    full_service = serializers.BooleanField(required=False, default=False, help_text="Services fully nested")


class OrganizationParameters(serializers.Serializer[Any]):
    full_service = serializers.BooleanField(required=False, default=False, help_text="Services fully nested")


class TaxonomyTermParameters(ListParameters):
    taxonomy_id = serializers.UUIDField(required=False)
    top_only = serializers.BooleanField(required=False, default=False, help_text="Only terms without a parent")
    parent_id = serializers.UUIDField(required=False, help_text="Terms with this parent")


class PageSerializer(serializers.Serializer[Any]):
    """The HSDS Page wrapper (documentation only)."""

    total_items = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    page_number = serializers.IntegerField()
    size = serializers.IntegerField()
    first_page = serializers.BooleanField()
    last_page = serializers.BooleanField()
    empty = serializers.BooleanField()
    contents = serializers.ListField(child=serializers.DictField())


class HsdsRootSerializer(serializers.Serializer[Any]):
    version = serializers.CharField()
    profile = serializers.URLField()
    openapi_url = serializers.URLField()


# 400 (FieldErrors) and 404 (ErrorDetail) are documented on every operation by ErrorDocumentingSchema.
PAGE = OpenApiResponse(
    PageSerializer, description="A page of records (the HSDS Page wrapper); with format=ndjson, every record"
)
NDJSON = OpenApiResponse(OpenApiTypes.STR, description="With format=ndjson: every matching record, one JSON a line")
LIST_RESPONSES: dict[Any, Any] = {
    (200, "application/json"): PAGE,
    (200, "application/x-ndjson"): NDJSON,
}


class HsdsView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatNegotiation

    def parameters(self, kind: type[serializers.Serializer[Any]]) -> dict[str, Any]:
        # A plain dict: DRF reads an empty value in a QueryDict as "not given", which would let
        # ?taxonomy_term_id= (no UUID) through as no filter at all.
        parsed = kind(data=self.request.query_params.dict())
        parsed.is_valid(raise_exception=True)
        return dict(parsed.validated_data)

    def answer(
        self, params: dict[str, Any], rows: QuerySet[Any], record: Callable[[Any], dict[str, Any]]
    ) -> Response | StreamingHttpResponse:
        if params["format"] == "ndjson":
            return StreamingHttpResponse(_lines(rows.iterator(chunk_size=STREAM_CHUNK), record), "application/x-ndjson")
        total, number, size = rows.count(), params["page"], params["per_page"]
        start = (number - 1) * size
        contents = [record(row) for row in rows[start : start + size]]
        return Response(hsds.page(contents, total, number, size))


def _lines(rows: Iterable[Any], record: Callable[[Any], dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(record(row), ensure_ascii=False) + "\n"


def _uuid_or_404(value: str, what: str) -> str:
    try:
        return str(serializers.UUIDField().to_internal_value(value))
    except serializers.ValidationError as exc:
        raise NotFound(f"No {what} {value!r}: HSDS ids are UUIDs.") from exc


class HsdsRootView(HsdsView):
    """Which HSDS version this API follows, its profile, and its OpenAPI file."""

    @extend_schema(responses=HsdsRootSerializer, operation_id="hsds_root")
    def get(self, request: Request) -> Response:
        return Response(
            {
                "version": hsds.HSDS_VERSION,
                "profile": request.build_absolute_uri(reverse("hsds-profile")),
                "openapi_url": request.build_absolute_uri(reverse("schema")) + "?format=json",
            }
        )


class HsdsProfileView(HsdsView):
    """The helpline-directory profile: the fields and the object it adds to HSDS 3.0."""

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="hsds_profile")
    def get(self, request: Request) -> Response:
        return Response(hsds.profile_document())


class ServiceListView(HsdsView):
    """Published services: their one-to-one fields, ``full`` for nested records, ``minimal`` for ids."""

    @extend_schema(
        parameters=[ServiceListParameters],
        responses=LIST_RESPONSES,
        operation_id="hsds_services_list",
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        params = self.parameters(ServiceListParameters)
        query, now = _service_query(params), timezone.now()
        if params["minimal"]:
            rows = hsds.filter_services(Service.objects.public().order_by("name", "id"), query)
            return self.answer(params, rows, hsds.minimal_record)
        if params["full"]:
            rows = hsds.filter_services(hsds.public_services(), query)
            return self.answer(params, rows, lambda s: hsds.service_record(s, now, open_now=True))
        rows = hsds.filter_services(hsds.summary_services(), query)
        return self.answer(params, rows, lambda s: hsds.service_summary(s, now))


def _service_query(params: dict[str, Any]) -> hsds.ServiceQuery:
    return hsds.ServiceQuery(
        search=params.get("search", ""),
        taxonomy_term_id=params.get("taxonomy_term_id"),
        taxonomy_id=params.get("taxonomy_id"),
        organization_id=params.get("organization_id"),
        modified_after=params.get("modified_after"),
    )


class ServiceDetailView(HsdsView):
    """One published service, fully nested, with the profile's ``open_now``."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="hsds_services_retrieve")
    def get(self, request: Request, id: str) -> Response:
        service = hsds.public_services().filter(hsds_id=_uuid_or_404(id, "service")).first()
        if service is None:
            raise NotFound(f"No published service {id!r}.")
        return Response(hsds.service_record(service, timezone.now(), open_now=True))


class OrganizationListView(HsdsView):
    """Organizations with at least one published service."""

    @extend_schema(
        parameters=[OrganizationListParameters],
        responses=LIST_RESPONSES,
        operation_id="hsds_organizations_list",
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        params = self.parameters(OrganizationListParameters)
        rows = hsds.public_organizations()
        for word in params.get("search", "").split()[:8]:
            rows = rows.filter(name__icontains=word)
        if not params["full"]:
            return self.answer(params, rows, hsds.organization_record)
        now = timezone.now()
        return self.answer(
            params,
            hsds.with_published_services(rows),
            lambda o: hsds.organization_full(o, now, full_service=params["full_service"]),
        )


class OrganizationDetailView(HsdsView):
    """One organization with its published services (``full_service`` nests them fully)."""

    @extend_schema(
        parameters=[OrganizationParameters],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="hsds_organizations_retrieve",
    )
    def get(self, request: Request, id: str) -> Response:
        params = self.parameters(OrganizationParameters)
        found = hsds.public_organizations().filter(hsds_id=_uuid_or_404(id, "organization"))
        organization = hsds.with_published_services(found).first()
        if organization is None:
            raise NotFound(f"No organization {id!r} with published services.")
        return Response(hsds.organization_full(organization, timezone.now(), full_service=params["full_service"]))


class ServiceAtLocationListView(HsdsView):
    """Published services at their locations; ``postcode`` (with ``proximity`` in metres) narrows by place."""

    @extend_schema(
        parameters=[ServiceAtLocationParameters],
        responses=LIST_RESPONSES,
        operation_id="hsds_service_at_locations_list",
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        params = self.parameters(ServiceAtLocationParameters)
        services = hsds.filter_services(Service.objects.public(), _service_query(params))
        locations: QuerySet[Location] = Location.objects.filter(service__in=services.values("id"))
        if params.get("postcode"):
            place = _place(params)
            point = (place.latitude, place.longitude)
            if params.get("proximity") is not None:
                near = hsds.locations_near(point, params["proximity"] / 1000)
                locations = locations.filter(id__in=near.values("id"))
            else:
                serving = hsds.services_serving(Service.objects.all(), point, place.country, place.subdivision)
                locations = locations.filter(service__in=serving.values("id"))
        elif params.get("proximity") is not None:
            raise ValidationError({"proximity": ["Needs postcode=."]})
        locations = hsds.with_service(locations).order_by("service__name", "service_id", "id")
        now, full = timezone.now(), params["full"]
        return self.answer(params, locations, lambda loc: hsds.service_at_location_record(loc, now, full=full))


def _place(params: dict[str, Any]) -> geocoding.Place:
    postcode, country = params["postcode"].strip(), params.get("country", "").upper() or None
    if country is not None and country not in geocoding.SUPPORTED_COUNTRIES:
        raise ValidationError({"country": [f"No postcode table for {country!r}."]})
    if country is None and len(geocoding.countries_for_postcode(postcode)) > 1:
        raise ValidationError({"postcode": [f"{postcode!r} fits several countries' formats: give country."]})
    place = geocoding.resolve_postcode(postcode, country)
    if place is None:
        raise ValidationError({"postcode": [f"{postcode!r} is not a postcode in our tables."]})
    return place


class ServiceAtLocationDetailView(HsdsView):
    """One location with its published service, fully nested."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="hsds_service_at_locations_retrieve")
    def get(self, request: Request, id: str) -> Response:
        wanted = _uuid_or_404(id, "service_at_location")
        published = Location.objects.filter(service__in=Service.objects.public().values("id"), hsds_id=wanted)
        location = hsds.with_service(published).first()
        if location is None:
            raise NotFound(f"No published service_at_location {id!r}.")
        return Response(hsds.service_at_location_record(location, timezone.now(), full=True))


class TaxonomyListView(HsdsView):
    """The directory's one taxonomy: its topics."""

    @extend_schema(parameters=[ListParameters], responses=LIST_RESPONSES, operation_id="hsds_taxonomies_list")
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        params = self.parameters(ListParameters)
        taxonomy = hsds.taxonomy_record()
        words = params.get("search", "").lower().split()
        found = [taxonomy] if all(word in json.dumps(taxonomy).lower() for word in words) else []
        return _listed(params, found)


class TaxonomyDetailView(HsdsView):
    """The directory's taxonomy."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="hsds_taxonomies_retrieve")
    def get(self, request: Request, id: str) -> Response:
        if _uuid_or_404(id, "taxonomy") != hsds.TAXONOMY_ID:
            raise NotFound(f"No taxonomy {id!r}.")
        return Response(hsds.taxonomy_record())


class TaxonomyTermListView(HsdsView):
    """The topics, with their names, SMS keywords and advice per language (profile fields)."""

    @extend_schema(
        parameters=[TaxonomyTermParameters],
        responses=LIST_RESPONSES,
        operation_id="hsds_taxonomy_terms_list",
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        params = self.parameters(TaxonomyTermParameters)
        terms = hsds.export_taxonomy_terms()
        words = params.get("search", "").lower().split()
        terms = [t for t in terms if all(w in (t["code"] + " " + json.dumps(t["names"])).lower() for w in words)]
        if params.get("taxonomy_id") is not None and str(params["taxonomy_id"]) != hsds.TAXONOMY_ID:
            terms = []
        if params.get("parent_id") is not None:
            terms = []  # Our topics are one level deep: no term has a parent.
        return _listed(params, terms)


def _listed(params: dict[str, Any], records: list[dict[str, Any]]) -> Response | StreamingHttpResponse:
    """Answer a list that is already in memory (the taxonomy: a few rows)."""
    if params["format"] == "ndjson":
        return StreamingHttpResponse(_lines(records, lambda r: r), "application/x-ndjson")
    number, size = params["page"], params["per_page"]
    start = (number - 1) * size
    return Response(hsds.page(records[start : start + size], len(records), number, size))


class TaxonomyTermDetailView(HsdsView):
    """One topic."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="hsds_taxonomy_terms_retrieve")
    def get(self, request: Request, id: str) -> Response:
        wanted = _uuid_or_404(id, "taxonomy term")
        for topic in Topic.objects.order_by("position", "slug"):
            if hsds.term_id(topic.slug) == wanted:
                return Response(hsds.term_record(topic))
        raise NotFound(f"No taxonomy term {id!r}.")
