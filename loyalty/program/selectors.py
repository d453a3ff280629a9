"""Reads of the program's settings.

The settings and the running campaigns are read on every checkout but change rarely, so each process
keeps them for `LOYALTY_SETTINGS_CACHE_SECONDS`. A change made in this process (load_program, the admin)
clears the copy at once; other processes pick it up within that many seconds.
"""

import time
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.conf import settings

from loyalty.program.models import Program

T = TypeVar("T")
_cleared_at = [0.0]


def settings_cached(load: Callable[[], T]) -> Callable[[], T]:
    """Keep `load()`'s result for LOYALTY_SETTINGS_CACHE_SECONDS, or until `settings_cache_clear()`."""
    slot: dict = {}

    @wraps(load)
    def cached() -> T:
        now = time.monotonic()
        fresh = slot.get("at", -1.0) > _cleared_at[0] and now - slot["at"] < settings.LOYALTY_SETTINGS_CACHE_SECONDS
        if not fresh:
            slot["value"], slot["at"] = load(), now
        return slot["value"]

    return cached


def settings_cache_clear() -> None:
    """Forget every cached copy in this process (after a change to the program, tiers or campaigns)."""
    _cleared_at[0] = time.monotonic()


@settings_cached
def program_get() -> Program:
    """The program's settings; an unsaved row of defaults before `load_program` has run."""
    return Program.objects.filter(pk=Program.SINGLETON_PK).first() or Program()
