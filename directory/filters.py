"""Query filters for the list endpoints. Every malformed value is a 400 naming its parameter."""

import math
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from directory import geocoding, rules
from directory.models import (
    ChannelKind,
    ContactChannel,
    Coverage,
    CoverageScope,
    Language,
    Location,
    Organization,
    OrganizationKind,
    Service,
    ServiceKind,
    Topic,
)
from directory.search import with_squared_distance, within_radius
from directory.validators import is_country_code, is_subdivision_code, is_whole_number

DEFAULT_RADIUS_KM = 25.0
MAX_RADIUS_KM = 500.0
MAX_TEXT_LENGTH = 200

VERIFIED_CHOICES = (("true", "verified only"), ("false", "not verified only"), ("any", "all"))


class CountryField(forms.CharField):
    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if value and not is_country_code(value):
            # Passed as params: the message is %-formatted later, and the value may hold "%".
            raise forms.ValidationError(
                "%(value)r is not an ISO 3166-1 alpha-2 country code (e.g. CA, GB).", params={"value": value}
            )
        return str(value).upper()


class SubdivisionField(forms.CharField):
    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if value and not is_subdivision_code(value):
            raise forms.ValidationError(
                "%(value)r is not an ISO 3166-2 subdivision code (e.g. CA-SK, GB-SCT).", params={"value": value}
            )
        return str(value).upper()


class WholeNumberField(forms.IntegerField):
    """An integer written as one: "15.0" is refused like "15.5", as the schema's integer says."""

    def to_python(self, value: Any) -> int | None:
        if value not in self.empty_values and not is_whole_number(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 120})
class AgeFilter(django_filters.NumberFilter):
    field_class = WholeNumberField


# Django's form fields refuse NUL characters (a 400): the schema says so.
@extend_schema_field({"type": "string", "maxLength": MAX_TEXT_LENGTH, "pattern": "^[^\\u0000]*$"})
class TextFilter(django_filters.CharFilter):
    pass


@extend_schema_field({"type": "number", "minimum": 0.1, "maximum": MAX_RADIUS_KM})
class RadiusFilter(django_filters.NumberFilter):
    pass


class PointField(forms.CharField):
    def clean(self, value: Any) -> tuple[float, float] | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            lat_text, lon_text = str(value).split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError as exc:
            raise forms.ValidationError("Must be 'latitude,longitude', e.g. 50.45,-104.61.") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
            raise forms.ValidationError("Latitude must be within -90..90 and longitude within -180..180.")
        return lat, lon


class PointFilter(django_filters.CharFilter):
    field_class = PointField


class CountryFilter(django_filters.CharFilter):
    field_class = CountryField


class SubdivisionFilter(django_filters.CharFilter):
    field_class = SubdivisionField


