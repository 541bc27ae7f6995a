"""What a search is asked and what it answers (plain values shared by the API, the SMS gateway and tests)."""

from dataclasses import dataclass, field

SUPPORTED_LANGUAGES = ("en", "fr", "es", "de")

# Getting an image taken down is what someone facing sextortion needs first after "don't pay", wherever
# they are: for these topics the worldwide takedown services (topic ``TAKEDOWN_TOPIC``) are part of
# every answer, ranked below the local and national help that matches the topic.
TAKEDOWN_TOPIC = "image_removal"
WORLDWIDE_TAKEDOWN_FOR = frozenset({"sextortion", "image_removal", "intimate_image_abuse"})
# StopNCII.org (adults' images) and Take It Down (images taken before 18); others rank as usual.
MAX_WORLDWIDE_TAKEDOWN = 2

# How far a located service may be and still count as nearby; rings grow until enough are found.
# A ring's cost grows with the points in its box, so the rings grow by steps of about 2.5: a dense
# city is answered from a few hundred points, an empty region after a few cheap index probes.
LOCATED_RINGS_KM = (2.0, 5.0, 12.0, 30.0, 70.0, 150.0)
# Radius coverage: how far a coverage centre may be from the point (the largest radius we honour).
COVERAGE_RINGS_KM = (3.0, 10.0, 25.0, 60.0, 130.0, 300.0)
MAX_LIMIT = 50

KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON_AT_EQUATOR = 111.320

TIER_LOCAL, TIER_SUBDIVISION, TIER_NATIONAL, TIER_WORLDWIDE = 0, 1, 2, 3


@dataclass(frozen=True)
class HelpQuery:
    """What someone needs: a place (a point, or just a country) and optional preferences."""

    country: str
    latitude: float | None = None
    longitude: float | None = None
    subdivision: str = ""
    # The county within ``subdivision`` (ISO 3166-2, GB), whose police force covers it.
    county: str = ""
    topic: str = ""
    # Prefer services offered in this language (any ISO 639 code).
    language: str = "en"
    kinds: tuple[str, ...] = ()
    open_now: bool = False
    age: int | None = None
    verified_only: bool = False
    limit: int = 10
    # The language of the answer's names and reasons (en, fr, es, de); empty: ``language``.
    reply_language: str = ""


@dataclass(frozen=True)
class Contact:
    kind: str
    value: str
    display: str
    sms_keyword: str = ""
    label: str = ""


@dataclass(frozen=True)
class HelpResult:
    service_id: int
    name: str
    kind: str
    distance_km: float | None
    reason: str
    open_now: bool | None
    always_open: bool
    verification_state: str
    contacts: tuple[Contact, ...] = ()
    topics: tuple[str, ...] = ()
    # False for results added only to fill the answer when too few match the topic asked.
    topic_match: bool = True


@dataclass(frozen=True)
class HelpAnswer:
    country: str
    emergency_number: str
    results: tuple[HelpResult, ...] = field(default_factory=tuple)
