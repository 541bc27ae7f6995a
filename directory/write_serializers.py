"""Input shapes of the write API, validated as the import validates its rows.

A valid body becomes the plain-JSON write representation of ``directory.changes.snapshot``: phones in
E.164 (or a short code's digits), ISO codes upper-cased, times as ``HH:MM``. Fields a maintainer does not
own, and fields that do not exist, are refused by name rather than ignored.
"""

import re
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator, URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from directory.models import (
    MAX_AGE,
    ChannelKind,
    CoverageScope,
    GeocodePrecision,
    MembershipRole,
    Organization,
    OrganizationKind,
    Proposal,
    ServiceKind,
    ServiceStatus,
    Topic,
)
from directory.phones import dial_value
from directory.validators import is_country_code, is_subdivision_code, language_for, validate_timezone

TEXT_CHANNELS = {ChannelKind.SMS, ChannelKind.WHATSAPP}
DIALLED_CHANNELS = {ChannelKind.PHONE, ChannelKind.SMS, ChannelKind.WHATSAPP}
LINK_CHANNELS = {ChannelKind.WEBSITE, ChannelKind.WEB_FORM, ChannelKind.CHAT}

# Set by moderator review or by the system, never by an edit.
PROTECTED_SERVICE_FIELDS = {
    "id": "Ids are assigned by the directory.",
    "url": "Read-only.",
    "version": "Send the version you edit in If-Match, not in the body.",
    "verification": "Set by moderator review, not by edits.",
    "verification_state": "Set by moderator review, not by edits.",
    "verified_at": "Set by moderator review, not by edits.",
    "verified_by": "Set by moderator review, not by edits.",
    "evidence_url": "Set by moderator review, not by edits.",
    "evidence_note": "Set by moderator review, not by edits.",
    "evidence_sources": "Set by moderator review, not by edits.",
    "source_seen": "Set by moderator review, not by edits.",
    "review_due": "Set by moderator review, not by edits.",
    "archived_at": "Use DELETE to archive and the restore action to restore.",
    "created_at": "Timestamps are kept by the directory.",
    "updated_at": "Timestamps are kept by the directory.",
}
MODERATOR_SERVICE_FIELDS = {"review_interval_days": "Only moderators set how often a listing is reviewed."}


class StrictSerializer(serializers.Serializer[Any]):
    """Refuse unknown and protected fields by name instead of silently ignoring them."""

    protected: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        errors: dict[str, list[str]] = {}
        for key in data:
            if key in self.protected:
                errors[key] = [f"Not yours to set. {self.protected[key]}"]
            elif key not in self.fields or self.fields[key].read_only:
                errors[key] = ["Unknown field."]
        for key, value in data.items():
            if key in errors:
                continue
            problem = _json_type_problem(self.fields[key], value)
            if problem:
                errors[key] = [problem]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _json_type_problem(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str:
    """Refuse a JSON value of the wrong type, which DRF would otherwise coerce ("5" to 5, 0 to "0")."""
    if value is None:
        return "" if field.allow_null else "May not be null."
    expected: tuple[type, ...]
    if isinstance(field, serializers.BooleanField):
        expected, name = (bool,), "true or false"
    elif isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        expected, name = (int,), "a whole number"
    elif isinstance(field, serializers.FloatField):
        expected, name = (int, float), "a number"
    elif isinstance(field, serializers.ListField | serializers.ListSerializer):
        expected, name = (list,), "a list"
    elif isinstance(field, serializers.DictField | serializers.Serializer):
        expected, name = (dict,), "an object"
    elif isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.TimeField):
        expected, name = (str,), "a string"
    else:
        return ""
    if isinstance(value, bool) and bool not in expected:
        return f"Must be {name}."
    return "" if isinstance(value, expected) else f"Must be {name}."


def _clock(value: Any) -> str:
    return value.strftime("%H:%M")


CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@extend_schema_field({"type": "string", "pattern": CLOCK_PATTERN, "example": "09:00"})
class ClockInputField(serializers.TimeField):
    """A local wall-clock time written HH:MM, exactly (two digits each), in the schedule's time zone."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or not re.fullmatch(CLOCK_PATTERN, value):
            self.fail("invalid", format="HH:MM")
        return super().to_internal_value(value)


class IntervalInput(StrictSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    opens = ClockInputField(help_text="HH:MM, local time")
    closes = ClockInputField(help_text="HH:MM; at or before opens runs past midnight")

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        return {**value, "opens": _clock(value["opens"]), "closes": _clock(value["closes"])}


class ScheduleInput(StrictSerializer):
    timezone = serializers.CharField(max_length=64, help_text="IANA time zone, e.g. America/Regina")
    always_open = serializers.BooleanField(default=False)
    intervals = IntervalInput(many=True, required=False, default=list)

    def validate_timezone(self, value: str) -> str:
        try:
            validate_timezone(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["always_open"] and attrs["intervals"]:
            raise serializers.ValidationError({"intervals": ["An always-open schedule has no intervals."]})
        if not attrs["always_open"] and not attrs["intervals"]:
            raise serializers.ValidationError({"intervals": ["Give the opening intervals, or always_open: true."]})
        attrs["intervals"] = sorted(attrs["intervals"], key=lambda i: (i["weekday"], i["opens"]))
        return attrs


class ChannelInput(StrictSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    value = serializers.CharField(max_length=500, help_text="A phone number in any format, a URL or an email")
    country = serializers.CharField(
        max_length=2,
        required=False,
        write_only=True,
        help_text="Where a national-format number or short code is dialled (else the listing's first country)",
    )
    display = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    extension = serializers.RegexField(r"^[0-9]{0,10}$", required=False, default="", allow_blank=True)
    sms_keyword = serializers.RegexField(r"^[A-Za-z0-9]{0,40}$", required=False, default="", allow_blank=True)
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=255, required=False, default="", allow_blank=True
    )
    is_primary = serializers.BooleanField(default=False)
    hours = ScheduleInput(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind, value = attrs["kind"], attrs["value"].strip()
        country = attrs.pop("country", None) or self.context.get("country") or ""
        if attrs["sms_keyword"] and kind not in TEXT_CHANNELS:
            raise serializers.ValidationError({"sms_keyword": ["Only SMS and WhatsApp channels have a keyword."]})
        if attrs["is_primary"] and kind != ChannelKind.PHONE:
            raise serializers.ValidationError({"is_primary": ["Only a phone channel can be the primary line."]})
        if kind in DIALLED_CHANNELS:
            if country and not is_country_code(country):
                raise serializers.ValidationError({"country": [f"{country!r} is not an ISO 3166-1 alpha-2 code."]})
            dialled = dial_value(value, country.upper()) if value.startswith("+") or country else None
            if dialled is None:
                where = f"in {country.upper()}" if country else "(give it in +E.164 form or set country)"
                raise serializers.ValidationError(
                    {"value": [f"{value!r} is not a phone number or short code that can be dialled {where}."]}
                )
            attrs["value"] = dialled
            attrs["display"] = attrs["display"] or value
        elif kind == ChannelKind.EMAIL:
            _django_check(EmailValidator(), value)
            attrs["value"] = value
        else:
            _django_check(URLValidator(schemes=["https", "http"]), value)
            attrs["value"] = value
        attrs["sms_keyword"] = attrs["sms_keyword"].upper()
        return attrs


def _django_check(validator: Any, value: str) -> None:
    try:
        validator(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError({"value": error.messages}) from error


class CoverageInput(StrictSerializer):
    scope = serializers.ChoiceField(choices=CoverageScope.choices)
    country = serializers.CharField(max_length=2, required=False, default="", allow_blank=True)
    subdivision = serializers.CharField(max_length=10, required=False, default="", allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    radius_km = serializers.FloatField(min_value=0.1, max_value=20000, required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        scope = attrs["scope"]
        attrs["country"], attrs["subdivision"] = attrs["country"].upper(), attrs["subdivision"].upper()
        errors: dict[str, list[str]] = {}
        point = [attrs["latitude"], attrs["longitude"], attrs["radius_km"]]
        if attrs["country"] and not is_country_code(attrs["country"]):
            errors["country"] = [f"{attrs['country']!r} is not an ISO 3166-1 alpha-2 country code."]
        if attrs["subdivision"] and not is_subdivision_code(attrs["subdivision"]):
            errors["subdivision"] = [f"{attrs['subdivision']!r} is not an ISO 3166-2 code (e.g. CA-SK)."]
        elif attrs["subdivision"] and attrs["country"] and not attrs["subdivision"].startswith(attrs["country"] + "-"):
            errors["subdivision"] = [f"{attrs['subdivision']} is not in {attrs['country']}."]
        if scope == CoverageScope.WORLDWIDE and (attrs["country"] or attrs["subdivision"]):
            errors["scope"] = ["Worldwide coverage names no country or subdivision."]
        if scope == CoverageScope.COUNTRY and (not attrs["country"] or attrs["subdivision"]):
            errors["country"] = ["Country coverage needs a country and no subdivision."]
        if scope == CoverageScope.SUBDIVISION and not attrs["subdivision"]:
            errors["subdivision"] = ["Subdivision coverage needs a subdivision."]
        if scope == CoverageScope.SUBDIVISION and attrs["subdivision"] and not attrs["country"]:
            attrs["country"] = attrs["subdivision"].split("-")[0]
        if scope == CoverageScope.RADIUS and None in point:
            errors["radius_km"] = ["Radius coverage needs latitude, longitude and radius_km."]
        if scope != CoverageScope.RADIUS and point != [None, None, None]:
            errors["scope"] = ["Only radius coverage has a latitude, longitude and radius_km."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class LocationInput(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    address = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=16, required=False, default="", allow_blank=True)
    country = serializers.CharField(max_length=2)
    subdivision = serializers.CharField(max_length=10, required=False, default="", allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)
    precision = serializers.ChoiceField(choices=GeocodePrecision.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["country"], attrs["subdivision"] = attrs["country"].upper(), attrs["subdivision"].upper()
        errors: dict[str, list[str]] = {}
        if not is_country_code(attrs["country"]):
            errors["country"] = [f"{attrs['country']!r} is not an ISO 3166-1 alpha-2 country code."]
        if attrs["subdivision"] and not (
            is_subdivision_code(attrs["subdivision"]) and attrs["subdivision"].startswith(attrs["country"] + "-")
        ):
            errors["subdivision"] = [f"{attrs['subdivision']!r} is not an ISO 3166-2 code in {attrs['country']}."]
        if (attrs["latitude"] is None) != (attrs["longitude"] is None):
            errors["latitude" if attrs["latitude"] is None else "longitude"] = ["Give both latitude and longitude."]
        has_point = attrs["latitude"] is not None
        precision = attrs.get("precision") or (GeocodePrecision.ADDRESS if has_point else GeocodePrecision.NONE)
        if has_point == (precision == GeocodePrecision.NONE):
            errors["precision"] = ["'none' exactly when the location has no point."]
        if errors:
            raise serializers.ValidationError(errors)
        return {**attrs, "precision": precision}


class TranslationInput(StrictSerializer):
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class ServiceInput(StrictSerializer):
    """A listing with its nested parts. PATCH replaces only the top-level fields it names (a list whole)."""

    protected = PROTECTED_SERVICE_FIELDS

    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), help_text="On create only; a listing never changes organisation"
    )
    kind = serializers.ChoiceField(choices=ServiceKind.choices)
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    translations = serializers.DictField(
        child=TranslationInput(), required=False, default=dict, help_text="Per ISO 639 code: name, description"
    )
    topics = serializers.ListField(child=serializers.SlugField(), required=False, default=list)
    languages = serializers.ListField(child=serializers.CharField(max_length=3), required=False, default=list)
    min_age = serializers.IntegerField(min_value=0, max_value=MAX_AGE, required=False, allow_null=True, default=None)
    max_age = serializers.IntegerField(min_value=0, max_value=MAX_AGE, required=False, allow_null=True, default=None)
    is_free = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_anonymous = serializers.BooleanField(required=False, allow_null=True, default=None)
    is_confidential = serializers.BooleanField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=ServiceStatus.choices, required=False, default=ServiceStatus.ACTIVE)
    hours_note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    review_interval_days = serializers.IntegerField(min_value=1, max_value=730, required=False, default=180)
    channels = ChannelInput(many=True, required=False, default=list)
    hours = ScheduleInput(required=False, allow_null=True, default=None)
    coverage = CoverageInput(many=True, required=False, default=list)
    locations = LocationInput(many=True, required=False, default=list)

    def __init__(self, *args: Any, only: Any = None, **kwargs: Any) -> None:
        """``only``: validate just these top-level fields (a PATCH); nested parts are always validated whole."""
        super().__init__(*args, **kwargs)
        if only is not None:
            for name in set(self.fields) - set(only):
                self.fields.pop(name)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            cast(dict[str, Any], self.context)["country"] = listing_country(data, self.context.get("base") or {})
            if not self.context.get("moderator"):
                base = self.context.get("base") or {}
                refused = {
                    key: [f"Not yours to set. {message}"]
                    for key, message in MODERATOR_SERVICE_FIELDS.items()
                    if key in data and data[key] != base.get(key)
                }
                if refused:
                    raise serializers.ValidationError(refused)
            existing = self.context.get("organization_id")
            if existing is not None and "organization" in data and data["organization"] != existing:
                raise serializers.ValidationError(
                    {"organization": ["Not yours to set. A listing never moves to another organisation."]}
                )
        return super().to_internal_value(data)

    def validate_translations(self, value: dict[str, Any]) -> dict[str, Any]:
        unknown = [code for code in value if language_for(code) is None]
        if unknown:
            raise serializers.ValidationError(f"Not ISO 639 language codes: {', '.join(map(repr, unknown))}.")
        return {code.lower(): entry for code, entry in value.items()}

    def validate_topics(self, value: list[str]) -> list[str]:
        known = set(Topic.objects.filter(slug__in=value).values_list("slug", flat=True))
        unknown = [slug for slug in value if slug not in known]
        if unknown:
            raise serializers.ValidationError(f"Unknown topics: {', '.join(unknown)} (see /api/v1/topics/).")
        return sorted(set(value))

    def validate_languages(self, value: list[str]) -> list[str]:
        unknown = [code for code in value if language_for(code) is None]
        if unknown:
            raise serializers.ValidationError(f"Not ISO 639 language codes: {', '.join(map(repr, unknown))}.")
        return sorted({code.lower() for code in value})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = {**(self.context.get("base") or {}), **attrs}
        min_age, max_age = merged.get("min_age"), merged.get("max_age")
        if min_age is not None and max_age is not None and min_age > max_age:
            raise serializers.ValidationError({"max_age": ["Must be at least min_age."]})
        primaries = [i for i, channel in enumerate(merged.get("channels", [])) if channel["is_primary"]]
        if len(primaries) > 1:
            raise serializers.ValidationError(
                {f"channels[{primaries[1]}].is_primary": ["Only one phone channel can be the primary line."]}
            )
        if "organization" in attrs:
            attrs["organization"] = attrs["organization"].pk
        return attrs


def listing_country(data: dict[str, Any], base: dict[str, Any] | None = None) -> str:
    """The country national-format numbers are read in: the listing's first coverage or location country."""
    for key in ("coverage", "locations"):
        rows = data.get(key, (base or {}).get(key))
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict):
                code = str(row.get("country") or str(row.get("subdivision") or "").split("-")[0])
                if is_country_code(code):
                    return code.upper()
    return ""


