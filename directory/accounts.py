"""Creating maintainer and moderator accounts (used by the management commands)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory.audit import acting_as
from directory.models import Membership, MembershipRole, Organization
from directory.permissions import MODERATORS_GROUP


def ensure_user(username: str, email: str, password: str | None) -> tuple[Any, bool]:
    """Create the user, or find the existing one; a given password is checked by the validators and set."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    if password is not None:
        validate_password(password, user)
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    if email:
        user.email = email
    user.save()
    return user, created


def make_maintainer(user: Any, organization: Organization, role: str = MembershipRole.MAINTAINER) -> Membership:
    with transaction.atomic(), acting_as(None, "create_maintainer command"):
        membership, _ = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
    # Maintainers use the admin (scoped to their organisations) and the SMS simulator.
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


def make_moderator(user: Any) -> None:
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    user.groups.add(group)
    # Moderators use the admin (with a second factor) as well as the API.
    user.is_staff = True
    user.save(update_fields=["is_staff"])


def new_authenticator(user: Any) -> TOTPDevice:
    """Replace the user's authenticator (TOTP) with a new one; its config URL goes into the app."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        return TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)


def second_factor_ok(user: Any, code: str) -> bool:
    """Check a one-time code against the user's authenticator (each code is accepted once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return bool(code) and device is not None and device.verify_token(code)
