"""The subscription state machine: every allowed move works and is recorded with its cause; every other
move is refused with `invalid_state` and writes nothing."""

import datetime as dt
import itertools

import pytest

from loyalty.errors import InvalidState
from loyalty.subscriptions.jobs import renew_subscriptions
from loyalty.subscriptions.models import Plan, Subscription, SubscriptionEvent
from loyalty.subscriptions.services import TRANSITIONS, _move, transition_allowed
from tests.factories import MemberFactory
from tests.support.subscriptions import DAY, GRACE, cancel, fresh, moves, pay, snapshot, subscribe

STATUSES = [s.value for s in Subscription.Status]

# The contract, written out independently of the implementation: (from, to) -> causes.
EXPECTED = {
    ("incomplete", "active"): {"payment_succeeded"},
    ("incomplete", "canceled"): {"canceled"},
    ("incomplete", "expired"): {"never_paid"},
    ("trialing", "active"): {"payment_succeeded"},
    ("trialing", "past_due"): {"payment_failed"},
    ("trialing", "canceled"): {"canceled", "canceled_at_period_end"},
    ("trialing", "expired"): {"trial_ended_unpaid"},
    ("active", "active"): {"payment_succeeded"},
    ("active", "past_due"): {"payment_failed", "period_ended_unpaid"},
    ("active", "canceled"): {"canceled", "canceled_at_period_end"},
    ("past_due", "active"): {"payment_succeeded"},
    ("past_due", "past_due"): {"payment_failed"},
    ("past_due", "canceled"): {"canceled", "canceled_at_period_end"},
    ("past_due", "expired"): {"grace_ended"},
}
CAUSES = sorted(set().union(*TRANSITIONS.values()) | {"created", "trial_started", "", "bogus"})
ALL_MOVES = list(itertools.product(STATUSES, STATUSES, CAUSES))
T0 = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


def test_table_is_the_documented_one():
    assert {key: set(causes) for key, causes in TRANSITIONS.items()} == EXPECTED


def test_final_states_have_no_way_out():
    assert not [key for key in TRANSITIONS if key[0] in ("canceled", "expired")]


@pytest.mark.parametrize(("from_status", "to_status", "cause"), ALL_MOVES)
def test_transition_allowed_exhaustive(from_status, to_status, cause):
    assert transition_allowed(from_status, to_status, cause) == (cause in EXPECTED.get((from_status, to_status), ()))


def _unsaved(status: str) -> Subscription:
    ended = T0 if status in ("canceled", "expired") else None
    return Subscription(
        status=status, plan=Plan(interval="month"), current_period_start=T0, current_period_end=T0, ended_at=ended
    )


@pytest.mark.parametrize(("from_status", "to_status", "cause"), ALL_MOVES)
def test_move_exhaustive(from_status, to_status, cause):
    subscription = _unsaved(from_status)
    now = T0 + DAY
    if cause in EXPECTED.get((from_status, to_status), ()):
        event = _move(subscription, to_status, cause=cause, now=now)
        assert (event.from_status, event.to_status, event.cause, event.created_at) == (
            from_status, to_status, cause, now,
        )  # fmt: skip
        assert event.subscription is subscription
        assert subscription.status == to_status
        assert subscription.ended_at == (now if to_status in ("canceled", "expired") else None)
    else:
        before = (subscription.status, subscription.ended_at)
        with pytest.raises(InvalidState) as refused:
            _move(subscription, to_status, cause=cause, now=now)
        assert refused.value.code == "invalid_state"
        assert (subscription.status, subscription.ended_at) == before


@pytest.mark.parametrize("from_status", STATUSES)
def test_refused_move_writes_nothing(db, shop, member, plus, from_status):
    """A refused move on a stored subscription leaves the database as it was."""
    subscription = subscribe(shop, member, plus, T0)
    Subscription.objects.filter(pk=subscription.pk).update(
        status=from_status, ended_at=T0 if from_status in ("canceled", "expired") else None
    )
    subscription = fresh(subscription)
    before = snapshot()
    for to_status, cause in itertools.product(STATUSES, CAUSES):
        if cause in EXPECTED.get((from_status, to_status), ()):
            continue
        with pytest.raises(InvalidState):
            _move(subscription, to_status, cause=cause, now=T0 + DAY)
    assert snapshot() == before


# --- every allowed move, driven through the services or the job ---------------------------------------


def _incomplete(shop, member, plans):
    return subscribe(shop, member, plans["plus"], T0)


def _trialing(shop, member, plans):
    return subscribe(shop, member, plans["trial"], T0)


def _active(shop, member, plans):
    subscription = _incomplete(shop, member, plans)
    pay(shop, subscription, "first", T0)
    return fresh(subscription)


def _past_due(shop, member, plans):
    subscription = _active(shop, member, plans)
    pay(shop, subscription, "failed-1", T0 + 20 * DAY, status="failed")
    return fresh(subscription)


def _past_due_canceling(shop, member, plans):
    """Past due by a renewal charge that failed after the member asked to stop at period end."""
    subscription = _active(shop, member, plans)
    cancel(subscription, T0 + DAY, at_period_end=True)
    pay(shop, subscription, "failed-1", T0 + 20 * DAY, status="failed")
    return fresh(subscription)


def _job(now):
    renew_subscriptions(now=now)


