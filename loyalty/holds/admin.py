"""Holds in the admin, read-only."""

from django.contrib import admin

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.holds.models import Hold
from loyalty.shops.admin import ShopScopedAdmin


@admin.register(Hold)
class HoldAdmin(ShopScopedAdmin, ReadOnlyAdmin):
    list_display = ["public_id", "shop", "external_id", "member", "points", "captured_points", "status", "expires_at"]
    list_filter = ["status", "shop"]
    list_select_related = ["shop", "member"]
    search_fields = ["=public_id", "=external_id", "=member__card_number"]
    show_full_result_count = False
