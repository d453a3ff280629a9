from django.contrib import admin

from loyalty.admin_base import ReadOnlyAdmin
from loyalty.messages.models import Message


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "to_email", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to_email", "member__public_id", "dedupe_key")
    list_select_related = ("member",)
    exclude = ("secret",)
    date_hierarchy = "created_at"
