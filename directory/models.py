"""The directory's data: organisations, their services, and where and when those services help.

Vocabulary follows Open Referral HSDS 3.0 where it fits (organization, service, location,
schedule, service area). Invariants live in database constraints, not in ``save()``.
"""

import math
import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from rest_framework_api_key.models import AbstractAPIKey

from directory.audit import AuditedHistoricalRecords, AuditedManager, AuditedQuerySet
from directory.validators import (
    validate_country_code,
    validate_language_code,
    validate_subdivision_code,
    validate_timezone,
)


class OrganizationKind(models.TextChoices):
    NGO = "ngo", "NGO"
    GOVERNMENT = "government", "Government"
    POLICE = "police", "Police"
    CHARITY = "charity", "Charity"
    COMPANY = "company", "Company"


class ServiceKind(models.TextChoices):
    HELPLINE = "helpline", "Helpline"
    POLICE = "police", "Police"
    SUPPORT_AGENCY = "support_agency", "Support agency"
    REPORTING = "reporting", "Reporting (tipline or takedown)"


class ServiceStatus(models.TextChoices):
    """HSDS 3.0 service status."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DEFUNCT = "defunct", "Defunct"
    TEMPORARILY_CLOSED = "temporarily closed", "Temporarily closed"


class VerificationState(models.TextChoices):
    UNVERIFIED = "unverified", "Unverified"
    PENDING = "pending", "Pending (secondary sources only)"
    VERIFIED = "verified", "Verified"
    STALE = "stale", "Stale (review overdue)"


class ChannelKind(models.TextChoices):
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    CHAT = "chat", "Web chat"
    EMAIL = "email", "Email"
    WEB_FORM = "web_form", "Web form"
    WEBSITE = "website", "Website"


class CoverageScope(models.TextChoices):
    WORLDWIDE = "worldwide", "Worldwide"
    COUNTRY = "country", "Country"
    SUBDIVISION = "subdivision", "Subdivision"
    RADIUS = "radius", "Radius around a point"


class GeocodePrecision(models.TextChoices):
    ADDRESS = "address", "Street address"
    POSTCODE = "postcode", "Postcode centroid"
    CITY = "city", "City centroid"
    NONE = "none", "No point"


MAX_AGE = 120
# What the public (API, SMS, HSDS) may see of the listings.
PUBLIC_LISTING = Q(status=ServiceStatus.ACTIVE, archived_at__isnull=True)
LATITUDE_RANGE = Q(latitude__gte=-90) & Q(latitude__lte=90)

# Points are indexed by (latitude band, longitude): a search seeks each 0.1-degree band (about 11 km)
# across the box it needs and reads a longitude range in each, instead of a whole band of the globe.
LATITUDE_BANDS_PER_DEGREE = 10
LATITUDE_BAND_OFFSET = 90 * LATITUDE_BANDS_PER_DEGREE


class LatitudeBand(models.Func):
    """floor(latitude * 10) + 900, the same on SQLite and PostgreSQL (so it can be a generated column)."""

    output_field = models.IntegerField()

    def __init__(self, expression: Any) -> None:
        super().__init__(expression)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Casting a non-negative REAL truncates, which is floor.
        template = f"CAST(%(expressions)s * {LATITUDE_BANDS_PER_DEGREE} + {LATITUDE_BAND_OFFSET} AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"(FLOOR(%(expressions)s * {LATITUDE_BANDS_PER_DEGREE})::integer + {LATITUDE_BAND_OFFSET})"
        return self.as_sql(compiler, connection, template=template, **extra)


def latitude_band(latitude: float) -> int:
    return math.floor(latitude * LATITUDE_BANDS_PER_DEGREE) + LATITUDE_BAND_OFFSET


def _band_field() -> models.GeneratedField:
    return models.GeneratedField(
        expression=LatitudeBand("latitude"), output_field=models.IntegerField(null=True), db_persist=True
    )


LONGITUDE_RANGE = Q(longitude__gte=-180) & Q(longitude__lte=180)


def translated(translations: object, field: str, language: str, fallback: str) -> str:
    """Pick ``field`` in ``language`` from a translations mapping, else ``fallback``."""
    entry = translations.get(language) if isinstance(translations, dict) else None
    value = entry.get(field) if isinstance(entry, dict) else None
    return str(value) if value else fallback


class Topic(models.Model):
    """A taxonomy term, with display names, SMS keywords and safety advice per language."""

    slug = models.SlugField(max_length=50, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    names = models.JSONField(default=dict, help_text='Display name per language: {"en": …, "fr": …, "es": …}')
    keywords = models.JSONField(default=dict, help_text='SMS keywords per language: {"en": ["SEXTORTION"], …}')
    advice = models.JSONField(default=dict, blank=True, help_text="One-line safety advice per language")

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.slug

    def name_in(self, language: str) -> str:
        return str(self.names.get(language) or self.names.get("en") or self.slug)


class Language(models.Model):
    """A language a service is offered in (ISO 639-1 where it exists, else ISO 639-3)."""

    code = models.CharField(max_length=3, unique=True, validators=[validate_language_code])
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Organization(models.Model):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    website = models.URLField(max_length=500, blank=True)
    email = models.EmailField(blank=True)
    kind = models.CharField(max_length=20, choices=OrganizationKind.choices)
    hsds_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Open Referral HSDS id")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(
        default=1, db_default=1, help_text="Bumped by every change; the ETag of writes"
    )

    objects = AuditedManager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="organization_name_unique")]

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(AuditedQuerySet):
    def public(self) -> "ServiceQuerySet":
        """Listings the public may see: not archived, and active."""
        return self.filter(PUBLIC_LISTING)


class Service(models.Model):
    """A listing: one helpline, police unit, support agency or reporting channel."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="services")
    kind = models.CharField(max_length=20, choices=ServiceKind.choices, db_index=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    translations = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per language: {"fr": {"name": "Jeunesse, J\'écoute", "description": "…"}}',
    )
    topics = models.ManyToManyField(Topic, related_name="services", blank=True)
    languages = models.ManyToManyField(Language, related_name="services", blank=True)
    min_age = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)])
    max_age = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)])
    is_free = models.BooleanField(null=True, blank=True)
    is_anonymous = models.BooleanField(null=True, blank=True)
    is_confidential = models.BooleanField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE)
    hours_note = models.CharField(max_length=255, blank=True, help_text="Opening hours as the source states them")

    verification_state = models.CharField(
        max_length=12, choices=VerificationState.choices, default=VerificationState.UNVERIFIED, db_index=True
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence_url = models.URLField(max_length=500, blank=True)
    evidence_note = models.TextField(blank=True)
    evidence_sources = models.JSONField(default=list, blank=True, help_text="Every source URL the facts rest on")
    source_seen = models.DateField(null=True, blank=True, help_text="When the sources were read")
    review_interval_days = models.PositiveSmallIntegerField(default=180)
    review_due = models.DateTimeField(null=True, blank=True, db_index=True)
    hsds_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Open Referral HSDS id")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(
        default=1,
        db_default=1,
        help_text="Bumped by every change to the listing or its proposals; the ETag of writes",
    )

    objects = ServiceQuerySet.as_manager()
    history = AuditedHistoricalRecords(m2m_fields=["topics", "languages"])

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"], name="service_name_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_age__isnull=True) | Q(max_age__isnull=True) | Q(min_age__lte=models.F("max_age")),
                name="service_age_range_ordered",
            ),
            models.CheckConstraint(condition=Q(review_interval_days__gte=1), name="service_review_interval_positive"),
            models.CheckConstraint(
                condition=~Q(verification_state=VerificationState.VERIFIED) | Q(verified_at__isnull=False),
                name="service_verified_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def localized(self, field: str, language: str) -> str:
        """Return ``name`` or ``description`` in ``language``, falling back to the base text."""
        return translated(self.translations, field, language, str(getattr(self, field)))


class ContactChannel(models.Model):
    """One way to reach a service. Phones are stored E.164, or as bare digits for short codes."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    value = models.CharField(max_length=500, help_text="E.164 number, short code digits, URL or email address")
    display = models.CharField(max_length=255, blank=True, help_text="As written by the source, e.g. 1-800-THE-LOST")
    extension = models.CharField(max_length=10, blank=True)
    sms_keyword = models.CharField(max_length=40, blank=True, help_text="Word to text, e.g. CONNECT")
    label = models.CharField(max_length=255, blank=True, help_text="What this line is for, e.g. non-emergency")
    is_primary = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    objects = AuditedManager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(kind=ChannelKind.PHONE, is_primary=True),
                name="channel_one_primary_phone",
            ),
            models.CheckConstraint(condition=~Q(value=""), name="channel_value_not_empty"),
            models.CheckConstraint(
                condition=Q(sms_keyword="") | Q(kind__in=[ChannelKind.SMS, ChannelKind.WHATSAPP]),
                name="channel_keyword_only_for_text",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.display or self.value}"


class Schedule(models.Model):
    """Weekly opening hours in an IANA time zone, for a service or one of its channels."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="schedules")
    channel = models.OneToOneField(
        ContactChannel, null=True, blank=True, on_delete=models.CASCADE, related_name="schedule"
    )
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    always_open = models.BooleanField(default=False)

    objects = AuditedManager()
    history = AuditedHistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service"], condition=Q(channel__isnull=True), name="schedule_one_per_service"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {'24/7' if self.always_open else self.timezone}"


class OpeningInterval(models.Model):
    """Open from ``opens`` to ``closes`` on ``weekday`` (0 = Monday); ``closes <= opens`` runs past midnight."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    opens = models.TimeField()
    closes = models.TimeField()

    objects = AuditedManager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="interval_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Coverage(models.Model):
    """Where a service serves people (HSDS service area)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="coverage")
    scope = models.CharField(max_length=12, choices=CoverageScope.choices)
    country = models.CharField(max_length=2, blank=True, validators=[validate_country_code])
    subdivision = models.CharField(max_length=10, blank=True, validators=[validate_subdivision_code])
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    radius_km = models.FloatField(null=True, blank=True)
    latitude_band = _band_field()

    objects = AuditedManager()
    history = AuditedHistoricalRecords(excluded_fields=["latitude_band"])

    class Meta:
        indexes = [
            # An area's services in id order (directory.search.area_services stops after the first few).
            models.Index(fields=["country", "scope", "service"], name="coverage_country_scope_service"),
            models.Index(fields=["subdivision", "scope", "service"], name="coverage_subdivision_service"),
            # Covers the ring search (directory.search.nearest_points): no table read per point in the box.
            models.Index(
                fields=["latitude_band", "longitude", "latitude", "scope", "radius_km", "service"],
                name="coverage_band_point",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope=CoverageScope.WORLDWIDE, country="", subdivision="")
                    | (Q(scope=CoverageScope.COUNTRY, subdivision="") & ~Q(country=""))
                    | (Q(scope=CoverageScope.SUBDIVISION) & ~Q(country="") & ~Q(subdivision=""))
                    | Q(
                        scope=CoverageScope.RADIUS,
                        latitude__isnull=False,
                        longitude__isnull=False,
                        radius_km__gt=0,
                    )
                ),
                name="coverage_scope_fields",
            ),
            models.CheckConstraint(condition=Q(latitude__isnull=True) | LATITUDE_RANGE, name="coverage_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | LONGITUDE_RANGE, name="coverage_longitude_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.subdivision or self.country}".strip()


