import io
from typing import Any

import qrcode
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory.accounts import ensure_user, make_moderator, new_authenticator
from directory.management.commands._password import PASSWORD_VARIABLE, read_password


class Command(BaseCommand):
    help = (
        "Create a moderator (a member of the 'moderators' group), or make an existing user one, with an "
        "authenticator (TOTP) for the second factor moderators sign in with. The password comes from "
        f"${PASSWORD_VARIABLE} or a prompt, never from the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--new-authenticator", action="store_true", help="Replace the moderator's authenticator with a new one"
        )
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
        if options["new_authenticator"] or not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            device = new_authenticator(user)
            self.stdout.write("Add this account to an authenticator app (shown once; keep it secret):")
            self.stdout.write(device.config_url)
            code = qrcode.QRCode(border=1)
            code.add_data(device.config_url)
            picture = io.StringIO()
            code.print_ascii(out=picture)
            self.stdout.write(picture.getvalue())
