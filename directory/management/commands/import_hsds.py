"""Import Open Referral HSDS 3.0 data: a JSON file of services, or a tabular data package.

Every listing the data would create or change becomes a proposal made as the account named by
``--as``, with ``--source`` and the record's id in it for the moderator; the public keeps seeing what a
moderator approved until a moderator other than that account approves it. Verified listings included:
the moderator decides. Organisations and topics (not listings) are synced directly, recorded as that
account's. Every record is checked first; if any is bad, the report lists each bad record's problems and
nothing is written. Running the same import twice proposes nothing the second time.
"""

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from directory import hsds
from directory.models import OrganizationKind, ServiceKind

OUTCOME_WORDS = {
    "created": ("proposed as a new listing", "would be proposed as a new listing"),
    "changed": ("proposed as a change", "would be proposed as a change"),
    "unchanged": ("unchanged", "unchanged"),
}


class Command(BaseCommand):
    help = "Import HSDS 3.0 services (JSON file or data package directory) as proposals for moderators to review."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", type=Path, help="services JSON file, data package directory or its datapackage.json"
        )
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="USERNAME",
            default="",
            help="Required: the existing account the proposals are made as (another moderator approves them)",
        )
        parser.add_argument(
            "--source", required=True, help="Where the data comes from (URL), shown to the moderator in each proposal"
        )
        parser.add_argument("--dry-run", action="store_true", help="Report what would be proposed; write nothing")
        parser.add_argument("--service-kind", choices=ServiceKind.values, default="", help="For records without kind")
        parser.add_argument(
            "--organization-kind", choices=OrganizationKind.values, default="", help="For organizations without kind"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options["actor"])
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
                actor=actor,
                taxonomy=hsds.taxonomy_plans(terms),
                dry_run=options["dry_run"],
                progress=self.progress("written"),
            )
        except DatabaseError as exc:
            raise CommandError(f"The database refused the import, so nothing was imported: {exc}") from exc
        self.summarise(report, actor=actor, dry_run=options["dry_run"])

    def actor(self, username: str) -> Any:
        if not username:
            raise CommandError(
                "--as USERNAME is required: the existing account the import's proposals are made as "
                "(a moderator other than it approves them)."
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(
                f"No account named {username!r}: create it first (create_moderator or create_maintainer)."
            )
        if not user.is_active:
            raise CommandError(f"The account {username!r} is deactivated: it cannot propose changes.")
        return user

    def progress(self, verb: str) -> Any:
        def show(done: int, total: int) -> None:
            if total >= 100:
                self.stderr.write(f"{verb} {done}/{total}")

        return show

    def summarise(self, report: hsds.ImportReport, *, actor: Any, dry_run: bool) -> None:
        for outcome, labels in report.outcomes.items():
            word = OUTCOME_WORDS[outcome][dry_run]
            for label in labels:
                self.stdout.write(f"{word}: {label}")
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        if report.topics_created:
            self.stdout.write(f"topics {'to create' if dry_run else 'created'}: {', '.join(report.topics_created)}")
        counts = ", ".join(f"{outcome} {len(labels)}" for outcome, labels in report.outcomes.items())
        if dry_run:
            self.stdout.write(f"Dry run, nothing written: proposed: {counts}")
        else:
            self.stdout.write(
                f"Imported as proposals by {actor.get_username()}, waiting for a moderator: proposed: {counts}"
            )
