"""Domain errors: what went wrong, in words a partner or a texter can act on.

Domain code raises these; ``directory.exception_handler`` is the one place that turns them into HTTP
answers, so the same input gets the same answer on every endpoint.
"""


class DirectoryError(Exception):
    """A domain error; ``field`` names the input at fault ("" when no single input is)."""

    field = ""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class InvalidPlace(DirectoryError):
    """The place asked for cannot be read: the input has to change."""


class MissingPlace(InvalidPlace):
    field = "postcode"


class ConflictingPlace(InvalidPlace):
    field = "postcode"


class IncompletePoint(InvalidPlace):
    field = "lat"


class InvalidCountry(InvalidPlace):
    field = "country"


class CountryRequired(InvalidPlace):
    field = "country"


class UnsupportedCountry(InvalidPlace):
    """A postcode was given for a country that has no postcode table."""

    field = "country"


class MalformedPostcode(InvalidPlace):
    """The postcode is not written the way any (or the given) country writes them."""

    field = "postcode"


class AmbiguousPostcode(InvalidPlace):
    """The postcode fits several countries' formats and no country was given."""

    field = "country"


class PostcodeNotFound(DirectoryError):
    """A well-formed postcode that the offline table does not hold."""

    field = "postcode"