class Location(models.Model):
    """A physical place of a service: an office, a station, a centre."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=255, blank=True)
    address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, validators=[validate_country_code], db_index=True)
    subdivision = models.CharField(max_length=10, blank=True, validators=[validate_subdivision_code], db_index=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    precision = models.CharField(max_length=10, choices=GeocodePrecision.choices, default=GeocodePrecision.NONE)
    hsds_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Open Referral HSDS id")
    latitude_band = _band_field()

    objects = AuditedManager()
    history = AuditedHistoricalRecords(excluded_fields=["latitude_band"])

    class Meta:
        # Covers the ring search (directory.search.nearest_points): no table read per point in the box.
        indexes = [
            models.Index(fields=["latitude_band", "longitude", "latitude", "service"], name="location_band_point")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | (Q(latitude__isnull=False, longitude__isnull=False) & LATITUDE_RANGE & LONGITUDE_RANGE),
                name="location_point_valid",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in (self.address, self.city, self.postcode, self.country) if part)


class PostcodeArea(models.Model):
    """An offline postcode centroid: a full code or the prefix the country's table is keyed on."""

    country = models.CharField(max_length=2)
    code = models.CharField(max_length=10)
    latitude = models.FloatField()
    longitude = models.FloatField()
    place = models.CharField(max_length=255, blank=True)
    admin_name = models.CharField(max_length=100, blank=True, help_text="Region name as the source gives it")
    subdivision = models.CharField(max_length=10, blank=True, help_text="ISO 3166-2 code")
    county = models.CharField(
        max_length=10, blank=True, help_text="ISO 3166-2 code of the county within the subdivision (GB), if any"
    )

    class Meta:
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="postcode_country_code_unique"),
            models.CheckConstraint(condition=LATITUDE_RANGE & LONGITUDE_RANGE, name="postcode_point_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.code}"


class MembershipRole(models.TextChoices):
    MAINTAINER = "maintainer", "Maintainer (proposes changes to the organisation's listings)"
    VIEWER = "viewer", "Viewer (reads the organisation's listings, proposals and history)"


class Membership(models.Model):
    """A user's part in an organisation. Moderators (group ``moderators``) act on every organisation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=MembershipRole.choices, default=MembershipRole.MAINTAINER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditedManager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["organization", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_user_organization")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.organization}"


class ProposalAction(models.TextChoices):
    CREATE = "create", "New listing"
    UPDATE = "update", "Change to a listing"
    ARCHIVE = "archive", "Archive a listing"
    RESTORE = "restore", "Restore an archived listing"
    CONFIRM = "confirm", "Confirm a listing is still correct"
    UPDATE_ORGANIZATION = "update_organization", "Change to an organisation"


class ReviewReminder(models.Model):
    """One reminder email to an organisation's maintainers on one day: reminders run at most once a day."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="review_reminders")
    day = models.DateField()
    recipients = models.PositiveSmallIntegerField()
    listings = models.JSONField(default=list, help_text="Ids of the listings the email named")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "organization"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "day"], name="review_reminder_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.day}"


