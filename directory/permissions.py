from typing import Any


def is_moderator(user: Any) -> bool:
    """Moderators are superusers and members of the ``moderators`` group; they act on every listing."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or user.groups.filter(name="moderators").exists())
