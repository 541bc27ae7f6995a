"""Issue, list and revoke partner API keys. A new key is printed once; only its hash is stored."""

from datetime import UTC, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date

from directory.models import PartnerKey
from directory.validators import is_digits


def _positive(raw: str) -> int:
    if not is_digits(raw) or int(raw) < 1:
        raise ValueError(raw)
    return int(raw)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Issue a key and print it (the only time it is shown)")
        create.add_argument("name", help="Who the key is for, e.g. 'Safe Schools app'")
        create.add_argument("--per-minute", type=_positive, default=None, help="Requests per clock minute")
        create.add_argument("--per-day", type=_positive, default=None, help="Requests per UTC day")
        create.add_argument("--contact", default="", help="Email address of the partner's technical contact")
        create.add_argument("--expires", default=None, help="Last valid day, YYYY-MM-DD (UTC)")
        actions.add_parser("list", help="Keys with their quotas (never the keys themselves)")
        revoke = actions.add_parser("revoke", help="Revoke a key by its prefix (the part before the dot)")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        fields: dict[str, Any] = {"name": options["name"], "contact": options["contact"]}
        for option in ("per_minute", "per_day"):
            if options[option] is not None:
                fields[option] = options[option]
        if options["expires"]:
            day = parse_date(options["expires"])
            if day is None:
                raise CommandError(f"--expires must be a date like 2027-06-30, got {options['expires']!r}")
            fields["expiry_date"] = datetime.combine(day, time.max, tzinfo=UTC)
        partner, key = PartnerKey.objects.create_key(**fields)
        self.stdout.write(f"Issued {partner.prefix} for {partner.name!r}. The key, shown only this once:")
        self.stdout.write(key)

    def _list(self, options: dict[str, Any]) -> None:
        for partner in PartnerKey.objects.order_by("created"):
            state = "revoked" if partner.revoked else "expired" if partner.has_expired else "active"
            self.stdout.write(
                f"{partner.prefix}  {state:<7}  {partner.per_minute}/minute {partner.per_day}/day  {partner.name}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        if not PartnerKey.objects.filter(prefix=options["prefix"]).exists():
            raise CommandError(f"No key with prefix {options['prefix']!r}.")
        PartnerKey.objects.filter(prefix=options["prefix"]).update(revoked=True)
        self.stdout.write(f"Revoked {options['prefix']}: it is refused from now on.")
