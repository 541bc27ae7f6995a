"""Import Open Referral HSDS 3.0 data: a JSON file of services, or a tabular data package.

An import is an operator's act, like the seed: listings enter as pending with ``--source`` as their
evidence, never as verified. Every record is checked first; if any is bad, the report lists each bad
record's problems and nothing is written. A listing a moderator has verified is never overwritten: the
report names it. Running the same import twice changes nothing the second time.
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from directory import hsds
from directory.models import OrganizationKind, ServiceKind

OUTCOME_WORDS = {
    "created": "would be created",
    "updated": "would be changed",
    "unchanged": "unchanged",
    "kept_by_moderator": "kept as a moderator verified it (not overwritten)",
}


class Command(BaseCommand):
    help = "Import HSDS 3.0 services (JSON file or data package directory) as pending listings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", type=Path, help="services JSON file, data package directory or its datapackage.json"
        )
        parser.add_argument("--source", required=True, help="Where the data comes from (URL), kept as evidence")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing")
        parser.add_argument("--service-kind", choices=ServiceKind.values, default="", help="For records without kind")
        parser.add_argument(
            "--organization-kind", choices=OrganizationKind.values, default="", help="For organizations without kind"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            records, terms, file_errors = hsds.read_any(options["path"])
        except hsds.HsdsFileError as exc:
            raise CommandError(str(exc)) from exc
        settings = hsds.ImportOptions(
            source=options["source"],
            service_kind=options["service_kind"],
            organization_kind=options["organization_kind"],
        )
        plans = hsds.plan_records(records, settings, terms, progress=self.progress("checked"))
        rejected = [plan for plan in plans if plan.plan is None]
        for plan in plans:
            for warning in plan.warnings:
                self.stdout.write(f"{plan.label}: note: {warning}")
        if file_errors or rejected:
            for error in file_errors:
                self.stdout.write(f"rejected: {error}")
            for plan in rejected:
                for error in plan.errors:
                    self.stdout.write(f"rejected: {plan.label}: {error}")
            raise CommandError(
                f"{len(rejected) + len(file_errors)} bad record(s) of {len(records)}: nothing was imported."
            )
        try:
            report = hsds.write_plans(
                plans,
                settings,
                taxonomy=hsds.taxonomy_plans(terms),
                dry_run=options["dry_run"],
                progress=self.progress("written"),
            )
        except DatabaseError as exc:
            raise CommandError(f"The database refused the import, so nothing was imported: {exc}") from exc
        self.summarise(report, dry_run=options["dry_run"])

    def progress(self, verb: str) -> Any:
        def show(done: int, total: int) -> None:
            if total >= 100:
                self.stderr.write(f"{verb} {done}/{total}")

        return show

    def summarise(self, report: hsds.ImportReport, *, dry_run: bool) -> None:
        for outcome, labels in report.outcomes.items():
            word = OUTCOME_WORDS[outcome] if dry_run else OUTCOME_WORDS[outcome].replace("would be ", "")
            for label in labels:
                self.stdout.write(f"{word}: {label}")
        if report.topics_created:
            self.stdout.write(f"topics {'to create' if dry_run else 'created'}: {', '.join(report.topics_created)}")
        counts = ", ".join(f"{outcome} {len(labels)}" for outcome, labels in report.outcomes.items())
        self.stdout.write(("Dry run, nothing written: " if dry_run else "Imported: ") + (counts or "no records"))
