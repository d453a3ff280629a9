"""The language cookie is `Secure` exactly when the session's is (SESSION_COOKIE_SECURE): it used to follow DEBUG
alone, so a server with DEBUG off on plain HTTP (SESSION_COOKIE_SECURE=0, as behind no TLS proxy in a test set-up)
set a cookie the browser drops, and the switch to German did not stick for a visitor."""

import pytest

from members.models import Member
from tests.support.portal import signed_in, signin_token


@pytest.mark.parametrize("secure", [False, True])
def test_the_switch_sets_the_cookie_as_secure_as_the_session(settings, visitor, secure):
    settings.DEBUG = False
    settings.SESSION_COOKIE_SECURE = secure

    response = visitor.post("/portal/language", {"language": "de", "next": "/portal/login"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"
    assert bool(response.cookies["django_language"]["secure"]) is secure


@pytest.mark.parametrize("secure", [False, True])
def test_signing_in_sets_the_cookie_as_secure_as_the_session(settings, ada: Member, visitor, secure):
    settings.DEBUG = False
    settings.SESSION_COOKIE_SECURE = secure
    visitor.post("/portal/login", {"email": "ada@example.com"})

    response = visitor.post(f"/portal/login/{signin_token('ada@example.com')}")

    assert response.status_code == 302
    assert bool(response.cookies["django_language"]["secure"]) is secure
    assert bool(response.cookies["sessionid"]["secure"]) is secure


@pytest.mark.parametrize("secure", [False, True])
def test_saving_the_profile_sets_the_cookie_as_secure_as_the_session(settings, ada: Member, secure):
    settings.DEBUG = False
    settings.SESSION_COOKIE_SECURE = secure

    profile = {"first_name": "Ada", "last_name": "", "phone": "", "locale": "de"}

    response = signed_in(ada).post("/portal/profile", profile)

    assert response.status_code == 302, response.content[:500]
    assert bool(response.cookies["django_language"]["secure"]) is secure
