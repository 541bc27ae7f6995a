"""The admin pages of listings, organisations and proposals, for NGO staff and moderators.

A maintainer sees and edits only their organisations' listings. Saving never changes the public
listing: the form becomes a proposal through ``directory.changes`` (the same rule and the same
validation as the write API), and a moderator reviews it with its diff here or through the API.
"""

import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from rest_framework.exceptions import ValidationError as ApiValidationError
from simple_history.admin import SimpleHistoryAdmin

from directory import changes
from directory.audit import acting_as
from directory.exception_handler import flatten
from directory.hours import Interval, format_weekly, parse_weekly
from directory.models import (
    ContactChannel,
    Coverage,
    Location,
    Organization,
    Proposal,
    ProposalAction,
    ProposalState,
    Schedule,
    Service,
)
from directory.permissions import is_moderator, may_edit, organizations_of, proposals_of, services_of
from directory.validators import is_digits
from directory.write_serializers import (
    ChannelInput,
    EvidenceInput,
    OrganizationInput,
    RejectInput,
    ServiceInput,
    listing_country,
)

TIMEZONES = [("", "—")] + [(name, name) for name in sorted(zoneinfo.available_timezones())]


def _require_in_scope(queryset: QuerySet[Any], object_id: str, message: str) -> None:
    """An admin page of a record the user may not see is a 404, as in the write API."""
    if not is_digits(object_id) or not queryset.filter(pk=int(object_id)).exists():
        raise Http404(message)


def _errors_text(detail: Any) -> str:
    """Field errors, keyed by path as the API keys them, in one line for an admin message."""
    return "; ".join(f"{path}: {' '.join(messages_)}" for path, messages_ in flatten(detail).items())


def _member(request: HttpRequest) -> bool:
    return organizations_of(request.user).exists()


def _editor(request: HttpRequest) -> bool:
    return organizations_of(request.user, editing=True).exists()


def show_hours(form: forms.BaseForm, schedule: Schedule | None) -> None:
    """Fill a form's ``hours_always_open`` and ``hours_weekly`` from the schedule it edits, if any."""
    if schedule is not None:
        form.fields["hours_always_open"].initial = schedule.always_open
        intervals = [Interval(i.weekday, i.opens, i.closes) for i in schedule.intervals.all()]
        form.fields["hours_weekly"].initial = format_weekly(intervals)


def read_hours(form: forms.BaseForm) -> list[Interval]:
    """A form's ``hours_weekly`` as intervals (``Mon-Fri 09:00-17:00; …``), or the reason it cannot be read."""
    try:
        return parse_weekly(form.cleaned_data.get("hours_weekly") or "")
    except ValueError as error:
        raise forms.ValidationError(str(error)) from error


