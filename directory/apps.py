from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Help directory"

    def ready(self) -> None:
        # Registers the partner-key scheme with drf-spectacular.
        from directory import schema  # noqa: F401
