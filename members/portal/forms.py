import re
import unicodedata

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.services import EMAIL_MAX

# What no name holds: a web address (a stranger joining with someone else's email would otherwise have the welcome
# mail greet its owner with a link of the stranger's choosing).
LINK_IN_TEXT = re.compile(r"(://|www\.|\.(com|net|org|io|de|ru|xyz|info)\b)", re.IGNORECASE)


def name_validate(value: str) -> None:
    """A person's name as typed: no control or invisible formatting characters (line breaks, right-to-left
    overrides), no web address."""
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in value) or LINK_IN_TEXT.search(value):
        raise ValidationError(_("Please enter just your name."), code="invalid_name")


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=EMAIL_MAX)


class JoinForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=EMAIL_MAX)
    first_name = forms.CharField(label=_("First name"), max_length=100, validators=[name_validate])
    locale = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    marketing_consent = forms.BooleanField(
        label=_("Yes, send me offers and news by mail. I can withdraw this at any time."), required=False
    )
    ref = forms.CharField(required=False, max_length=12, widget=forms.HiddenInput)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)


class ProfileForm(forms.Form):
    """What a member may change about themselves in the portal (the email is how they sign in: not here)."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False, validators=[name_validate])
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False, validators=[name_validate])
    phone = forms.CharField(
        label=_("Phone number"), max_length=32, required=False,
        help_text=_("6 to 15 digits, may start with +; spaces and dashes are fine."),
    )  # fmt: skip
    locale = forms.ChoiceField(label=_("Language of the portal and our mails"), choices=settings.LANGUAGES)
    marketing_consent = forms.BooleanField(
        label=_("Yes, send me offers and news by mail. I can withdraw this at any time."), required=False
    )
