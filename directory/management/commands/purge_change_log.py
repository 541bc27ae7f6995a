from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from directory.readmodel import purge_change_log


class Command(BaseCommand):
    help = "Delete change-log entries older than DIRECTORY_CHANGE_DAYS, keeping the newest (run it daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = purge_change_log()
        self.stdout.write(
            f"Deleted {deleted} change-log entr{'y' if deleted == 1 else 'ies'} "
            f"older than {settings.DIRECTORY_CHANGE_DAYS} day(s)."
        )
