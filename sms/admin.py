"""Read-only views of what the gateway keeps that is worth looking at: daily counts and delivery statuses."""

from django.contrib import admin
from django.http import HttpRequest

from sms.models import DailyStat, DeliveryStatus


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the gateway: staff may look, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DailyStat)
class DailyStatAdmin(ReadOnlyAdmin):
    list_display = ["date", "keyword", "topic", "language", "country", "postcode_prefix", "result_count", "count"]
    list_filter = ["date", "country", "language", "topic"]
    date_hierarchy = "date"


@admin.register(DeliveryStatus)
class DeliveryStatusAdmin(ReadOnlyAdmin):
    list_display = ["recorded_at", "status", "error_code"]
    list_filter = ["status", "error_code"]
    date_hierarchy = "recorded_at"
