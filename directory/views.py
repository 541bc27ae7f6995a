"""Read API views: parse the request, call the domain, serialize the answer."""

from dataclasses import replace
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.http import http_date
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from directory import errors, geocoding, lean, lists, readmodel
from directory.about import DATA_SOURCES
from directory.filters import OrganizationFilter, ServiceFilter
from directory.language import request_language
from directory.models import Coverage, Language, Location, Organization, Service, ServiceStatus, Topic
from directory.regions import region_name
from directory.search import SUPPORTED_LANGUAGES, HelpQuery, find_help
from directory.search.memory import MemorySource
from directory.serializers import (
    AboutSerializer,
    LanguageSerializer,
    NearestQuerySerializer,
    NearestResponseSerializer,
    OrganizationSerializer,
    PlaceSerializer,
    RegionSerializer,
    ServiceDetailSerializer,
    ServiceSummarySerializer,
    TopicSerializer,
    detail_url,
    nearest_representation,
)
from directory.versions import etag
from directory.write_views import OrganizationWriteMixin, ServiceWriteMixin

LANG_PARAMETER = OpenApiParameter(
    "lang", OpenApiTypes.STR, enum=["en", "fr", "es"], description="Answer language (else Accept-Language, else en)"
)


class LanguageContextMixin(generics.GenericAPIView[Any]):
    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "language": request_language(self.request),
            "now": timezone.now(),
        }


class VersionETagMixin(generics.GenericAPIView[Any]):
    """A single record carries a strong ETag from its version column, the one writes check with If-Match."""

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        response.etag_version = instance.version  # type: ignore[attr-defined]
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        version = getattr(response, "etag_version", None)
        if version is not None and response.status_code == 200:
            response.render()
            response["ETag"] = etag(version, response.content)
        return response


@extend_schema(parameters=[LANG_PARAMETER])
class ServiceViewSet(ServiceWriteMixin, VersionETagMixin, LanguageContextMixin, viewsets.ReadOnlyModelViewSet[Service]):
    """Listings. Lists show verified listings unless ``verified=any`` or ``verified=false`` is given."""

    filterset_class = ServiceFilter
    # Reads are public; writes need a signed-in user, then scoped by directory.permissions.
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get_queryset(self) -> QuerySet[Service]:
        queryset = Service.objects.filter(archived_at__isnull=True).select_related("organization")
        queryset = queryset.prefetch_related("topics", "languages", "channels", "coverage")
        if self.action == "retrieve":
            return queryset.prefetch_related("schedules__intervals", "locations")
        return queryset.filter(status=ServiceStatus.ACTIVE).order_by("name", "id")

    def get_serializer_class(self) -> type[ServiceSummarySerializer]:
        return ServiceDetailSerializer if self.action == "retrieve" else ServiceSummarySerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Filtered, counted and paged from the read model when it can answer the filters (directory.lists);
        # only the page's rows are read from the database.
        model = readmodel.current()
        if model is not None:
            filters = lean.services_filters(request.query_params, model)
            if filters is not None:
                return self._lean_list(request, model, filters)
        filterset = DjangoFilterBackend().get_filterset(request, self.get_queryset(), self)
        if model is None or filterset is None:
            return super().list(request, *args, **kwargs)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        if not lists.answers(cleaned):
            return super().list(request, *args, **kwargs)
        ordered = lists.OrderedIds(model, lists.matching(model, cleaned, timezone.now()))
        page = self.paginate_queryset(ordered)  # type: ignore[arg-type]
        found = self.get_queryset().in_bulk(page or [])
        rows = [found[service_id] for service_id in page or [] if service_id in found]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def _lean_list(self, request: Request, model: readmodel.ReadModel, filters: dict[str, Any]) -> Response:
        body = services_page(request, model, filters, self.paginator)  # type: ignore[arg-type]
        return with_last_modified(Response(body), model)


def services_page(
    request: Request, model: readmodel.ReadModel, filters: dict[str, Any], paginator: PageNumberPagination
) -> dict[str, Any]:
    """The list's body for plainly written read-model filters: bits for the filters, the page's rows by hand."""
    now = timezone.now()
    language = request_language(request)
    index = lists.index_for(model)
    matching = lists.MatchingIds(index, index.matching(filters, now))
    page: list[Any] | None = paginator.paginate_queryset(matching, request)  # type: ignore[arg-type]
    ids: list[int] = list(page or [])
    rows = lists.summaries(model, ids, language, now, detail_url(request))
    body: dict[str, Any] = paginator.get_paginated_response(rows).data
    return body


class OrganizationViewSet(OrganizationWriteMixin, VersionETagMixin, viewsets.ReadOnlyModelViewSet[Organization]):
    # Reads are public; writes need a signed-in user, then scoped by directory.permissions.
    permission_classes = [IsAuthenticatedOrReadOnly]
    queryset = Organization.objects.filter(archived_at__isnull=True).order_by("name", "id")
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter


@extend_schema(parameters=[LANG_PARAMETER])
class TopicViewSet(LanguageContextMixin, viewsets.ReadOnlyModelViewSet[Topic]):
    queryset = Topic.objects.order_by("position", "slug")
    serializer_class = TopicSerializer
    lookup_field = "slug"
    filterset_class = None


class LanguageViewSet(viewsets.ReadOnlyModelViewSet[Language]):
    """Languages that at least one listing is offered in."""

    queryset = Language.objects.filter(services__isnull=False).distinct().order_by("code")
    serializer_class = LanguageSerializer
    lookup_field = "code"
    filterset_class = None


