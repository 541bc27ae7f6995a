from typing import Any

from django.contrib import admin
from django.db.models import F
from simple_history.admin import SimpleHistoryAdmin

from directory.changes import bump_version
from directory.models import (
    ContactChannel,
    Coverage,
    Language,
    Location,
    Membership,
    OpeningInterval,
    Organization,
    PostcodeArea,
    Proposal,
    Schedule,
    Service,
    Topic,
)


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
