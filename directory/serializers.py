"""Output shapes of the read API: a summary for lists, a detail for one listing.

Names and descriptions come in the request's language (``context["language"]``) with a fallback.
"""

import functools
import math
from collections.abc import Callable
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from directory.hours import describe, weekly_hours_from_schedule
from directory.models import (
    ContactChannel,
    Coverage,
    Language,
    Location,
    OpeningInterval,
    Organization,
    Schedule,
    Service,
    ServiceKind,
    Topic,
)
from directory.regions import region_name
from directory.search import MAX_LIMIT, HelpAnswer, effective_verification, service_open_now
from directory.validators import is_country_code, is_whole_number, language_for


def _language(serializer: serializers.BaseSerializer[Any]) -> str:
    return str(serializer.context.get("language", "en"))


class OrganizationRefSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ["id", "name", "kind"]


class OrganizationSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "description", "website", "email", "updated_at"]


class TopicSerializer(serializers.ModelSerializer[Topic]):
    name = serializers.SerializerMethodField()
    advice = serializers.SerializerMethodField()

    class Meta:
        model = Topic
        fields = ["slug", "name", "names", "advice"]

    def get_name(self, topic: Topic) -> str:
        return topic.name_in(_language(self))

    @extend_schema_field(OpenApiTypes.STR)
    def get_advice(self, topic: Topic) -> str:
        language = _language(self)
        return str(topic.advice.get(language) or topic.advice.get("en") or "")


class LanguageSerializer(serializers.ModelSerializer[Language]):
    class Meta:
        model = Language
        fields = ["code", "name"]


class RegionSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="ISO 3166-1 alpha-2 or ISO 3166-2 code")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["country", "subdivision"])
    country = serializers.CharField()
    service_count = serializers.IntegerField()


class CoverageSerializer(serializers.ModelSerializer[Coverage]):
    name = serializers.SerializerMethodField(help_text="Human name of the area")

    class Meta:
        model = Coverage
        fields = ["scope", "country", "subdivision", "latitude", "longitude", "radius_km", "name"]

    def get_name(self, coverage: Coverage) -> str:
        if coverage.scope == "worldwide":
            return "Worldwide"
        if coverage.scope == "radius":
            return f"Within {coverage.radius_km:g} km"
        return region_name(coverage.subdivision or coverage.country)


class ContactSerializer(serializers.ModelSerializer[ContactChannel]):
    class Meta:
        model = ContactChannel
        fields = ["kind", "value", "display", "extension", "sms_keyword", "label", "is_primary"]


# Wall-clock times of a schedule: no offset (the schedule's time zone says where), so not RFC 3339 "time".
CLOCK_SECONDS_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"


@extend_schema_field({"type": "string", "pattern": CLOCK_SECONDS_PATTERN, "example": "09:00:00"})
class ClockTimeField(serializers.TimeField):
    """A local wall-clock time as HH:MM:SS, in the time zone of the schedule it belongs to."""


class IntervalSerializer(serializers.ModelSerializer[OpeningInterval]):
    opens = ClockTimeField(read_only=True)
    closes = ClockTimeField(read_only=True, help_text="At or before opens: the interval runs past midnight")

    class Meta:
        model = OpeningInterval
        fields = ["weekday", "opens", "closes"]


class ScheduleSerializer(serializers.ModelSerializer[Schedule]):
    intervals = IntervalSerializer(many=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = ["timezone", "always_open", "intervals", "summary"]

    def get_summary(self, schedule: Schedule) -> str:
        return describe(weekly_hours_from_schedule(schedule), _language(self))


class ChannelSerializer(ContactSerializer):
    hours = serializers.SerializerMethodField()

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "hours"]

    @extend_schema_field(ScheduleSerializer(allow_null=True))
    def get_hours(self, channel: ContactChannel) -> dict[str, Any] | None:
        schedule = self.context.get("channel_schedules", {}).get(channel.id)
        if schedule is None:
            return None
        return dict(ScheduleSerializer(schedule, context=self.context).data)


