import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sms.service import handle_inbound


class Command(BaseCommand):
    help = "Show exactly what a texter would receive for a message, through the same code path as Twilio's."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="sender", required=True, help="Sender number, E.164 (+13065550123)")
        parser.add_argument("body", nargs="*", help='The message, e.g. "HELP S4P 3Y2"')

    def handle(self, *args: Any, **options: Any) -> None:
        body = " ".join(options["body"])
        reply = handle_inbound(options["sender"], body, f"SIM{uuid.uuid4().hex}", simulated=True)
        if reply.text:
            self.stdout.write(reply.text)
            self.stdout.write(f"-- {reply.segments} segment(s), {reply.encoding}, {len(reply.text)} characters")
        else:
            self.stdout.write("-- no message (the number is opted out or rate-limited)")
