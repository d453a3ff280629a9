"""Figures as staff read them: points with thousands separators."""

from django import template

register = template.Library()


@register.filter
def intcomma(value) -> str:
    """12345 -> '12,345'; anything not a number is shown as it is."""
    try:
        return f"{int(value):,d}"
    except (TypeError, ValueError):
        return value
