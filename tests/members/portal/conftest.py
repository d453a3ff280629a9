import pytest
from django.core.cache import cache
from django.test import Client

from loyalty.membership.services import member_enroll_with_account
from members.models import Member
from tests.support.portal import signed_in


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """The portal's tests speak plain HTTP to the test server (production redirects it to https)."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no sign-in requests counted against its client address."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def visitor() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


@pytest.fixture
def portal(member) -> Client:
    """A client signed in as `member`."""
    return signed_in(member)


@pytest.fixture
def ada(program) -> Member:
    return member_enroll_with_account(email="ada@example.com", first_name="Ada", locale="en")
