"""The one-line reason given with each result, in the reply language (pure)."""

from directory.regions import region_name
from directory.search.query import TIER_LOCAL, TIER_NATIONAL
from directory.search.ranking import Candidate

_REASONS = {
    "en": {
        "km": "{km} km away",
        "near": "less than 1 km away",
        "covers": "covers {region}",
        "national": "national",
        "worldwide": "worldwide",
        "always": "24/7",
    },
    "de": {
        "km": "{km} km entfernt",
        "near": "weniger als 1 km entfernt",
        "covers": "zuständig für {region}",
        "national": "landesweit",
        "worldwide": "weltweit",
        "always": "rund um die Uhr",
    },
    "fr": {
        "km": "à {km} km",
        "near": "à moins de 1 km",
        "covers": "couvre {region}",
        "national": "national",
        "worldwide": "international",
        "always": "24/7",
    },
    "es": {
        "km": "a {km} km",
        "near": "a menos de 1 km",
        "covers": "cubre {region}",
        "national": "nacional",
        "worldwide": "internacional",
        "always": "24/7",
    },
}


def reason(candidate: Candidate, language: str, always_open: bool) -> str:
    words = _REASONS[language]
    if candidate.tier == TIER_LOCAL and candidate.distance_km is not None:
        if candidate.distance_km < 1:
            return words["near"]
        return words["km"].format(km=round(candidate.distance_km))
    if candidate.area:
        text = words["covers"].format(region=region_name(candidate.area))
    elif candidate.tier == TIER_NATIONAL:
        text = words["national"]
    else:
        text = words["worldwide"]
    return f"{text}, {words['always']}" if always_open else text