class LocationSerializer(serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ["name", "address", "city", "postcode", "country", "subdivision", "latitude", "longitude", "precision"]


class ServiceSummarySerializer(serializers.ModelSerializer[Service]):
    url = serializers.HyperlinkedIdentityField(view_name="service-detail")
    name = serializers.SerializerMethodField()
    organization = OrganizationRefSerializer()
    topics: Any = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    languages: Any = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    coverage = CoverageSerializer(many=True)
    primary_contact = serializers.SerializerMethodField()
    verification_state = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField(
        help_text="Only with near/postcode: distance to the nearest location; null otherwise"
    )

    class Meta:
        model = Service
        fields = [
            "id",
            "url",
            "name",
            "kind",
            "organization",
            "topics",
            "languages",
            "coverage",
            "primary_contact",
            "verification_state",
            "updated_at",
            "distance_km",
        ]

    def get_name(self, service: Service) -> str:
        return service.localized("name", _language(self))

    @extend_schema_field(ContactSerializer(allow_null=True))
    def get_primary_contact(self, service: Service) -> dict[str, Any] | None:
        channels = list(service.channels.all())
        if not channels:
            return None
        best = min(channels, key=lambda c: (not c.is_primary, c.kind != "phone", c.position, c.id))
        return dict(ContactSerializer(best).data)

    @extend_schema_field(serializers.ChoiceField(choices=["unverified", "pending", "verified", "stale"]))
    def get_verification_state(self, service: Service) -> str:
        return effective_verification(service, self.context.get("now") or timezone.now())

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_distance_km(self, service: Service) -> float | None:
        squared = getattr(service, "distance_squared", None)
        return None if squared is None else round(math.sqrt(squared), 1)


class VerificationSerializer(serializers.ModelSerializer[Service]):
    state = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "state",
            "verified_at",
            "review_due",
            "evidence_url",
            "evidence_note",
            "evidence_sources",
            "source_seen",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=["unverified", "pending", "verified", "stale"]))
    def get_state(self, service: Service) -> str:
        return effective_verification(service, self.context.get("now") or timezone.now())


class ServiceDetailSerializer(ServiceSummarySerializer):
    description = serializers.SerializerMethodField()
    organization = OrganizationSerializer()  # type: ignore[assignment]
    channels = serializers.SerializerMethodField()
    hours = serializers.SerializerMethodField()
    open_now = serializers.SerializerMethodField(help_text="null when the service publishes no hours")
    locations = LocationSerializer(many=True)
    verification = serializers.SerializerMethodField()

    class Meta(ServiceSummarySerializer.Meta):
        fields = [
            "id",
            "url",
            "name",
            "kind",
            "description",
            "organization",
            "topics",
            "languages",
            "min_age",
            "max_age",
            "is_free",
            "is_anonymous",
            "is_confidential",
            "status",
            "channels",
            "hours",
            "hours_note",
            "open_now",
            "coverage",
            "locations",
            "verification",
            "verification_state",
            "primary_contact",
            "created_at",
            "updated_at",
        ]

    def get_description(self, service: Service) -> str:
        return service.localized("description", _language(self))

    @extend_schema_field(ChannelSerializer(many=True))
    def get_channels(self, service: Service) -> list[dict[str, Any]]:
        schedules = {s.channel_id: s for s in service.schedules.all() if s.channel_id is not None}
        context = {**self.context, "channel_schedules": schedules}
        return list(ChannelSerializer(service.channels.all(), many=True, context=context).data)

    @extend_schema_field(ScheduleSerializer(allow_null=True))
    def get_hours(self, service: Service) -> dict[str, Any] | None:
        own = next((s for s in service.schedules.all() if s.channel_id is None), None)
        return None if own is None else dict(ScheduleSerializer(own, context=self.context).data)

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_open_now(self, service: Service) -> bool | None:
        return service_open_now(service, self.context.get("now") or timezone.now())[0]

    @extend_schema_field(VerificationSerializer)
    def get_verification(self, service: Service) -> dict[str, Any]:
        return dict(VerificationSerializer(service, context=self.context).data)


class PlaceSerializer(serializers.Serializer[Any]):
    country = serializers.CharField()
    code = serializers.CharField(help_text="The postcode as the table keys it (e.g. S4P, SW1A, 2000)")
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()
    place = serializers.CharField()
    subdivision = serializers.CharField(help_text="ISO 3166-2 code, empty when unknown")
    subdivision_name = serializers.SerializerMethodField()

    def get_subdivision_name(self, place: Any) -> str:
        return region_name(place.subdivision) if place.subdivision else ""