class ServiceFilter(django_filters.FilterSet):
    q = TextFilter(method="filter_text", max_length=MAX_TEXT_LENGTH, help_text="Words in the name or description")
    # A plain column: no join, so no duplicates to remove (DISTINCT over every column cost seconds at 1M).
    kind = django_filters.MultipleChoiceFilter(
        choices=ServiceKind.choices, distinct=False, help_text="Repeat for several kinds"
    )
    topic = django_filters.ModelChoiceFilter(
        queryset=Topic.objects.all(), to_field_name="slug", field_name="topics", help_text="Topic slug"
    )
    language = django_filters.ModelChoiceFilter(
        queryset=Language.objects.all(),
        to_field_name="code",
        field_name="languages",
        help_text="ISO 639 code of a language the service is offered in",
    )
    country = CountryFilter(method="filter_country", help_text="Serves this country (ISO 3166-1 alpha-2)")
    region = SubdivisionFilter(method="filter_region", help_text="Serves this subdivision (ISO 3166-2)")
    channel = django_filters.ChoiceFilter(
        choices=ChannelKind.choices, method="filter_channel", help_text="Has a contact channel of this kind"
    )
    age = AgeFilter(method="filter_age", min_value=0, max_value=120, help_text="Serves people of this age")
    verified = django_filters.ChoiceFilter(
        choices=VERIFIED_CHOICES,
        method="filter_verified",
        empty_label=None,
        help_text="true (default): verified and not overdue for review; false: everything else; any: both",
    )
    modified_after = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text="Changed after this ISO 8601 date-time"
    )
    near = PointFilter(method="keep", help_text="latitude,longitude: only services located within radius_km")
    postcode = django_filters.CharFilter(
        method="keep", max_length=16, help_text="Like near, from a postcode (country inferred or from country=)"
    )
    radius_km = RadiusFilter(
        method="keep", min_value=0.1, max_value=MAX_RADIUS_KM, help_text="With near/postcode; default 25"
    )

    class Meta:
        model = Service
        fields = ["q", "kind", "topic", "language", "country", "region", "channel", "age", "verified"]

    def keep(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        """Leave the queryset alone: near/postcode/radius_km act together in filter_queryset."""
        return queryset

    def filter_queryset(self, queryset: QuerySet[Service]) -> QuerySet[Service]:
        queryset = super().filter_queryset(queryset)
        point = self._point()
        if point is None:
            if self.form.cleaned_data.get("radius_km") is not None:
                raise ValidationError({"radius_km": ["Needs near=latitude,longitude or postcode=."]})
            return queryset
        radius = float(self.form.cleaned_data.get("radius_km") or DEFAULT_RADIUS_KM)
        nearby = within_radius(Location.objects.all(), point, radius)
        # By service id only, so the correlated lookup uses the foreign-key index, not the box.
        own = with_squared_distance(Location.objects.filter(service_id=OuterRef("pk")), point)
        closest = own.order_by("d2").values("d2")[:1]
        queryset = queryset.filter(id__in=nearby.values("service_id"))
        return queryset.annotate(distance_squared=Subquery(closest)).order_by("distance_squared", "id")

    def _point(self) -> tuple[float, float] | None:
        data = self.form.cleaned_data
        near, postcode = data.get("near"), data.get("postcode") or ""
        latitude, longitude = near if near else (None, None)
        if not near and not postcode.strip():
            return None
        place = geocoding.resolve_place(
            postcode=postcode, country=data.get("country") or "", latitude=latitude, longitude=longitude
        )
        if place is None:
            return None
        return place.latitude, place.longitude

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None:
            data = data.copy()
            # Absent or empty, verified means the default: partners get verified listings.
            if not data.get("verified"):
                data["verified"] = "true"
        super().__init__(data, *args, **kwargs)

    def filter_text(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        for word in value.split()[:8]:
            queryset = queryset.filter(Q(name__icontains=word) | Q(description__icontains=word))
        return queryset

    def filter_country(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        if not value:
            return queryset
        serves = Coverage.objects.filter(Q(scope=CoverageScope.WORLDWIDE) | Q(country=value))
        located = Location.objects.filter(country=value)
        return self._serving(queryset, serves, located)

    def filter_region(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        if not value:
            return queryset
        country = value.split("-")[0]
        serves = Coverage.objects.filter(
            Q(scope=CoverageScope.WORLDWIDE)
            | Q(scope=CoverageScope.COUNTRY, country=country)
            | Q(scope=CoverageScope.SUBDIVISION, subdivision=value)
        )
        located = Location.objects.filter(subdivision=value)
        return self._serving(queryset, serves, located)

    def _serving(
        self, queryset: QuerySet[Service], serves: QuerySet[Coverage], located: QuerySet[Location]
    ) -> QuerySet[Service]:
        """Keep listings with one of these coverages or locations.

        Alone, id sets read from the coverage/location indexes are far cheaper than an EXISTS per listing
        (a country holds ~100k listings at 1M); next to near/postcode, which leaves a few hundred
        listings, checking each of those is cheaper than building the sets.
        """
        if self.form.cleaned_data.get("near") or self.form.cleaned_data.get("postcode"):
            return queryset.filter(
                Exists(serves.filter(service_id=OuterRef("pk"))) | Exists(located.filter(service_id=OuterRef("pk")))
            )
        # One id set (a UNION), not an OR of two: PostgreSQL turns a single IN into a hash semi-join,
        # but an OR of two large IN sets into a per-listing linear scan of a set too big to hash.
        return queryset.filter(id__in=serves.values("service_id").union(located.values("service_id")))

    def filter_channel(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        if not value:
            return queryset
        return queryset.filter(Exists(ContactChannel.objects.filter(service_id=OuterRef("pk"), kind=value)))

    def filter_age(self, queryset: QuerySet[Service], name: str, age: int | None) -> QuerySet[Service]:
        if age is None:
            return queryset
        return queryset.filter(rules.serves_age(age))

    def filter_verified(self, queryset: QuerySet[Service], name: str, value: str) -> QuerySet[Service]:
        current = rules.current(timezone.now())
        if value == "true":
            return queryset.filter(current)
        if value == "false":
            return queryset.exclude(current)
        return queryset


class OrganizationFilter(django_filters.FilterSet):
    q = TextFilter(field_name="name", lookup_expr="icontains", max_length=MAX_TEXT_LENGTH)
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices)

    class Meta:
        model = Organization
        fields = ["q", "kind"]