SCENARIOS = {
    ("incomplete", "active", "payment_succeeded"): (_incomplete, lambda s, sh: pay(sh, s, "p", T0 + DAY)),
    ("incomplete", "canceled", "canceled"): (_incomplete, lambda s, sh: cancel(s, T0 + DAY, at_period_end=False)),
    ("incomplete", "expired", "never_paid"): (_incomplete, lambda s, sh: _job(T0 + GRACE)),
    ("trialing", "active", "payment_succeeded"): (_trialing, lambda s, sh: pay(sh, s, "p", T0 + DAY)),
    ("trialing", "past_due", "payment_failed"): (_trialing, lambda s, sh: pay(sh, s, "f", T0 + DAY, status="failed")),
    ("trialing", "canceled", "canceled"): (_trialing, lambda s, sh: cancel(s, T0 + DAY, at_period_end=False)),
    ("trialing", "canceled", "canceled_at_period_end"): (
        _trialing, lambda s, sh: (cancel(s, T0 + DAY, at_period_end=True), _job(T0 + 14 * DAY)),
    ),
    ("trialing", "expired", "trial_ended_unpaid"): (_trialing, lambda s, sh: _job(T0 + 14 * DAY)),
    ("active", "active", "payment_succeeded"): (_active, lambda s, sh: pay(sh, s, "p2", T0 + 27 * DAY)),
    ("active", "past_due", "payment_failed"): (_active, lambda s, sh: pay(sh, s, "f", T0 + 27 * DAY, status="failed")),
    ("active", "past_due", "period_ended_unpaid"): (_active, lambda s, sh: _job(s.current_period_end)),
    ("active", "canceled", "canceled"): (_active, lambda s, sh: cancel(s, T0 + DAY, at_period_end=False)),
    ("active", "canceled", "canceled_at_period_end"): (
        _active, lambda s, sh: (cancel(s, T0 + DAY, at_period_end=True), _job(s.current_period_end)),
    ),
    ("past_due", "active", "payment_succeeded"): (_past_due, lambda s, sh: pay(sh, s, "p2", T0 + 21 * DAY)),
    ("past_due", "past_due", "payment_failed"): (
        _past_due, lambda s, sh: pay(sh, s, "f2", T0 + 21 * DAY, status="failed"),
    ),
    ("past_due", "canceled", "canceled"): (_past_due, lambda s, sh: cancel(s, T0 + 21 * DAY, at_period_end=False)),
    ("past_due", "canceled", "canceled_at_period_end"): (_past_due_canceling, lambda s, sh: _job(s.current_period_end)),
    ("past_due", "expired", "grace_ended"): (_past_due, lambda s, sh: _job(s.current_period_end + GRACE)),
}  # fmt: skip


def test_every_allowed_move_has_a_scenario():
    assert set(SCENARIOS) == {(f, t, c) for (f, t), causes in EXPECTED.items() for c in causes}


@pytest.mark.parametrize("move", sorted(SCENARIOS), ids="-".join)
def test_allowed_move_happens_and_is_recorded(shop, member, plans, move):
    from_status, to_status, cause = move
    setup, act = SCENARIOS[move]
    subscription = setup(shop, member, plans)
    assert subscription.status == from_status
    events_before = SubscriptionEvent.objects.filter(subscription=subscription).count()
    act(subscription, shop)
    subscription = fresh(subscription)
    assert subscription.status == to_status
    recorded = moves(subscription)
    assert len(recorded) == events_before + 1
    assert recorded[-1] == (from_status, to_status, cause)
    assert (subscription.ended_at is not None) == (to_status in ("canceled", "expired"))


def test_creation_is_recorded(shop, member, plus, trial):
    assert moves(subscribe(shop, member, plus, T0)) == [("", "incomplete", "created")]
    assert moves(subscribe(shop, MemberFactory(), trial, T0)) == [("", "trialing", "trial_started")]


def test_failed_first_payment_leaves_incomplete_without_a_move(shop, member, plus):
    subscription = subscribe(shop, member, plus, T0)
    payment, created = pay(shop, subscription, "f", T0 + DAY, status="failed")
    assert created and payment.status == "failed"
    assert fresh(subscription).status == "incomplete"
    assert moves(subscription) == [("", "incomplete", "created")]


def test_job_walks_a_long_overdue_subscription_to_expired(shop, member, plans):
    """One run applies every move time has made due, each through the table."""
    subscription = _active(shop, member, plans)
    run = renew_subscriptions(now=subscription.current_period_end + GRACE + DAY)
    assert fresh(subscription).status == "expired"
    assert moves(subscription)[-2:] == [
        ("active", "past_due", "period_ended_unpaid"),
        ("past_due", "expired", "grace_ended"),
    ]
    assert run is not None
    again = snapshot()
    renew_subscriptions(now=subscription.current_period_end + GRACE + 2 * DAY)
    assert snapshot() == again


@pytest.mark.parametrize("final", ["canceled", "expired"])
def test_services_refuse_final_subscriptions(shop, member, plans, final):
    subscription = _active(shop, member, plans)
    if final == "canceled":
        cancel(subscription, T0 + DAY, at_period_end=False)
    else:
        renew_subscriptions(now=subscription.current_period_end + GRACE)
    assert fresh(subscription).status == final
    before = snapshot()
    for act in (
        lambda: pay(shop, subscription, "late", T0 + 40 * DAY),
        lambda: pay(shop, subscription, "late-f", T0 + 40 * DAY, status="failed"),
        lambda: cancel(subscription, T0 + 40 * DAY, at_period_end=False),
        lambda: cancel(subscription, T0 + 40 * DAY, at_period_end=True),
    ):
        with pytest.raises(InvalidState):
            act()
    assert snapshot() == before
