from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKey  # importing it registers the library's own key admin
from simple_history.admin import SimpleHistoryAdmin

from directory import (
    listing_admin,  # noqa: F401 - registers the listing, organisation and proposal pages
    usage,
)
from directory.models import (
    Language,
    Membership,
    PartnerKey,
    PartnerKeyUsage,
    PostcodeArea,
    Topic,
)
from directory.permissions import is_moderator

# The library's own key model is not used: partner keys carry quotas (PartnerKey).
admin.site.unregister(APIKey)


class ModeratorsOnly:
    """Reference data, memberships, partner keys and their usage are for moderators only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_moderator(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user)


@admin.register(Topic)
class TopicAdmin(ModeratorsOnly, admin.ModelAdmin):
    list_display = ["slug", "position"]


@admin.register(Language)
class LanguageAdmin(ModeratorsOnly, admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(PostcodeArea)
class PostcodeAreaAdmin(ModeratorsOnly, admin.ModelAdmin):
    list_display = ["country", "code", "place", "subdivision"]
    list_filter = ["country"]
    search_fields = ["code", "place"]


@admin.register(Membership)
class MembershipAdmin(ModeratorsOnly, SimpleHistoryAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["organization"]


@admin.register(PartnerKey)
class PartnerKeyAdmin(ModeratorsOnly, admin.ModelAdmin):
    """Issue (the key is shown once, then only its hash is kept), set quotas, revoke."""

    list_display = ["prefix", "name", "contact", "per_minute", "per_day", "created", "expiry_date", "revoked"]
    list_filter = ["revoked", "created"]
    search_fields = ["name", "prefix", "contact"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A revoked key stays revoked (the model refuses the change); its name and dates are history.
        return ["prefix", "name", "revoked", "expiry_date"] if obj is not None and obj.revoked else ["prefix"]

    def save_model(self, request: HttpRequest, obj: PartnerKey, form: Any, change: bool) -> None:
        if change:
            obj.save()
            return
        key = PartnerKey.objects.assign_key(obj)
        obj.save()
        self.message_user(
            request,
            f"The API key for {obj.name} is {key} — store it safely now: it is not kept and cannot be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected keys (cannot be undone)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[PartnerKey]) -> None:
        count = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, f"Revoked {count} key(s); they are refused from now on.")


@admin.register(PartnerKeyUsage)
class PartnerKeyUsageAdmin(ModeratorsOnly, admin.ModelAdmin):
    """Calls, 4xx and 429 answers per key and UTC day; today's row is brought up to date when shown."""

    list_display = ["day", "key", "calls", "client_errors", "throttled"]
    list_filter = ["day", "key"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if is_moderator(request.user):
            usage.copy_counters()
        return super().changelist_view(request, extra_context)
