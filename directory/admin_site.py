"""The admin site for NGO staff and moderators.

Moderators can redirect every texter, so they sign in with a second factor (a TOTP code from an
authenticator app, django-otp); maintainers sign in with their password, and also with a code once
they have a device. The moderators' dashboard lives here too.
"""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django_otp import devices_for_user, user_has_device
from django_otp.forms import OTPAuthenticationFormMixin

from directory.permissions import is_moderator


class SignInForm(AdminAuthenticationForm, OTPAuthenticationFormMixin):
    """Username and password, then the one-time code: required of moderators and of anyone with a device."""

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": "Enter the one-time code from your authenticator app.",
        "invalid_token": "That one-time code is wrong or was already used; wait for the next one.",
    }

    otp_token = forms.CharField(
        required=False,
        label="One-time code",
        help_text="The 6-digit code from your authenticator app (moderators always need it).",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        self.cleaned_data = super().clean()
        user = self.get_user()
        if user is not None and (is_moderator(user) or user_has_device(user)):
            if not user_has_device(user):
                raise forms.ValidationError(
                    "Moderators sign in with a one-time code, and this account has no authenticator yet: "
                    "ask an administrator to run create_moderator for it.",
                    code="no_device",
                )
            if not self.cleaned_data.get("otp_device"):
                # One authenticator app per account: verify against it without asking which.
                device = next(devices_for_user(user, confirmed=True), None)
                self.cleaned_data["otp_device"] = device.persistent_id if device is not None else ""
            self.clean_otp(user)
        return self.cleaned_data


class DirectoryAdminSite(admin.AdminSite):
    site_header = "Helpline directory"
    site_title = "Helpline directory"
    index_title = "Listings, proposals and reviews"
    login_form = SignInForm
    login_template = "admin/directory_login.html"
    index_template = "admin/directory_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not super().has_permission(request):
            return False
        return not is_moderator(user) or bool(getattr(user, "is_verified", lambda: False)())

    def get_urls(self) -> list[URLResolver | URLPattern]:
        return [path("dashboard/", self.admin_view(self.dashboard), name="dashboard"), *super().get_urls()]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        context = {**(extra_context or {}), "moderator": is_moderator(request.user)}
        if context["moderator"]:
            context["dashboard"] = dashboard_figures()
        return super().index(request, context)

    def dashboard(self, request: HttpRequest) -> HttpResponse:
        if not is_moderator(request.user):
            return TemplateResponse(request, "admin/directory_forbidden.html", self.each_context(request), status=403)
        context = {**self.each_context(request), "title": "Moderation dashboard", "dashboard": dashboard_figures()}
        return TemplateResponse(request, "admin/directory_dashboard.html", context)


def dashboard_figures() -> dict[str, Any]:
    """What moderators watch: the queue, what is stale or due, and where listings are."""
    from directory.models import Coverage, Location, Proposal, ProposalState, Service, VerificationState

    now = timezone.now()
    live = Service.objects.public()
    month_end = now + timedelta(days=30)
    # A listing counts in each country it covers or is located in; worldwide ones under "worldwide".
    places: dict[tuple[str, str], set[int]] = {}
    for model in (Coverage, Location):
        rows = model.objects.filter(service__in=live).values_list("country", "service__kind", "service_id")
        for country, kind, service_id in rows:
            places.setdefault((country or "worldwide", kind), set()).add(service_id)
    by_country = {key: len(ids) for key, ids in places.items()}
    return {
        "pending": Proposal.objects.filter(state=ProposalState.PENDING).count(),
        "oldest_pending": Proposal.objects.filter(state=ProposalState.PENDING).order_by("created_at").first(),
        "stale": live.filter(verification_state=VerificationState.STALE).count()
        + live.filter(verification_state=VerificationState.VERIFIED, review_due__lt=now).count(),
        "due_this_month": live.filter(
            verification_state=VerificationState.VERIFIED, review_due__gte=now, review_due__lte=month_end
        ).count(),
        "by_state": dict(live.values_list("verification_state").annotate(n=Count("id")).order_by()),
        "by_country_kind": [
            {"country": country, "kind": kind, "listings": n} for (country, kind), n in sorted(by_country.items())
        ],
    }
