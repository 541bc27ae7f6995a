from typing import Any

from django.core.management.base import BaseCommand

from sms.service import purge_expired_state


class Command(BaseCommand):
    help = "Delete expired SMS conversation state and old delivery statuses (run it hourly)."

    def handle(self, *args: Any, **options: Any) -> None:
        conversations, statuses = purge_expired_state()
        self.stdout.write(f"Deleted {conversations} expired conversation(s) and {statuses} old delivery status(es).")