class OrganizationInput(StrictSerializer):
    protected = {
        "id": "Ids are assigned by the directory.",
        "version": "Send the version you edit in If-Match, not in the body.",
        "updated_at": "Timestamps are kept by the directory.",
        "archived_at": "Only moderators archive organisations.",
    }

    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    website = serializers.URLField(max_length=500, required=False, default="", allow_blank=True)
    email = serializers.EmailField(required=False, default="", allow_blank=True)
    kind = serializers.ChoiceField(choices=OrganizationKind.choices)

    def validate_name(self, value: str) -> str:
        others = Organization.objects.filter(name=value)
        if self.context.get("organization_id") is not None:
            others = others.exclude(pk=self.context["organization_id"])
        if others.exists():
            raise serializers.ValidationError("Another organisation has this name.")
        return value


class MembershipInput(StrictSerializer):
    user = serializers.CharField(max_length=150, help_text="Username")
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    role = serializers.ChoiceField(choices=MembershipRole.choices, default=MembershipRole.MAINTAINER)


class EvidenceInput(StrictSerializer):
    evidence_url = serializers.URLField(max_length=500, required=False, default="", allow_blank=True)
    evidence_note = serializers.CharField(required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs["evidence_url"] or attrs["evidence_note"].strip()):
            raise serializers.ValidationError(
                {"evidence_url": ["Approval needs evidence: an evidence_url or an evidence_note."]}
            )
        return attrs


