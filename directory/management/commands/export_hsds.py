"""Write the published listings as Open Referral HSDS 3.0: JSON, the tabular data package, or both.

``OUTPUT/services.json`` holds every published service fully nested; ``OUTPUT/datapackage.json`` and
one CSV per HSDS object (plus the profile's ``contact_channels.csv``) are the tabular form.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from directory import hsds


class Command(BaseCommand):
    help = "Export the published listings as HSDS 3.0 JSON (services.json) and/or a tabular data package."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path, help="Directory to write into (created if missing)")
        parser.add_argument("--format", choices=["json", "tabular", "both"], default="both")

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"]
        form = options["format"]
        counts = hsds.export(
            output,
            json_form=form in ("json", "both"),
            tabular=form in ("tabular", "both"),
            progress=lambda done: self.stderr.write(f"exported {done} services"),
        )
        if "services.json" in counts:
            self.stdout.write(f"{output / 'services.json'}: {counts.pop('services.json')} services")
        if counts:
            rows = ", ".join(f"{name} {count}" for name, count in counts.items() if count)
            self.stdout.write(f"{output / 'datapackage.json'}: {rows}")
