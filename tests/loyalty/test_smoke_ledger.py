from loyalty.ledger.models import Account
from loyalty.ledger.services import points_credit, points_debit
from tests.factories import MemberFactory


def test_credit_then_debit_leaves_the_difference(db, now):
    member = MemberFactory()
    points_credit(member=member, points=100, now=now)
    points_debit(member=member, points=30, now=now)
    assert Account.objects.get(member=member).available == 70
