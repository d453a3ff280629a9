"""`/`: a small page that leads to what the service offers (the admin's "View site" link lands here too)."""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_safe

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Loyalty backend</title></head>
<body>
<h1>Loyalty backend</h1>
<p>A loyalty points and rewards backend: shops use the checkout API with an API key, staff use the admin.</p>
<ul>
{links}
</ul>
<p>The checkout API lives under <code>{api_base}</code>; every call sends <code>Authorization: Bearer &lt;key&gt;</code>
(a shop's API key, made with <code>manage.py create_api_key</code>).</p>
</body>
</html>
"""


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    links = [
        (reverse("api-docs"), "API docs", "every endpoint, field and error code, interactive"),
        (reverse("schema"), "OpenAPI schema", "the same, machine-readable"),
        (reverse("admin:index"), "Admin", "the program, members, ledger, API keys, periodic tasks"),
        ("/healthz", "Health", "readiness of this node: database and cache"),
    ]
    items = format_html_join("\n", '<li><a href="{}">{}</a>: {}</li>', links)
    return HttpResponse(format_html(PAGE, links=items, api_base="/api/v1/"))
