"""A password from an environment variable or a prompt, never from the command line."""

import getpass
import os
import sys

from django.core.management.base import CommandError

PASSWORD_VARIABLE = "DIRECTORY_PASSWORD"  # noqa: S105 - the name of a variable, not a password


def read_password(interactive: bool) -> str | None:
    """Return the password from $DIRECTORY_PASSWORD, else ask twice on a terminal; None to leave it unset."""
    from_env = os.environ.get(PASSWORD_VARIABLE)
    if from_env:
        return from_env
    if not interactive or not sys.stdin.isatty():
        return None
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CommandError("The passwords differ.")
    if not first:
        raise CommandError("The password is empty.")
    return first