class RejectInput(StrictSerializer):
    reason = serializers.CharField(help_text="Shown to the proposal's author")

    def validate_reason(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Say why, for the maintainer.")
        return value


class LoginInput(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)
    otp_token = serializers.RegexField(
        r"^[0-9]{6,8}$",
        required=False,
        help_text="The one-time code from the authenticator app: moderators must send it",
    )


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text="Send as: Authorization: Token <token>")
    expiry = serializers.DateTimeField()


class ProposalSerializer(serializers.ModelSerializer[Proposal]):
    author = serializers.SerializerMethodField(help_text="Username of who proposed it")
    decided_by = serializers.SerializerMethodField(help_text="Username of who decided it, null while pending")
    evidence_url = serializers.CharField(read_only=True, help_text="A URL, or empty")
    conflict = serializers.SerializerMethodField(
        help_text="The listing changed after this proposal was made: it cannot be approved and must be re-proposed"
    )

    class Meta:
        model = Proposal
        fields = [
            "id",
            "action",
            "state",
            "organization",
            "service",
            "base_version",
            "conflict",
            "diff",
            "data",
            "author",
            "created_at",
            "decided_by",
            "decided_at",
            "evidence_url",
            "evidence_note",
            "reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author(self, proposal: Proposal) -> str | None:
        return proposal.author.get_username() if proposal.author else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, proposal: Proposal) -> str | None:
        return proposal.decided_by.get_username() if proposal.decided_by else None

    @extend_schema_field(serializers.BooleanField())
    def get_conflict(self, proposal: Proposal) -> bool:
        from directory.changes import in_conflict

        return in_conflict(proposal)


class HistoryChangeSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer[Any]):
    date = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True, help_text="Username; null for operator commands")
    reason = serializers.CharField(help_text="What the change was, e.g. 'approved proposal #12', 'load_seed'")
    type = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    part = serializers.CharField(help_text="service, channel, schedule, interval, coverage or location")
    part_id = serializers.IntegerField()
    changes = HistoryChangeSerializer(many=True)
