"""Purchases in the admin: amounts as the currency writes them, not as the column stores them."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.support.api import purchase

pytestmark = pytest.mark.django_db


def test_the_transaction_list_shows_money_with_the_currencys_minor_units(api, member):
    assert api.post("/api/v1/transactions", purchase(member, total="99.90")).status_code == 201
    staff = Client()
    staff.force_login(User.objects.create_superuser("ops", "ops@example.com", "x" * 12))

    page = staff.get("/admin/loyalty/transaction/", secure=True).content.decode()

    assert re.search(r"99\.90 EUR", page) and "99.9000" not in page
