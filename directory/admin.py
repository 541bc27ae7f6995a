from typing import Any

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKey  # importing it registers the library's own key admin
from simple_history.admin import SimpleHistoryAdmin

from directory import usage
from directory.changes import bump_version
from directory.models import (
    ContactChannel,
    Coverage,
    Language,
    Location,
    Membership,
    OpeningInterval,
    Organization,
    PartnerKey,
    PartnerKeyUsage,
    PostcodeArea,
    Proposal,
    Schedule,
    Service,
    Topic,
)
from directory.permissions import is_moderator

# The library's own key model is not used: partner keys carry quotas (PartnerKey).
admin.site.unregister(APIKey)


class ChannelInline(admin.TabularInline):
    model = ContactChannel
    extra = 0


class CoverageInline(admin.TabularInline):
    model = Coverage
    extra = 0


class LocationInline(admin.StackedInline):
    model = Location
    extra = 0


class ScheduleInline(admin.TabularInline):
    model = Schedule
    extra = 0


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "organization", "verification_state", "review_due", "status", "updated_at"]
    list_filter = ["kind", "verification_state", "status", "topics"]
    search_fields = ["name", "description", "organization__name"]
    autocomplete_fields = ["organization"]
    filter_horizontal = ["topics", "languages"]
    readonly_fields = ["created_at", "updated_at", "version"]
    inlines = [ChannelInline, CoverageInline, LocationInline, ScheduleInline]

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # An edit here makes every ETag handed out for the old version stale.
        bump_version(form.instance)


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "website", "archived_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["version"]

    def save_model(self, request: Any, obj: Organization, form: Any, change: bool) -> None:
        if change:
            obj.version = F("version") + 1
        super().save_model(request, obj, form, change)
        obj.refresh_from_db(fields=["version"])


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["organization"]


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """Proposals are read here; they are decided through the review API, which applies the rules."""

    list_display = ["id", "action", "state", "organization", "service", "author", "created_at"]
    list_filter = ["state", "action"]
    readonly_fields = [field.name for field in Proposal._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class IntervalInline(admin.TabularInline):
    model = OpeningInterval
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["service", "channel", "timezone", "always_open"]
    inlines = [IntervalInline]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["slug", "position"]


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(PostcodeArea)
class PostcodeAreaAdmin(admin.ModelAdmin):
    list_display = ["country", "code", "place", "subdivision"]
    list_filter = ["country"]
    search_fields = ["code", "place"]


class ModeratorsOnly:
    """Partner keys and their usage are for moderators only."""

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
