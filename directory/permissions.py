"""Who may do what: one function per rule, used by the API, the admin and the commands."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from directory.models import MembershipRole, Organization, Proposal, Service

MODERATORS_GROUP = "moderators"


def is_moderator(user: Any) -> bool:
    """Moderators are the users of the ``moderators`` group (and superusers); they act on every organisation."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user.groups.filter(name=MODERATORS_GROUP).exists())


def organizations_of(user: Any, *, editing: bool = False) -> QuerySet[Organization]:
    """The organisations whose listings ``user`` may read through the write paths (or edit, with ``editing``)."""
    if is_moderator(user):
        return Organization.objects.all()
    if user is None or not user.is_authenticated:
        return Organization.objects.none()
    memberships = user.memberships.all()
    if editing:
        memberships = memberships.filter(role=MembershipRole.MAINTAINER)
    return Organization.objects.filter(pk__in=memberships.values("organization"))


def services_of(user: Any, *, editing: bool = False) -> QuerySet[Service]:
    """Listings (archived ones included) of the organisations ``user`` may read or edit."""
    return Service.objects.filter(organization__in=organizations_of(user, editing=editing))


def proposals_of(user: Any) -> QuerySet[Proposal]:
    return Proposal.objects.filter(organization__in=organizations_of(user))


def may_edit(user: Any, organization_id: int) -> bool:
    return organizations_of(user, editing=True).filter(pk=organization_id).exists()


class IsModerator(BasePermission):
    message = "Only moderators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_moderator(request.user)
