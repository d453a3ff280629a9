"""Period arithmetic: calendar months that clamp to the month's last day, and period ends counted from
the anchor so that they never drift."""

import calendar
import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loyalty.calendar import months_add
from loyalty.subscriptions.models import Plan, Subscription
from loyalty.subscriptions.services import period_end
from tests.support.subscriptions import fresh, pay, subscribe

moments = st.datetimes(
    min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2200, 12, 31), timezones=st.just(dt.UTC)
)
month_counts = st.integers(min_value=-600, max_value=600)


def ends(anchor: dt.datetime, interval: str, periods: int) -> dt.datetime:
    return period_end(Subscription(anchor=anchor, plan=Plan(interval=interval)), periods)


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC), 1, dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC)),
        (dt.datetime(2028, 1, 31, 10, tzinfo=dt.UTC), 1, dt.datetime(2028, 2, 29, 10, tzinfo=dt.UTC)),
        (dt.datetime(2026, 3, 31, 0, tzinfo=dt.UTC), -1, dt.datetime(2026, 2, 28, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 12, 15, 0, tzinfo=dt.UTC), 1, dt.datetime(2027, 1, 15, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 1, 15, 0, tzinfo=dt.UTC), -1, dt.datetime(2025, 12, 15, 0, tzinfo=dt.UTC)),
        (dt.datetime(2024, 2, 29, 0, tzinfo=dt.UTC), 12, dt.datetime(2025, 2, 28, 0, tzinfo=dt.UTC)),
        (dt.datetime(2024, 2, 29, 0, tzinfo=dt.UTC), 48, dt.datetime(2028, 2, 29, 0, tzinfo=dt.UTC)),
        (dt.datetime(2026, 5, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), 1,
         dt.datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=dt.UTC)),
    ],
)  # fmt: skip
def test_months_add_examples(start, months, expected):
    assert months_add(start, months) == expected


def test_31_january_anchor_monthly_ends():
    anchor = dt.datetime(2026, 1, 31, 8, 30, tzinfo=dt.UTC)
    got = [ends(anchor, "month", k).date() for k in range(1, 13)]
    assert got == [
        dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30), dt.date(2026, 5, 31), dt.date(2026, 6, 30),
        dt.date(2026, 7, 31), dt.date(2026, 8, 31), dt.date(2026, 9, 30), dt.date(2026, 10, 31),
        dt.date(2026, 11, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 31),
    ]  # fmt: skip
    assert ends(dt.datetime(2028, 1, 31, tzinfo=dt.UTC), "month", 1).date() == dt.date(2028, 2, 29)


@given(moments, month_counts)
def test_months_add_keeps_the_day_or_clamps_to_month_end(moment, n):
    moved = months_add(moment, n)
    assert (moved.year * 12 + moved.month) - (moment.year * 12 + moment.month) == n
    assert moved.day == min(moment.day, last_day(moved.year, moved.month))
    assert (moved.hour, moved.minute, moved.second, moved.microsecond, moved.tzinfo) == (
        moment.hour, moment.minute, moment.second, moment.microsecond, moment.tzinfo,
    )  # fmt: skip


@given(moments, month_counts)
def test_months_add_round_trips_when_the_day_exists_in_both_months(moment, n):
    moved = months_add(moment, n)
    assume(moment.day <= last_day(moved.year, moved.month))
    assert months_add(moved, -n) == moment


@given(moments, st.integers(min_value=0, max_value=120), st.integers(min_value=0, max_value=120))
def test_months_add_is_monotonic(moment, a, b):
    if a <= b:
        assert months_add(moment, a) <= months_add(moment, b)


@given(moments, st.integers(min_value=1, max_value=240))
def test_period_ends_never_drift(anchor, k):
    """The k-th period end is the anchor's day in the k-th month after it, or that month's last day."""
    end = ends(anchor, "month", k)
    index = anchor.year * 12 + anchor.month - 1 + k
    year, month = index // 12, index % 12 + 1
    assert (end.year, end.month) == (year, month)
    assert end.day == min(anchor.day, last_day(year, month))
    assert end.time() == anchor.time()


@given(st.integers(min_value=1990, max_value=2200), st.sampled_from([1, 3, 5, 7, 8, 10, 12]),
       st.integers(min_value=1, max_value=240))  # fmt: skip
def test_period_ends_from_a_31st(year, month, k):
    anchor = dt.datetime(year, month, 31, 12, tzinfo=dt.UTC)
    end = ends(anchor, "month", k)
    assert end.day == last_day(end.year, end.month)  # the 31st where it exists, else the month's last day
    assert end.day == (31 if last_day(end.year, end.month) == 31 else last_day(end.year, end.month))


@given(moments, st.integers(min_value=1, max_value=240))
def test_monthly_periods_last_28_to_31_days(anchor, k):
    length = ends(anchor, "month", k) - ends(anchor, "month", k - 1)
    assert dt.timedelta(days=28) <= length <= dt.timedelta(days=31)


@given(moments, st.integers(min_value=1, max_value=50))
def test_yearly_periods_last_365_or_366_days(anchor, k):
    start, end = ends(anchor, "year", k - 1), ends(anchor, "year", k)
    assert end - start in (dt.timedelta(days=365), dt.timedelta(days=366))
    assert (end.year, end.month) == (anchor.year + k, anchor.month)
    assert end.day == min(anchor.day, last_day(end.year, end.month))


@given(moments)
def test_zero_periods_end_at_the_anchor(anchor):
    assert ends(anchor, "month", 0) == anchor == ends(anchor, "year", 0)


def test_yearly_from_29_february_returns_to_it_in_leap_years():
    anchor = dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    assert [ends(anchor, "year", k).date() for k in (1, 2, 3, 4)] == [
        dt.date(2025, 2, 28), dt.date(2026, 2, 28), dt.date(2027, 2, 28), dt.date(2028, 2, 29),
    ]  # fmt: skip


def test_paid_periods_follow_the_anchor(shop, member, plus):
    """Periods paid one after another through the service are the anchor's calendar periods, no drift."""
    anchor = dt.datetime(2026, 1, 31, 9, tzinfo=dt.UTC)
    subscription = subscribe(shop, member, plus, anchor)
    seen = []
    for k in range(1, 14):
        payment, _ = pay(shop, subscription, f"p{k}", ends(anchor, "month", k - 1))
        seen.append((payment.period_start, payment.period_end))
        assert fresh(subscription).current_period_end == ends(anchor, "month", k)
    assert seen == [(ends(anchor, "month", k - 1), ends(anchor, "month", k)) for k in range(1, 14)]
    assert seen[0][1].date() == dt.date(2026, 2, 28) and seen[1][1].date() == dt.date(2026, 3, 31)
    assert seen[-1][1].date() == dt.date(2027, 2, 28)