class RegionListView(generics.GenericAPIView[Any]):
    """Countries and subdivisions that listings serve or are located in, with how many listings each."""

    serializer_class = RegionSerializer
    queryset = Coverage.objects.none()
    filterset_class = None

    @extend_schema(responses=RegionSerializer(many=True))
    def get(self, request: Request) -> Response:
        live = {"service__archived_at__isnull": True, "service__status": ServiceStatus.ACTIVE}
        counts: dict[str, set[int]] = {}
        for model in (Coverage, Location):
            rows = model.objects.filter(**live).values_list("country", "subdivision", "service_id")
            for country, subdivision, service_id in rows.iterator():
                for code in (country, subdivision):
                    if code:
                        counts.setdefault(code, set()).add(service_id)
        regions = [
            {
                "code": code,
                "name": region_name(code),
                "type": "subdivision" if "-" in code else "country",
                "country": code.split("-")[0],
                "service_count": len(ids),
            }
            for code, ids in sorted(counts.items())
        ]
        page = self.paginate_queryset(regions)
        return self.get_paginated_response(RegionSerializer(page, many=True).data)


class AboutView(generics.GenericAPIView[Any]):
    """What this service is, where its data comes from, and the attribution the data licences require."""

    serializer_class = AboutSerializer
    queryset = Coverage.objects.none()
    filterset_class = None

    def get(self, request: Request) -> Response:
        body = {
            "name": "Helpline directory",
            "api_version": "v1",
            "data_sources": DATA_SOURCES,
        }
        return Response(AboutSerializer(body).data)


class PostcodeView(generics.GenericAPIView[Any]):
    """The centroid, place and subdivision of a postcode, from the offline table."""

    serializer_class = PlaceSerializer
    queryset = Coverage.objects.none()
    filterset_class = None

    def get(self, request: Request, country: str, postcode: str) -> Response:
        place = geocoding.resolve_place(postcode=postcode, country=country)
        if place is None:
            raise errors.MissingPlace("Give a postcode.")
        return Response(PlaceSerializer(place).data)


class NearestView(generics.GenericAPIView[Any]):
    """The nearest help for a postcode or a point: ranked, with a reason each and the emergency number."""

    serializer_class = NearestResponseSerializer
    queryset = Coverage.objects.none()
    filterset_class = None

    @extend_schema(parameters=[NearestQuerySerializer, LANG_PARAMETER], responses=NearestResponseSerializer)
    def get(self, request: Request) -> Response:
        # The read model's revision check also gives Last-Modified; the search reads the same model.
        model = readmodel.current()
        validated = lean.nearest_params(request.query_params, model) if model is not None else None
        if validated is None:
            params = NearestQuerySerializer(data=request.query_params)
            params.is_valid(raise_exception=True)
            validated = params.validated_data
        return with_last_modified(Response(nearest_body(request, validated, model)), model)


def nearest_reply_language(request: Request, language: str) -> str:
    """Names and reasons in ``lang=``, else in ``language=`` when it is one we answer in, else as the
    request asks (Accept-Language, English); 400 for a ``lang=`` we do not answer in."""
    if "lang" not in request.query_params and language in SUPPORTED_LANGUAGES:
        return language
    return request_language(request)


def nearest_body(request: Request, validated: dict[str, Any], model: readmodel.ReadModel | None) -> dict[str, Any]:
    """The /nearest/ answer for validated parameters; services offered in ``language=`` ranked first."""
    query, resolved = nearest_query(validated)
    reply_language = nearest_reply_language(request, query.language)
    query = replace(query, language=query.language or reply_language, reply_language=reply_language)
    answer = find_help(query, source=MemorySource(model) if model is not None else None)
    return nearest_representation(resolved, answer, request)


def with_last_modified(response: Response, model: readmodel.ReadModel | None) -> Response:
    """Last-Modified from the read model's last revision check (the caching middleware's value, unqueried)."""
    if model is not None and model.last_modified is not None:
        response["Last-Modified"] = http_date(model.last_modified.timestamp())
    return response


def _slug(topic: Topic | str | None) -> str:
    if not topic:
        return ""
    return topic if isinstance(topic, str) else topic.slug


def nearest_query(params: dict[str, Any]) -> tuple[HelpQuery, dict[str, Any]]:
    """The search a /nearest/ request asks for, and the place it resolved to (the answer's ``query``)."""
    place = geocoding.resolve_place(
        postcode=params.get("postcode", ""),
        country=params.get("country", ""),
        latitude=params.get("lat"),
        longitude=params.get("lon"),
        point_needs_country=True,
    )
    country = place.country if place else params["country"]
    resolved: dict[str, Any] = {
        "postcode": place.code if place else "",
        "place": place.place if place else "",
        "country": country,
        "subdivision": place.subdivision if place else "",
        "latitude": place.latitude if place else None,
        "longitude": place.longitude if place else None,
    }
    query = HelpQuery(
        country=country,
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        subdivision=place.subdivision if place else "",
        county=place.county if place else "",
        topic=_slug(params.get("topic")),
        language=params.get("language", ""),
        kinds=tuple(sorted(params.get("kind") or ())),
        open_now=params["open_now"],
        age=params.get("age"),
        verified_only=params["verified"] == "true",
        limit=params["limit"],
    )
    return query, resolved
