"""The navigation's current tab: a page belongs to the section whose URL its path starts with
(/portal/vouchers/V-123 is under Vouchers)."""

from django import template

register = template.Library()


@register.filter
def in_section(path: str, section_url: str) -> bool:
    return path == section_url or path.startswith(section_url.rstrip("/") + "/")
