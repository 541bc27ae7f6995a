from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from directory.reviews import DUE_SOON_DAYS, send_reminders


class Command(BaseCommand):
    help = (
        "Mark verified listings past their review date as stale, and email each organisation's maintainers "
        f"one message listing what is overdue or due within {DUE_SOON_DAYS} days. Safe to run from cron: "
        "a second run on the same day sends nothing again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = send_reminders(timezone.now())
        self.stdout.write(f"Marked stale: {summary.marked_stale}")
        self.stdout.write(f"Reminder emails sent: {summary.emails}")
        if summary.already_reminded:
            self.stdout.write(f"Already reminded today: {', '.join(summary.already_reminded)}")
        if summary.without_recipients:
            names = ", ".join(summary.without_recipients)
            self.stdout.write(self.style.WARNING(f"Due, but no maintainer with an email address: {names}"))
