"""Staff users, their roles (groups) and shops, and the audit log, in the back office.

Users and groups are managed by superusers only; the audit log is read by program managers and superusers."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.utils.html import format_html
from unfold.admin import ModelAdmin, StackedInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from backoffice import (
    member_admin,  # noqa: F401  (registers Member: search, the 360 page, adjustments)
    schedules,  # noqa: F401 (registers django-celery-beat's screens in unfold's look)
)
from backoffice.models import AuditLogEntry
from loyalty.admin_base import ReadOnlyAdmin
from loyalty.shops.admin import SuperuserOnlyAdmin
from loyalty.shops.models import ShopStaff

admin.site.unregister(User)
admin.site.unregister(Group)


class ShopStaffInline(StackedInline):
    """A user linked to a shop sees only that shop's rows (loyalty.shops.admin.ShopScopedAdmin)."""

    model = ShopStaff
    fields = ["shop"]
    extra = 0
    max_num = 1
    verbose_name = "shop"
    verbose_name_plural = "shop (give the Shop staff role too; leave empty for staff of the whole program)"


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    inlines = [ShopStaffInline]
    list_display = ["username", "email", "roles", "shop", "is_staff", "is_superuser", "is_active", "last_login"]
    list_select_related = ["shop_staff__shop"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all()) or "–"

    @admin.display(description="shop")
    def shop(self, user: User) -> str:
        staff = getattr(user, "shop_staff", None)
        return staff.shop.code if staff else "–"

    def get_inlines(self, request, obj):
        return self.inlines if obj else []  # the link is made once the user exists


@admin.register(Group)
class GroupAdmin(SuperuserOnlyAdmin, BaseGroupAdmin, ModelAdmin):
    pass


@admin.register(AuditLogEntry)
class AuditLogAdmin(ReadOnlyAdmin):
    """Every save and custom action staff made in the admin: who, when, what, which fields. Read-only."""

    list_display = ["action_time", "user", "action", "content_type", "object_link", "change"]
    list_filter = ["user", "content_type", "action_flag"]
    list_select_related = ["user", "content_type"]
    search_fields = ["object_repr"]
    date_hierarchy = "action_time"
    show_full_result_count = False

    @admin.display(description="action", ordering="action_flag")
    def action(self, entry: AuditLogEntry) -> str:
        return entry.get_action_flag_display()

    @admin.display(description="object", ordering="object_repr")
    def object_link(self, entry: AuditLogEntry) -> str:
        url = entry.get_admin_url()
        return format_html('<a href="{}">{}</a>', url, entry.object_repr) if url else entry.object_repr

    @admin.display(description="change")
    def change(self, entry: AuditLogEntry) -> str:
        return entry.get_change_message()
