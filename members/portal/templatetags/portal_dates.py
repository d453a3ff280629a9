"""A day as each language writes it: "2 Dec 2026" in English, "2. Dez. 2026" in German (Django's own "j M Y" gives
"2 Dez 2026", which a German reader stumbles over)."""

from django import template
from django.template.defaultfilters import date
from django.utils import translation

register = template.Library()

DAY_FORMATS = {"de": "j. N Y"}
DAY_FORMAT = "j M Y"


@register.filter
def day(value) -> str:
    """The date (of a datetime, in the current time zone) in the current language's short form."""
    return date(value, DAY_FORMATS.get(translation.get_language(), DAY_FORMAT))
