"""The ledger in the admin: read-only, and readable: member, description, shop and transaction as columns."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loyalty.earning.models import Transaction
from tests.support.api import purchase

ENTRIES = "/admin/loyalty/ledgerentry/"


@pytest.fixture
def staff(db) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw-staff-123"))
    return client


def test_an_entry_names_its_member_description_shop_and_transaction(staff, api, member):
    assert api.post("/api/v1/transactions", purchase(member, external_id="order-7")).status_code == 201
    txn = Transaction.objects.get()

    page = staff.get(ENTRIES, secure=True).content.decode()

    assert f'<a href="/admin/members/member/{member.pk}/change/">{member.card_number}</a>' in page
    assert "purchase order-7" in page
    assert re.search(r'<td class="field-shop_code[^"]*"[^>]*>\s*shop-a\s*</td>', page)
    assert f'<a href="/admin/loyalty/transaction/{txn.pk}/change/">{txn.public_id}</a>' in page


def test_the_list_costs_the_same_queries_for_three_entries_as_for_thirty(staff, api, member):
    def purchases(count: int, start: int) -> None:
        for number in range(start, start + count):
            assert api.post("/api/v1/transactions", purchase(member, external_id=f"o-{number}")).status_code == 201

    purchases(3, 0)
    with CaptureQueriesContext(connection) as few:
        staff.get(ENTRIES, secure=True)
    purchases(27, 3)
    with CaptureQueriesContext(connection) as many:
        assert staff.get(ENTRIES, secure=True).status_code == 200

    assert len(many) == len(few)


def test_no_one_can_add_change_or_delete_an_entry(staff, api, member):
    api.post("/api/v1/transactions", purchase(member))
    entry_id = member.account.entries.get().pk

    assert staff.get(f"{ENTRIES}add/", secure=True).status_code == 403
    assert staff.post(f"{ENTRIES}{entry_id}/change/", {"points": 1}, secure=True).status_code == 403
    assert staff.post(f"{ENTRIES}{entry_id}/delete/", {"post": "yes"}, secure=True).status_code == 403
