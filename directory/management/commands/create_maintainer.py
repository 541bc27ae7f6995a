from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.accounts import ensure_user, make_maintainer
from directory.management.commands._password import PASSWORD_VARIABLE, read_password
from directory.models import MembershipRole, Organization
from directory.validators import is_digits


class Command(BaseCommand):
    help = (
        "Create a maintainer (or viewer) of an organisation, or add the role to an existing user. "
        f"The password comes from ${PASSWORD_VARIABLE} or a prompt, never from the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("organization", help="The organisation's exact name or its id")
        parser.add_argument("--email", default="")
        parser.add_argument("--role", choices=MembershipRole.values, default=MembershipRole.MAINTAINER)
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Never prompt")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["organization"]
        found = Organization.objects.filter(name=wanted)
        if is_digits(wanted):
            found = found | Organization.objects.filter(pk=int(wanted))
        organization = found.first()
        if organization is None:
            raise CommandError(f"No organisation named {wanted!r}.")
        try:
            user, created = ensure_user(options["username"], options["email"], read_password(options["interactive"]))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        make_maintainer(user, organization, options["role"])
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {user.get_username()}: {options['role']} of {organization.name}.")
        if not user.has_usable_password():
            self.stdout.write(f"No password set: set ${PASSWORD_VARIABLE} and run again, or use changepassword.")