class ProposalState(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded by a later proposal"
    WITHDRAWN = "withdrawn", "Withdrawn by its author"


class Proposal(models.Model):
    """A change waiting for a moderator: the full proposed version and its diff against its base version.

    ``base_version`` is the listing's (or organisation's) version right after the proposal was made; a
    proposal can be approved only while the target still has that version, so nothing that happened in
    between is overwritten.
    """

    action = models.CharField(max_length=24, choices=ProposalAction.choices)
    state = models.CharField(max_length=12, choices=ProposalState.choices, default=ProposalState.PENDING, db_index=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="proposals")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE, related_name="proposals")
    base_version = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, help_text="The full proposed version")
    diff = models.JSONField(default=dict, help_text='Per field: {"before": …, "after": …}')
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    evidence_url = models.URLField(max_length=500, blank=True)
    evidence_note = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text="Why it was rejected, shown to its author")

    objects = AuditedManager()
    history = AuditedHistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(state="pending", service__isnull=False),
                name="proposal_one_pending_per_service",
            ),
            models.CheckConstraint(
                condition=Q(action__in=["create", "update_organization"]) | Q(service__isnull=False),
                name="proposal_service_action_has_service",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.state}"


class PartnerKey(AbstractAPIKey):
    """A partner app's API key (stored hashed) with the quotas moderators set for it."""

    per_minute = models.PositiveIntegerField(default=120, help_text="Requests allowed per clock minute")
    per_day = models.PositiveIntegerField(default=20000, help_text="Requests allowed per UTC day")
    contact = models.EmailField(blank=True, help_text="Who to tell about changes, outages or abuse")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"
        constraints = [
            models.CheckConstraint(condition=Q(per_minute__gte=1), name="partner_key_per_minute_positive"),
            models.CheckConstraint(condition=Q(per_day__gte=1), name="partner_key_per_day_positive"),
        ]


