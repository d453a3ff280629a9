"""Filters of the overview, history, rewards and vouchers pages: money as people read it, and QR codes drawn
on the server."""

import functools
from decimal import Decimal

import segno
from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from loyalty.money import CURRENCY_MINOR_UNITS

register = template.Library()


@register.filter
def money(amount: Decimal | int | None, currency: str) -> str:
    """`12.5, "EUR"` → "12.50 EUR" (1.234,50 EUR in German): the currency's minor units, localised."""
    if amount is None:
        return ""
    digits = CURRENCY_MINOR_UNITS.get(currency, 2)
    number = formats.number_format(Decimal(amount), decimal_pos=digits, use_l10n=True, force_grouping=True)
    return f"{number}\N{NO-BREAK SPACE}{currency}"


@functools.lru_cache(maxsize=4096)
def _qr_svg(data: str, scale: int) -> str:
    """Drawing a code costs milliseconds and a card's never changes: each process keeps the latest few thousand."""
    code = segno.make(data, error="m", micro=False)
    return code.svg_inline(scale=scale, border=4, dark="#000", light="#fff", omitsize=True)


@register.simple_tag
def qr(data: str, label: str, testid: str = "", scale: int = 4) -> str:
    """`data` as an inline SVG QR code (black on white, with its quiet zone, so phone cameras and shop
    scanners read it), an image to assistive technology named by `label`."""
    svg = _qr_svg(data, scale)
    testid_attr = format_html(' data-testid="{}"', testid) if testid else ""
    return format_html(
        '<div class="qr" role="img" aria-label="{}"{}>{}</div>',
        label,
        testid_attr,
        mark_safe(svg),  # noqa: S308
    )
