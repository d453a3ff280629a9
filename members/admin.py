from django import forms
from django.contrib import admin
from django.utils import timezone
from unfold.admin import ModelAdmin

from members.errors import DomainError
from members.models import Member
from members.services import (
    email_normalise,
    locale_normalise,
    member_consent_set,
    member_enroll,
    phone_normalise,
)


class MemberForm(forms.ModelForm):
    """Staff edits pass through the same normalisation as the API."""

    class Meta:
        model = Member
        fields = [
            "email",
            "first_name",
            "last_name",
            "phone",
            "birth_date",
            "locale",
            "status",
            "marketing_consent",
        ]

    def _normalised(self, name: str, normalise) -> str:
        try:
            return normalise(self.cleaned_data[name])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_email(self) -> str:
        email = self._normalised("email", email_normalise)
        taken = Member.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A member with this email already exists.")
        return email

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if self.instance.erased_at is not None and status != Member.Status.CLOSED:
            raise forms.ValidationError("An erased member stays closed.")
        return status

    def clean_phone(self) -> str:
        return self._normalised("phone", phone_normalise)

    def clean_locale(self) -> str:
        return self._normalised("locale", locale_normalise)


@admin.register(Member)
class MemberAdmin(ModelAdmin):
    form = MemberForm
    list_display = ["card_number", "email", "first_name", "last_name", "status", "locale", "enrolled_at"]
    list_filter = ["status", "locale", "marketing_consent"]
    search_fields = ["=card_number", "email", "=phone", "last_name", "=public_id", "=referral_code"]
    readonly_fields = [
        "public_id",
        "card_number",
        "referral_code",
        "referred_by",
        "enrolled_at",
        "updated_at",
        "marketing_consent_given_at",
        "marketing_consent_withdrawn_at",
        "erased_at",
        "erased_by",
    ]
    date_hierarchy = "enrolled_at"
    show_full_result_count = False  # COUNT(*) over millions of members on every page is not free

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else ["public_id", "referral_code", "enrolled_at", "updated_at"]

    def save_model(self, request, obj: Member, form, change: bool) -> None:
        if change:
            # Consent changes only through its service, which dates them: the form's save keeps the stored value.
            consent, obj.marketing_consent = obj.marketing_consent, form.initial.get("marketing_consent", False)
            super().save_model(request, obj, form, change)
            member_consent_set(member=obj, consent=consent, now=timezone.now())
            return
        enrolled = member_enroll(
            **{name: form.cleaned_data[name] for name in MemberForm.Meta.fields if name != "status"}
        )
        obj.pk, obj.public_id, obj.card_number = enrolled.pk, enrolled.public_id, enrolled.card_number
