from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from members.services import EMAIL_MAX


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=EMAIL_MAX)


class JoinForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=EMAIL_MAX)
    first_name = forms.CharField(label=_("First name"), max_length=100)
    locale = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    marketing_consent = forms.BooleanField(
        label=_("Yes, send me offers and news by mail. I can withdraw this at any time."), required=False
    )
    ref = forms.CharField(required=False, max_length=12, widget=forms.HiddenInput)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)
