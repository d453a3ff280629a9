"""Erasure drives the API too: each test starts with empty throttle counters."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counters live in the cache, keyed by API key id, and ids are reused between tests."""
    cache.clear()
    yield
    cache.clear()
