"""A portal address that leads nowhere (or to another member's voucher) answers 404 in the portal's look and the
visitor's language, with a way back; elsewhere Django's plain page stays."""

import pytest


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False


def test_another_members_voucher_is_a_404_in_the_portals_look(portal):
    r = portal.get("/portal/vouchers/NOT-YOURS-1234")

    page = r.content.decode()
    assert r.status_code == 404 and 'data-testid="not-found"' in page and 'href="/portal/"' in page
    assert '<html lang="en">' in page


def test_a_visitor_asking_in_german_gets_it_in_german(visitor, db):
    r = visitor.get("/portal/nowhere", HTTP_ACCEPT_LANGUAGE="de")

    page = r.content.decode()
    assert r.status_code == 404 and '<html lang="de">' in page and "Seite nicht gefunden" in page


def test_outside_the_portal_the_plain_page_stays(visitor, db):
    r = visitor.get("/nowhere")

    assert r.status_code == 404 and 'data-testid="not-found"' not in r.content.decode()
