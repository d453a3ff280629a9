"""Fixtures for the reward catalogue, redemptions and vouchers (helpers: tests/support/rewards.py).

The shop fixtures (program, shops A and B, their API clients, funded members) are the suite's, in
tests/conftest.py.
"""

import pytest
from django.core.cache import cache

from loyalty.program.loading import program_load
from loyalty.tiers.models import Tier
from rewards.models import Reward
from tests.support.rewards import TIERS, reward_item


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counters live in the cache, keyed by API key id, and ids are reused between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reward_load(program):
    """`reward_load(code, **fields)` loads one reward through the program file and returns it."""

    def load(code: str = "COFFEE", **fields) -> Reward:
        program_load({"rewards": [reward_item(code, **fields)]})
        return Reward.objects.get(code=code)

    return load


@pytest.fixture
def tiers(program) -> dict[str, Tier]:
    program_load({"tiers": TIERS})
    return Tier.objects.in_bulk(field_name="code")
