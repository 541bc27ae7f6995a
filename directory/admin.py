from django.contrib import admin

from directory.models import (
    ContactChannel,
    Coverage,
    Language,
    Location,
    OpeningInterval,
    Organization,
    PostcodeArea,
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
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "organization", "verification_state", "review_due", "status", "updated_at"]
    list_filter = ["kind", "verification_state", "status", "topics"]
    search_fields = ["name", "description", "organization__name"]
    autocomplete_fields = ["organization"]
    filter_horizontal = ["topics", "languages"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ChannelInline, CoverageInline, LocationInline, ScheduleInline]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "website", "archived_at"]
    list_filter = ["kind"]
    search_fields = ["name"]


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
