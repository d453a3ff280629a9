"""`/` leads somewhere useful: the members' portal, whose sign-in greets a visitor (it was a 404, and so was the
admin's "View site" link)."""

import re

from django.contrib.auth import get_user_model
from django.test import Client


def test_the_root_leads_a_visitor_to_the_portals_sign_in(db):
    client = Client(HTTP_HOST="127.0.0.1")

    r = client.get("/", secure=True, follow=True)

    assert r.redirect_chain[-1][0].endswith("/portal/login")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/html")
    assert 'data-testid="login-email"' in r.content.decode()


def test_the_admins_view_site_link_leads_to_a_page(db):
    staff = get_user_model().objects.create_superuser(username="staff", email="s@example.com", password="x" * 12)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)

    admin_index = client.get("/admin/", secure=True).content.decode()
    view_site = re.search(r'<a href="([^"]+)"[^>]*>\s*View site\s*</a>', admin_index)

    assert view_site, "the admin shows no View site link"
    assert client.get(view_site.group(1), secure=True, follow=True).status_code == 200


def test_the_root_refuses_writes(db):
    assert Client(HTTP_HOST="127.0.0.1").post("/", secure=True).status_code == 405
