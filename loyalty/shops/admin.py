"""Shops and their API keys in the admin: a key is shown once, when it is created, and revoked with one action."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create, api_key_revoke


def staff_shop_id(request) -> int | None:
    """The shop a non-superuser member of staff works for, or None (they see every shop's rows)."""
    user = request.user
    if user.is_superuser:
        return None
    try:
        return user.shop_staff.shop_id  # cached on request.user after the first look
    except (ObjectDoesNotExist, AttributeError):
        return None


class ShopScopedAdmin:
    """Mix in before ModelAdmin: a shop's staff sees only its own shop's rows, in lists and by URL.

    Set `shop_field` to the path from the model to its Shop (`"shop"`, `"transaction__shop"`, `"pk"` for Shop
    itself), or a tuple of paths of which any may match; or `member_field` to the path to a Member (`"pk"` for
    Member itself, `"member"`): then the rows are those of members with a transaction at the shop. Another
    shop's object opened by URL answers 404 (for everyone: Django's default is a redirect to the index)."""

    shop_field: str | tuple[str, ...] | None = "shop"
    member_field: str | None = None

    def get_queryset(self, request) -> QuerySet:
        queryset = super().get_queryset(request)
        shop_id = staff_shop_id(request)
        return queryset if shop_id is None else self.shop_scope(queryset, shop_id)

    def shop_scope(self, queryset: QuerySet, shop_id: int) -> QuerySet:
        if self.member_field is not None:
            # The shops concern sits below earning: reach Transaction through Shop's reverse relation.
            transaction_model = Shop._meta.get_field("transactions").related_model
            shopped = transaction_model.objects.filter(shop_id=shop_id, member_id=OuterRef(self.member_field))
            return queryset.filter(Exists(shopped))
        paths = (self.shop_field,) if isinstance(self.shop_field, str) else self.shop_field
        match = Q(pk__in=[])
        for path in paths:
            match |= Q(**{path: shop_id})
        return queryset.filter(match)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if staff_shop_id(request) is None:
            return filters
        # A shop's staff would only see other shops' names there.
        paths = (self.shop_field,) if isinstance(self.shop_field, str) else (self.shop_field or ())
        return [name for name in filters if name not in paths]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with that id here.")
        return obj


class ShopCustomerScopedAdmin(ShopScopedAdmin):
    """For the Member admin: a shop's staff sees the members who have a transaction at its shop."""

    shop_field = None
    member_field = "pk"


class SuperuserOnlyAdmin:
    """Mix in before ModelAdmin: only superusers see or touch these (API keys, users, groups, shop staff)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_active and request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(Shop)
class ShopAdmin(ShopScopedAdmin, ModelAdmin):
    shop_field = "pk"
    list_display = ["code", "name", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ApiKey.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked means every scope but points:adjust, which is given only when ticked.",
    )

    class Meta:
        model = ApiKey
        fields = ["shop", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(SuperuserOnlyAdmin, ModelAdmin):
    """Creating a key shows it once; afterwards only its prefix is known. Revoking is one action."""

    list_display = ["prefix", "shop", "name", "scope_list", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["shop", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "shop__code"]
    readonly_fields = ["prefix", "shop", "scopes", "created_at", "last_used_at", "revoked_at"]
    fields = ["prefix", "shop", "name", "scopes", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["shop", "name", "scopes"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw_key = api_key_create(
            shop=form.cleaned_data["shop"], scopes=form.cleaned_data["scopes"], name=form.cleaned_data["name"]
        )
        obj.pk = key.pk
        self.message_user(
            request,
            format_html("API key created. Copy it now, it is not shown again: <code>{}</code>", raw_key),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset) -> None:
        now = timezone.now()
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, now=now)
            self.log_change(request, key, "Revoked.")
        # Each process trusts a key it verified for API_KEY_CACHE_SECONDS: staff must know revoking is not instant.
        self.message_user(
            request,
            f"Revoked. Requests with those keys get 401 within {settings.API_KEY_CACHE_SECONDS:g} seconds: each server "
            "process may keep trusting a key it has already checked for that long (API_KEY_CACHE_SECONDS).",
            messages.SUCCESS,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
