from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Help directory"

    def ready(self) -> None:
        # schema registers the partner-key scheme with drf-spectacular; local_writes watches every database
        # connection for listing writes, which the read model must not miss.
        from directory import local_writes, schema  # noqa: F401
