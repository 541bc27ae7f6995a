"""Creating maintainers and moderators from the command line: the password never on it."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from directory.models import Membership
from directory.permissions import is_moderator
from tests import builders

pytestmark = pytest.mark.django_db


def test_create_maintainer_takes_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    org = builders.organization("Org A")
    monkeypatch.setenv("DIRECTORY_PASSWORD", "correct horse battery staple")
    call_command("create_maintainer", "alice", "Org A", "--no-input", verbosity=0)
    membership = Membership.objects.get()
    assert (membership.user.username, membership.organization, membership.role) == ("alice", org, "maintainer")
    assert membership.user.check_password("correct horse battery staple")


def test_create_maintainer_without_a_password_leaves_it_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    builders.organization("Org A")
    monkeypatch.delenv("DIRECTORY_PASSWORD", raising=False)
    call_command("create_maintainer", "alice", "Org A", "--role", "viewer", "--no-input", verbosity=0)
    user = get_user_model().objects.get(username="alice")
    assert not user.has_usable_password()
    assert Membership.objects.get().role == "viewer"


def test_a_password_cannot_be_given_as_an_argument() -> None:
    builders.organization("Org A")
    with pytest.raises(CommandError):
        call_command("create_maintainer", "alice", "Org A", "--password", "secret", "--no-input")


def test_a_weak_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTORY_PASSWORD", "123")
    with pytest.raises(CommandError, match="too short"):
        call_command("create_moderator", "mona", "--no-input")


def test_create_moderator_puts_the_user_in_the_moderators_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIRECTORY_PASSWORD", "correct horse battery staple")
    call_command("create_moderator", "mona", "--no-input", verbosity=0)
    assert is_moderator(get_user_model().objects.get(username="mona"))


def test_an_unknown_organisation_is_an_error() -> None:
    with pytest.raises(CommandError, match="No organisation"):
        call_command("create_maintainer", "alice", "Nobody", "--no-input")
