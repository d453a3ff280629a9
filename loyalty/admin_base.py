"""What every concern's admin builds on: the read-only screen of rows that change only through services."""

from unfold.admin import ModelAdmin


class ReadOnlyAdmin(ModelAdmin):
    """Rows written only by services (the ledger, purchases, jobs' outcomes, the audit log): the admin shows
    them and offers no add, change or delete."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
