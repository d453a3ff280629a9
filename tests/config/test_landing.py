"""`/` leads somewhere useful (it was a 404, and so was the admin's "View site" link)."""

import re

from django.contrib.auth import get_user_model
from django.test import Client


def test_the_root_is_a_page_linking_to_the_docs_the_admin_and_health(db):
    client = Client(HTTP_HOST="127.0.0.1")

    r = client.get("/", secure=True)

    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    links = re.findall(r'href="([^"]+)"', r.content.decode())
    assert {"/api/docs/", "/api/schema/", "/admin/", "/healthz"} <= set(links)
    for link in links:  # every link leads somewhere: a page, or the admin's login
        assert client.get(link, secure=True).status_code in (200, 302), link


def test_the_admins_view_site_link_leads_to_a_page(db):
    staff = get_user_model().objects.create_superuser(username="staff", email="s@example.com", password="x" * 12)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)

    admin_index = client.get("/admin/", secure=True).content.decode()
    view_site = re.search(r'<a href="([^"]+)"[^>]*>\s*View site\s*</a>', admin_index)

    assert view_site, "the admin shows no View site link"
    assert client.get(view_site.group(1), secure=True).status_code == 200


def test_the_root_refuses_writes(db):
    assert Client(HTTP_HOST="127.0.0.1").post("/", secure=True).status_code == 405