class WholeNumberField(serializers.IntegerField):
    """An integer written as one: "15.0" is refused like "15.5", as the schema's integer says."""

    def to_internal_value(self, data: Any) -> int:
        if not is_whole_number(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class NearestQuerySerializer(serializers.Serializer[Any]):
    """Query parameters of /nearest/: a postcode (with or without country) or a lat/lon point."""

    postcode = serializers.CharField(required=False, max_length=16, help_text="Any format: S4P 3Y2, sw1a1aa, 2000")
    country = serializers.CharField(
        required=False, max_length=2, help_text="ISO 3166-1 alpha-2; inferred from the postcode when unambiguous"
    )
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90)
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180)
    topic = serializers.SlugRelatedField(slug_field="slug", queryset=Topic.objects.all(), required=False)
    language = serializers.CharField(
        required=False, max_length=3, help_text="ISO 639 code: prefer services offered in this language"
    )
    kind = serializers.MultipleChoiceField(choices=ServiceKind.choices, required=False)
    open_now = serializers.BooleanField(required=False, default=False)
    age = WholeNumberField(required=False, min_value=0, max_value=120)
    limit = WholeNumberField(required=False, default=10, min_value=1, max_value=MAX_LIMIT)
    verified = serializers.ChoiceField(
        choices=["any", "true"], required=False, default="any", help_text="true: verified listings only"
    )

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist"):
            data = {key: (data.getlist(key) if key == "kind" else data.get(key)) for key in data}
        return super().to_internal_value(data)

    def validate_country(self, value: str) -> str:
        if not is_country_code(value):
            raise serializers.ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. CA, GB).")
        return value.upper()

    def validate_language(self, value: str) -> str:
        if language_for(value) is None:
            raise serializers.ValidationError(f"{value!r} is not an ISO 639 language code (e.g. en, fr, es).")
        return value.lower()


class ResolvedQuerySerializer(serializers.Serializer[Any]):
    postcode = serializers.CharField()
    place = serializers.CharField()
    country = serializers.CharField()
    subdivision = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class HelpContactSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    value = serializers.CharField()
    display = serializers.CharField()
    sms_keyword = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class HelpResultSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="service_id")
    url = serializers.SerializerMethodField()
    name = serializers.CharField()
    kind = serializers.CharField()
    distance_km = serializers.FloatField(allow_null=True, help_text="null for area-wide services")
    reason = serializers.CharField(help_text='Why it is listed: "12 km away", "covers Saskatchewan", "national, 24/7"')
    open_now = serializers.BooleanField(allow_null=True, help_text="null when the service publishes no hours")
    always_open = serializers.BooleanField()
    verification_state = serializers.CharField()
    contacts = HelpContactSerializer(many=True)
    topics = serializers.ListField(child=serializers.CharField())

    def get_url(self, result: Any) -> str:
        path = reverse("service-detail", kwargs={"pk": result.service_id})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class NearestResponseSerializer(serializers.Serializer[Any]):
    query = ResolvedQuerySerializer()
    emergency_number = serializers.CharField()
    results = HelpResultSerializer(many=True)


_MARKER = 123456789


@functools.lru_cache(maxsize=16)
def _detail_path(script_prefix: str, urlconf: str | None) -> str:
    # What ``reverse`` gives depends only on these two: reversed once per process, not once per answer.
    return reverse("service-detail", kwargs={"pk": _MARKER}, urlconf=urlconf)


def detail_url(request: Any) -> Callable[[int], str]:
    """The absolute URL of a listing by id, as ``HyperlinkedIdentityField`` gives it, reversed once."""
    template = request.build_absolute_uri(_detail_path(get_script_prefix(), get_urlconf()))
    head, _, tail = template.rpartition(str(_MARKER))
    return lambda service_id: f"{head}{service_id}{tail}"


def nearest_representation(resolved: dict[str, Any], answer: HelpAnswer, request: Any) -> dict[str, Any]:
    """The body NearestResponseSerializer describes, built without its per-field machinery.

    /nearest/ is the API's busiest answer; the serializer stays its documented shape, and a test
    holds the two to the same output.
    """
    url_of = detail_url(request)
    return {
        "query": {
            "postcode": str(resolved["postcode"]),
            "place": str(resolved["place"]),
            "country": str(resolved["country"]),
            "subdivision": str(resolved["subdivision"]),
            "latitude": None if resolved["latitude"] is None else float(resolved["latitude"]),
            "longitude": None if resolved["longitude"] is None else float(resolved["longitude"]),
        },
        "emergency_number": answer.emergency_number,
        "results": [
            {
                "id": result.service_id,
                "url": url_of(result.service_id),
                "name": result.name,
                "kind": result.kind,
                "distance_km": result.distance_km,
                "reason": result.reason,
                "open_now": result.open_now,
                "always_open": result.always_open,
                "verification_state": result.verification_state,
                "contacts": [
                    {
                        "kind": contact.kind,
                        "value": contact.value,
                        "display": contact.display,
                        "sms_keyword": contact.sms_keyword,
                        "label": contact.label,
                    }
                    for contact in result.contacts
                ],
                "topics": list(result.topics),
            }
            for result in answer.results
        ],
    }


class DataSourceSerializer(serializers.Serializer[Any]):
    data = serializers.CharField()  # type: ignore[assignment]
    source = serializers.CharField()  # type: ignore[assignment]
    licence = serializers.CharField()
    attribution = serializers.CharField()


class AboutSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    api_version = serializers.CharField()
    data_sources = DataSourceSerializer(many=True)