class PartnerKeyUsage(models.Model):
    """One key's requests on one UTC day, copied from the shared cache's counters."""

    key = models.ForeignKey(PartnerKey, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    client_errors = models.PositiveIntegerField(default=0, help_text="4xx answers other than 429")
    throttled = models.PositiveIntegerField(default=0, help_text="429 answers")

    class Meta:
        ordering = ["-day", "key"]
        verbose_name = "partner API key usage"
        verbose_name_plural = "partner API key usage"
        constraints = [models.UniqueConstraint(fields=["key", "day"], name="partner_key_usage_per_day")]

    def __str__(self) -> str:
        return f"{self.key} {self.day}"


class DirectoryChange(models.Model):
    """One entry per changed listing, written by database triggers on every directory table.

    The newest entry's id is the directory's revision: each app process compares it with the revision
    its read model was built at and reloads the listings named since (``directory.readmodel``). A null
    ``service`` means reference data (topics, languages) changed: everything is reloaded. ``token`` tells
    a revision apart from one that reused its id after a rollback. ``logged_at`` is filled in by the
    database (the triggers name no time); ``purge_change_log`` deletes entries older than
    ``DIRECTORY_CHANGE_DAYS``.
    """

    service_id = models.BigIntegerField(null=True)
    token = models.BigIntegerField(default=0)
    logged_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "directory_change"

    def __str__(self) -> str:
        return f"#{self.pk} service {self.service_id}"
