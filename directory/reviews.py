"""The review cycle: overdue listings become stale, and maintainers are reminded of what is due.

Run daily (``manage.py review_reminders``, e.g. from cron). Running it again the same day marks
nothing twice and sends no second email to an organisation.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from directory.audit import acting_as
from directory.models import (
    Membership,
    MembershipRole,
    Organization,
    ReviewReminder,
    Service,
    VerificationState,
)

DUE_SOON_DAYS = 30


@dataclass
class ReminderSummary:
    marked_stale: int = 0
    emails: int = 0
    already_reminded: list[str] = field(default_factory=list)
    without_recipients: list[str] = field(default_factory=list)


def mark_stale(now: datetime) -> int:
    """Mark verified listings whose review is overdue as stale (they stay public, ranked last)."""
    with transaction.atomic(), acting_as(None, "review_reminders: review overdue"):
        overdue = Service.objects.filter(verification_state=VerificationState.VERIFIED, review_due__lt=now)
        return overdue.update(verification_state=VerificationState.STALE)


def listings_due(now: datetime) -> dict[int, list[Service]]:
    """Live listings that are overdue or due within 30 days, by organisation, soonest first."""
    due = (
        Service.objects.public()
        .filter(
            verification_state__in=[VerificationState.VERIFIED, VerificationState.STALE],
            review_due__lte=now + timedelta(days=DUE_SOON_DAYS),
        )
        .order_by("review_due", "name", "id")
    )
    by_organization: dict[int, list[Service]] = defaultdict(list)
    for service in due:
        by_organization[service.organization_id].append(service)
    return by_organization


def send_reminders(now: datetime) -> ReminderSummary:
    summary = ReminderSummary(marked_stale=mark_stale(now))
    today = now.date()
    for organization_id, services in listings_due(now).items():
        organization = Organization.objects.get(pk=organization_id)
        recipients = maintainer_emails(organization)
        if not recipients:
            summary.without_recipients.append(organization.name)
            continue
        try:
            with transaction.atomic():
                ReviewReminder.objects.create(
                    organization=organization,
                    day=today,
                    recipients=len(recipients),
                    listings=[s.pk for s in services],
                )
                send_mail(
                    subject=f"{len(services)} listing(s) of {organization.name} to review",
                    message=reminder_text(organization, services, now),
                    from_email=None,
                    recipient_list=recipients,
                )
        except IntegrityError:
            summary.already_reminded.append(organization.name)
            continue
        summary.emails += 1
    return summary


def maintainer_emails(organization: Organization) -> list[str]:
    memberships = Membership.objects.filter(
        organization=organization, role=MembershipRole.MAINTAINER, user__is_active=True
    ).exclude(user__email="")
    return sorted(set(memberships.values_list("user__email", flat=True)))


def reminder_text(organization: Organization, services: list[Service], now: datetime) -> str:
    lines = [
        f"These listings of {organization.name} need your review. People are sent to them by SMS and by",
        "partner apps, so a number or opening hours that changed send someone in danger nowhere.",
        "",
    ]
    for service in services:
        assert service.review_due is not None
        overdue = service.review_due < now
        when = f"overdue since {service.review_due:%Y-%m-%d}" if overdue else f"due {service.review_due:%Y-%m-%d}"
        lines.append(f"- {service.name} ({when})")
        lines.append(f"  {admin_link(service)}")
    lines += [
        "",
        "Open each one, correct what has changed, or choose 'Still correct' if nothing has.",
        "A moderator reviews every change before the public sees it.",
    ]
    return "\n".join(lines)


def admin_link(service: Service) -> str:
    path = reverse("admin:directory_service_change", args=[service.pk])
    return f"{settings.SITE_URL.rstrip('/')}{path}"
