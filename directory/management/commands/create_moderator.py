from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.accounts import ensure_user, make_moderator
from directory.management.commands._password import PASSWORD_VARIABLE, read_password


class Command(BaseCommand):
    help = (
        "Create a moderator (a member of the 'moderators' group), or make an existing user one. "
        f"The password comes from ${PASSWORD_VARIABLE} or a prompt, never from the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Never prompt")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, created = ensure_user(options["username"], options["email"], read_password(options["interactive"]))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        make_moderator(user)
        self.stdout.write(f"{'Created' if created else 'Updated'} moderator {user.get_username()}.")
        if not user.has_usable_password():
            self.stdout.write(f"No password set: set ${PASSWORD_VARIABLE} and run again, or use changepassword.")
