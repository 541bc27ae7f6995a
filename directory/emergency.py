"""Emergency numbers per country (pure): the one to show first, and the other numbers that work."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EmergencyNumbers:
    primary: str
    alternates: tuple[tuple[str, str], ...] = ()  # (number, what it reaches)


# 112 reaches emergency services from any GSM mobile phone in most of the world.
FALLBACK = EmergencyNumbers("112")

EMERGENCY_NUMBERS: dict[str, EmergencyNumbers] = {
    "CA": EmergencyNumbers("911"),
    "US": EmergencyNumbers("911"),
    "GB": EmergencyNumbers("999", (("112", "all emergency services"),)),
    "IE": EmergencyNumbers("112", (("999", "all emergency services"),)),
    "AU": EmergencyNumbers("000", (("112", "all emergency services, from a mobile phone"),)),
    "NZ": EmergencyNumbers("111"),
    "DE": EmergencyNumbers("112", (("110", "police"),)),
    "FR": EmergencyNumbers("112", (("17", "police"), ("15", "medical emergency (SAMU)"))),
    "IN": EmergencyNumbers("112"),
}


def emergency_numbers(country: str) -> EmergencyNumbers:
    """Return the country's emergency numbers, or 112 for a country not in the table."""
    key = country.strip().upper() if isinstance(country, str) else ""
    return EMERGENCY_NUMBERS.get(key, FALLBACK)


def police_number(country: str) -> str:
    """Return the number that reaches the police directly where it is not the main one (110, 17), else ""."""
    return next((number for number, reaches in emergency_numbers(country).alternates if reaches == "police"), "")


def emergency_number(country: str) -> str:
    """Return the number to call first in an emergency in ``country`` (112 when unknown)."""
    return emergency_numbers(country).primary
