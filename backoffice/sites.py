from django.contrib.admin.apps import AdminConfig
from unfold.sites import UnfoldAdminSite


class StaffSite(UnfoldAdminSite):
    """The admin site staff work in: Unfold's look, every asset served by the project itself."""

    site_header = "Loyalty back office"
    site_title = "Loyalty back office"
    index_title = "Today"
    index_template = "admin/dashboard.html"  # today's figures (backoffice/dashboard.py) above the app list


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin with the staff site as `admin.site`, so every concern's `@admin.register` lands on it."""

    default_site = "backoffice.sites.StaffSite"