class ChannelForm(forms.ModelForm):
    """A contact line, read as the write API reads it: phones to E.164 or a short code's digits.

    Its own hours (when the line keeps other hours than the listing, e.g. a chat open evenings only) are
    written like the listing's, and are in the time zone the line's hours already have, else the listing's.
    """

    hours_always_open = forms.BooleanField(required=False, label="24/7")
    hours_weekly = forms.CharField(
        required=False,
        label="Hours of this line",
        widget=forms.TextInput(attrs={"size": 28, "placeholder": "e.g. Mon-Fri 18:00-23:00"}),
        help_text="Only when this line keeps other hours than the listing",
    )

    class Meta:
        model = ContactChannel
        fields = ["kind", "value", "display", "extension", "sms_keyword", "label", "is_primary"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule = Schedule.objects.filter(channel=self.instance).first() if self.instance.pk else None
        show_hours(self, self.schedule)

    def clean_hours_weekly(self) -> list[Interval]:
        return read_hours(self)

    def hours(self, listing_timezone: str) -> dict[str, Any] | None:
        """This line's own hours in the write representation, or None when it keeps the listing's."""
        data = self.cleaned_data
        if not (data.get("hours_always_open") or data.get("hours_weekly")):
            return None
        return _hours_data(
            self.schedule.timezone if self.schedule else listing_timezone,
            bool(data.get("hours_always_open")),
            data.get("hours_weekly") or [],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("hours_always_open") and data.get("hours_weekly"):
            self.add_error("hours_weekly", "A line open 24/7 has no opening hours to list.")
        if not data.get("kind") or not data.get("value"):
            return data
        service = self.instance.service if self.instance.service_id else None
        country = listing_country(changes.snapshot(service)) if service is not None else ""
        fields = {k: v for k, v in data.items() if k in ChannelInput().fields and v is not None}
        checked = ChannelInput(data=fields, context={"country": country})
        if not checked.is_valid():
            for field, errors in flatten(checked.errors).items():
                self.add_error(field if field in self.fields else None, errors)
            return data
        data["value"], data["display"] = checked.validated_data["value"], checked.validated_data["display"]
        return data


class ProposingInline(admin.TabularInline):
    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_moderator(request.user) or _editor(request)
        return may_edit(request.user, obj.organization_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)


class ChannelInline(ProposingInline):
    model = ContactChannel
    form = ChannelForm
    fields = [
        "kind",
        "value",
        "display",
        "extension",
        "sms_keyword",
        "label",
        "is_primary",
        "hours_weekly",
        "hours_always_open",
    ]


class CoverageInline(ProposingInline):
    model = Coverage
    fields = ["scope", "country", "subdivision", "latitude", "longitude", "radius_km"]
    verbose_name = "area served"
    verbose_name_plural = "areas served"


class LocationInline(ProposingInline):
    model = Location
    fields = ["name", "address", "city", "postcode", "country", "subdivision", "latitude", "longitude", "precision"]


class ServiceForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    hours_timezone = forms.ChoiceField(choices=TIMEZONES, required=False, label="Time zone of the hours")
    hours_always_open = forms.BooleanField(required=False, label="Open 24/7")
    hours_weekly = forms.CharField(
        required=False,
        label="Opening hours",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="e.g. Mon-Fri 09:00-17:00; Sat 10:00-14:00 (closing before opening runs past midnight)",
    )

    class Meta:
        model = Service
        # What a proposal of the listing holds (the fieldsets below order them on the page).
        fields = ["organization", *changes.SERVICE_SCALARS, "topics", "languages"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.instance
        if service.pk:
            self.fields["version"].initial = service.version
            own = Schedule.objects.filter(service=service, channel__isnull=True).first()
            if own is not None:
                self.fields["hours_timezone"].initial = own.timezone
            show_hours(self, own)

    def clean_hours_weekly(self) -> list[Interval]:
        return read_hours(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_hours = data.get("hours_always_open") or data.get("hours_weekly")
        if has_hours and not data.get("hours_timezone"):
            self.add_error("hours_timezone", "Say which time zone the hours are in.")
        if data.get("hours_always_open") and data.get("hours_weekly"):
            self.add_error("hours_weekly", "A line open 24/7 has no opening hours to list.")
        return data

    def hours(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not (data.get("hours_always_open") or data.get("hours_weekly")):
            return None
        return _hours_data(data["hours_timezone"], bool(data.get("hours_always_open")), data.get("hours_weekly") or [])


def _hours_data(timezone: str, always_open: bool, intervals: list[Interval]) -> dict[str, Any]:
    return {
        "timezone": timezone,
        "always_open": always_open,
        "intervals": [
            {"weekday": i.weekday, "opens": f"{i.opens:%H:%M}", "closes": f"{i.closes:%H:%M}"} for i in intervals
        ],
    }


def _rows(formset: Any, fields: list[str]) -> list[dict[str, Any]]:
    return [
        {field: form.cleaned_data.get(field) for field in fields}
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


def proposed_service(form: ServiceForm, formsets: list[Any], base: dict[str, Any]) -> dict[str, Any]:
    """The write representation a saved admin form proposes."""
    data = dict(base)
    data.update({field: form.cleaned_data[field] for field in changes.SERVICE_SCALARS if field in form.cleaned_data})
    if form.cleaned_data.get("organization"):
        data["organization"] = form.cleaned_data["organization"].pk
    data["topics"] = sorted(topic.slug for topic in form.cleaned_data.get("topics", []))
    data["languages"] = sorted(language.code for language in form.cleaned_data.get("languages", []))
    data["hours"] = form.hours()
    for formset in formsets:
        if formset.model is ContactChannel:
            rows = []
            for channel_form in formset.forms:
                if not channel_form.cleaned_data or channel_form.cleaned_data.get("DELETE"):
                    continue
                row = {field: channel_form.cleaned_data.get(field) for field in changes.CHANNEL_FIELDS}
                rows.append({**row, "hours": channel_form.hours(form.cleaned_data.get("hours_timezone") or "")})
            data["channels"] = rows
        elif formset.model is Coverage:
            data["coverage"] = _rows(formset, list(changes.COVERAGE_FIELDS))
        elif formset.model is Location:
            data["locations"] = _rows(formset, list(changes.LOCATION_FIELDS))
    return data


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    form = ServiceForm
    list_display = ["name", "kind", "organization", "verification_state", "review_due", "status", "pending"]
    list_filter = ["kind", "verification_state", "status", "topics"]
    search_fields = ["name", "organization__name"]
    filter_horizontal = ["topics", "languages"]
    inlines = [ChannelInline, CoverageInline, LocationInline]
    actions = ["still_correct", "propose_archive"]
    readonly_fields = ["review_state"]
    fieldsets = [
        (None, {"fields": ["review_state", "organization", "kind", "name", "status", "topics", "languages"]}),
        ("When it is open", {"fields": ["hours_timezone", "hours_always_open", "hours_weekly", "hours_note"]}),
        ("Who it is for", {"fields": ["min_age", "max_age", "is_free", "is_anonymous", "is_confidential"]}),
        ("Descriptions", {"fields": ["description", "translations"]}),
        ("Review", {"fields": ["review_interval_days", "version"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return services_of(request.user).select_related("organization")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(self.readonly_fields)
        if obj is not None:
            readonly.append("organization")
        if not is_moderator(request.user):
            readonly.append("review_interval_days")
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = organizations_of(request.user, editing=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user) or _editor(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_moderator(request.user) or _editor(request)
        return may_edit(request.user, obj.organization_id)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # listings are archived (a proposal), never deleted

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        _require_in_scope(self.get_queryset(request), object_id, "No such listing among the ones you maintain.")
        return super().change_view(request, object_id, *args, **kwargs)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        _require_in_scope(self.get_queryset(request), object_id, "No such listing among the ones you maintain.")
        return super().history_view(request, object_id, extra_context)

    @admin.display(description="Review")
    def review_state(self, service: Service) -> str:
        if not service.pk:
            return "New listings are reviewed by a moderator before anyone sees them."
        pending = service.proposals.filter(state=ProposalState.PENDING).first()
        state = (
            f"{service.get_verification_state_display()}; review due {service.review_due:%Y-%m-%d}"
            if (service.review_due)
            else service.get_verification_state_display()
        )
        if pending is None:
            return state
        link = reverse("admin:directory_proposal_change", args=[pending.pk])
        return format_html('{}. <a href="{}">A change is waiting for review</a> ({}).', state, link, pending.author)

    @admin.display(boolean=True, description="Change pending")
    def pending(self, service: Service) -> bool:
        return service.proposals.filter(state=ProposalState.PENDING).exists()

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        """Nothing is saved here: the whole form becomes a proposal in ``save_related``."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        service = form.instance if change else None
        base = changes.current_draft(service) if service is not None else {}
        data = proposed_service(form, formsets, base)
        serializer = ServiceInput(
            data=data,
            context={
                "base": base,
                "moderator": is_moderator(request.user),
                "organization_id": service.organization_id if service else None,
            },
        )
        try:
            serializer.is_valid(raise_exception=True)
            if service is None:
                organization = Organization.objects.get(pk=serializer.validated_data["organization"])
                if not may_edit(request.user, organization.pk):
                    raise ApiValidationError({"organization": ["You do not maintain this organisation."]})
                proposal = changes.propose_new_service(request.user, organization, serializer.validated_data)
            else:
                version = form.cleaned_data.get("version") or service.version
                proposal = changes.propose_service_change(request.user, service, serializer.validated_data, version)
        except ApiValidationError as error:
            request._proposal_error = _errors_text(error.detail)  # type: ignore[attr-defined]
            return
        except changes.StaleVersion as error:
            request._proposal_error = str(error)  # type: ignore[attr-defined]
            return
        request._proposal = proposal  # type: ignore[attr-defined]

    def construct_change_message(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []  # nothing was saved: the proposal holds the change

    def log_addition(self, *args: Any, **kwargs: Any) -> None:
        """The proposal and the history record every change."""

    def log_change(self, *args: Any, **kwargs: Any) -> None:
        """The proposal and the history record every change."""

    def response_add(self, request: HttpRequest, obj: Service, post_url_continue: Any = None) -> HttpResponse:
        return self._after_proposal(request, reverse("admin:directory_service_add"))

    def response_change(self, request: HttpRequest, obj: Service) -> HttpResponse:
        return self._after_proposal(request, reverse("admin:directory_service_change", args=[obj.pk]))

    def _after_proposal(self, request: HttpRequest, retry_url: str) -> HttpResponse:
        error = getattr(request, "_proposal_error", None)
        if error:
            messages.error(request, f"Nothing was saved: {error}")
            return HttpResponseRedirect(retry_url)
        proposal = request._proposal  # type: ignore[attr-defined]
        messages.success(
            request,
            "Your change is waiting for a moderator. Until it is approved, the public keeps seeing the listing "
            "as it was.",
        )
        return HttpResponseRedirect(reverse("admin:directory_proposal_change", args=[proposal.pk]))

    @admin.action(description="Still correct: ask a moderator to confirm the selected listings")
    def still_correct(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        self._propose_each(request, queryset, changes.propose_confirmation, "confirmation")

    @admin.action(description="Archive: ask a moderator to take the selected listings out of public answers")
    def propose_archive(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        def archive(user: Any, service: Service, version: int) -> Proposal:
            return changes.propose_service_change(user, service, {}, version, ProposalAction.ARCHIVE)

        self._propose_each(request, queryset, archive, "archive proposal")

    def _propose_each(self, request: HttpRequest, queryset: QuerySet[Service], propose: Any, what: str) -> None:
        done = 0
        for service in queryset:
            if may_edit(request.user, service.organization_id):
                propose(request.user, service, service.version)
                done += 1
        messages.success(request, f"{done} {what}(s) sent for review.")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class OrganizationForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    website = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Organization
        fields = ["name", "kind", "description", "website", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    form = OrganizationForm
    list_display = ["name", "kind", "website", "archived_at"]
    list_filter = ["kind"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return organizations_of(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or (_editor(request) if obj is None else may_edit(request.user, obj.pk))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        _require_in_scope(self.get_queryset(request), object_id, "No such organisation among the ones you maintain.")
        return super().change_view(request, object_id, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        data = {field: form.cleaned_data.get(field) for field in changes.ORGANIZATION_FIELDS}
        checked = OrganizationInput(data=data, context={"organization_id": obj.pk})
        if not checked.is_valid():
            request._proposal_error = _errors_text(checked.errors)  # type: ignore[attr-defined]
            return
        if not change:
            with acting_as(request.user, "created the organisation"):
                obj.save()
            return
        version = form.cleaned_data.get("version") or obj.version
        original = Organization.objects.get(pk=obj.pk)
        try:
            proposal = changes.propose_organization_change(request.user, original, checked.validated_data, version)
        except changes.StaleVersion as error:
            request._proposal_error = str(error)  # type: ignore[attr-defined]
            return
        request._proposal = proposal  # type: ignore[attr-defined]

    def response_change(self, request: HttpRequest, obj: Organization) -> HttpResponse:
        error = getattr(request, "_proposal_error", None)
        if error:
            messages.error(request, f"Nothing was saved: {error}")
            return HttpResponseRedirect(reverse("admin:directory_organization_change", args=[obj.pk]))
        messages.success(request, "Your change is waiting for a moderator.")
        return HttpResponseRedirect(reverse("admin:directory_proposal_change", args=[request._proposal.pk]))  # type: ignore[attr-defined]

    def log_change(self, *args: Any, **kwargs: Any) -> None:
        """The proposal and the history record every change."""


class EvidenceForm(forms.Form):
    evidence_url = forms.URLField(required=False, label="Evidence (a URL)", assume_scheme="https")
    evidence_note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="or a note (who you called, what you read)"
    )


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why (the maintainer will read this)")


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    """The review queue: oldest first, each with its diff; moderators approve with evidence or reject."""

    list_display = ["id", "action", "state", "listing", "author", "created_at", "conflict"]
    list_filter = ["state", "action"]
    ordering = ["created_at", "id"]
    fields = ["summary", "diff_table", "decision", "reason", "evidence_url", "evidence_note"]
    readonly_fields = ["summary", "diff_table", "decision", "reason", "evidence_url", "evidence_note"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Proposal]:
        return proposals_of(request.user).select_related("service", "organization", "author", "decided_by")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_moderator(request.user) or _member(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if "state__exact" not in request.GET and not request.GET.get("_changelist_filters") and not request.GET:
            return HttpResponseRedirect(f"{request.path}?state__exact=pending")
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        _require_in_scope(self.get_queryset(request), object_id, "No such proposal among the ones you can see.")
        return super().change_view(request, object_id, *args, **kwargs)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:pk>/approve/", self.admin_site.admin_view(self.approve_view), name="directory_proposal_approve"),
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name="directory_proposal_reject"),
            *super().get_urls(),
        ]

    @admin.display(description="Listing")
    def listing(self, proposal: Proposal) -> str:
        if proposal.service_id:
            return str(proposal.service)
        if proposal.action == ProposalAction.CREATE:
            return f"New: {proposal.data.get('name', '')}"
        return str(proposal.organization)

    @admin.display(boolean=True, description="Changed since")
    def conflict(self, proposal: Proposal) -> bool:
        return changes.in_conflict(proposal)

    @admin.display(description="Proposal")
    def summary(self, proposal: Proposal) -> str:
        text = f"{proposal.get_action_display()} of {self.listing(proposal)}, by {proposal.author} on "
        text += f"{proposal.created_at:%Y-%m-%d %H:%M} UTC: {proposal.get_state_display()}"
        if proposal.decided_by:
            text += f" by {proposal.decided_by}"
        return text

    @admin.display(description="What changes")
    def diff_table(self, proposal: Proposal) -> str:
        if not proposal.diff:
            return "No change: the maintainer confirms the listing is still correct."
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td class="diff-before">{}</td><td class="diff-after">{}</td></tr>',
            ((field, _show(change["before"]), _show(change["after"])) for field, change in proposal.diff.items()),
        )
        return format_html(
            '<table class="proposal-diff"><thead><tr><th>Field</th><th>Now</th><th>Proposed</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Decision")
    def decision(self, proposal: Proposal) -> str:
        if proposal.state != ProposalState.PENDING:
            return proposal.get_state_display()
        if changes.in_conflict(proposal):
            return "The listing changed after this was proposed: it cannot be approved. Its author must propose again."
        return format_html(
            '<a class="button" href="{}">Approve…</a> <a class="button" href="{}">Reject…</a>',
            reverse("admin:directory_proposal_approve", args=[proposal.pk]),
            reverse("admin:directory_proposal_reject", args=[proposal.pk]),
        )

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide(request, pk, EvidenceForm, "Approve")

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide(request, pk, RejectForm, "Reject")

    def _decide(self, request: HttpRequest, pk: int, form_class: Any, verb: str) -> HttpResponse:
        proposal = self.get_queryset(request).filter(pk=pk).first()
        if proposal is None:
            raise Http404("No such proposal.")
        form = form_class(request.POST or None)
        error = ""
        if request.method == "POST" and form.is_valid():
            try:
                if verb == "Approve":
                    evidence = EvidenceInput(data=form.cleaned_data)
                    if not evidence.is_valid():
                        raise changes.ChangeError(" ".join(flatten(evidence.errors).get("evidence_url", [])))
                    changes.approve(request.user, proposal, **evidence.validated_data)
                else:
                    body = RejectInput(data=form.cleaned_data)
                    if not body.is_valid():
                        raise changes.ChangeError("Say why, for the maintainer.")
                    changes.reject(request.user, proposal, body.validated_data["reason"])
            except changes.ChangeError as refused:
                error = str(refused)
            else:
                messages.success(request, f"Proposal #{proposal.pk}: {verb.lower()}d.")
                return HttpResponseRedirect(reverse("admin:directory_proposal_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} proposal #{proposal.pk}",
            "proposal": proposal,
            "diff": self.diff_table(proposal),
            "form": form,
            "error": error,
            "verb": verb,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/directory_decide.html", context)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_show(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in ("", None, False, [], {})) or "—"
    return "—" if value in ("", None) else str(value)
