"""What the SMS gateway keeps: short-lived conversation state, opt-outs, delivery statuses, daily counts.

Senders appear only as a keyed hash of their number and message bodies are never stored.
"""

from django.db import models
from django.db.models import Q


class Conversation(models.Model):
    """A texter's last search, so that MORE, a result number or a language switch can follow it."""

    sender_hash = models.CharField(max_length=64, unique=True)
    language = models.CharField(max_length=2, blank=True)
    country = models.CharField(max_length=2, blank=True)
    topic = models.CharField(max_length=50, blank=True)
    result_ids = models.JSONField(default=list, blank=True, help_text="Service ids of the last search, ranked")
    next_index = models.PositiveSmallIntegerField(default=0, help_text="First result MORE will show")
    emergency_number = models.CharField(max_length=16, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"conversation {self.sender_hash[:8]}"


class OptOut(models.Model):
    """A texter who sent STOP: they get no message until they send START."""

    sender_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"opt-out {self.sender_hash[:8]}"


class DeliveryStatus(models.Model):
    """One status callback from Twilio for an outgoing reply."""

    message_sid_hash = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=10, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "delivery statuses"

    def __str__(self) -> str:
        return f"{self.status} {self.message_sid_hash[:8]}"


class DailyStat(models.Model):
    """How many messages of one kind arrived on a day: the only trace of usage that is kept."""

    date = models.DateField()
    keyword = models.CharField(max_length=40, blank=True)
    topic = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=2, blank=True)
    country = models.CharField(max_length=2, blank=True)
    postcode_prefix = models.CharField(max_length=4, blank=True, help_text="Outward code, FSA or similar area")
    result_count = models.PositiveSmallIntegerField(default=0)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-date", "keyword"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "keyword", "topic", "language", "country", "postcode_prefix", "result_count"],
                name="sms_daily_stat_unique",
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="sms_daily_stat_count_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.keyword or '-'} x{self.count}"
