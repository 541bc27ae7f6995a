"""Find the nearest help: the one search used by the API and the SMS gateway.

- ``query``: what a search is asked and answers (``HelpQuery``, ``HelpAnswer``);
- ``candidates``: ``find_help``, which gathers candidates from a source and ranks them;
- ``memory``: the source reading the in-memory read model (``directory.readmodel``), used by default;
- ``reference``: the source reading SQL, the exhaustive reference and the fallback;
- ``ranking`` and ``reasons``: the order of the results and the reason given with each (pure);
- ``contacts``: the display data of the final results, from the database.
"""

from directory.search.candidates import find_help
from directory.search.contacts import contacts_for
from directory.search.query import (
    COVERAGE_RINGS_KM,
    LOCATED_RINGS_KM,
    MAX_LIMIT,
    SUPPORTED_LANGUAGES,
    Contact,
    HelpAnswer,
    HelpQuery,
    HelpResult,
)
from directory.search.ranking import effective_verification, service_open_now
from directory.search.reference import (
    area_services,
    nearest_points,
    service_conditions,
    with_squared_distance,
    within_radius,
)

__all__ = [
    "COVERAGE_RINGS_KM",
    "LOCATED_RINGS_KM",
    "MAX_LIMIT",
    "SUPPORTED_LANGUAGES",
    "Contact",
    "HelpAnswer",
    "HelpQuery",
    "HelpResult",
    "area_services",
    "contacts_for",
    "effective_verification",
    "find_help",
    "nearest_points",
    "service_conditions",
    "service_open_now",
    "with_squared_distance",
    "within_radius",
]
