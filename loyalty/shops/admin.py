"""Shops and their API keys in the admin: a key is shown once, when it is created, and revoked with one action."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from unfold.admin import ModelAdmin

from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_create, api_key_revoke


@admin.register(Shop)
class ShopAdmin(ModelAdmin):
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
class ApiKeyAdmin(ModelAdmin):
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
        # Each process trusts a key it verified for API_KEY_CACHE_SECONDS: staff must know revoking is not instant.
        self.message_user(
            request,
            f"Revoked. Requests with those keys get 401 within {settings.API_KEY_CACHE_SECONDS:g} seconds: each server "
            "process may keep trusting a key it has already checked for that long (API_KEY_CACHE_SECONDS).",
            messages.SUCCESS,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
