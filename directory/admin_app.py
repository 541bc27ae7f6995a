from django.contrib.admin.apps import AdminConfig


class DirectoryAdminConfig(AdminConfig):
    """The admin, as the directory's own site: second factor for moderators, their dashboard."""

    default_site = "directory.admin_site.DirectoryAdminSite"
