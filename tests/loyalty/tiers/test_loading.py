"""The tiers section of the program file: ranks default to threshold order, can be reshuffled across
reloads (the RANK_SHIFT path), and a rank held by a tier the file leaves out is refused."""

import pytest

from loyalty.program.loading import ProgramFileError, program_load
from loyalty.tiers.models import Tier

pytestmark = pytest.mark.django_db


def tier(code: str, threshold: int, rank: int | None = None) -> dict:
    item = {"code": code, "name": code.title(), "threshold": threshold, "multiplier": "1"}
    return item if rank is None else {**item, "rank": rank}


def ranks() -> dict[str, int]:
    return dict(Tier.objects.values_list("code", "rank"))


def test_ranks_default_to_threshold_order_whatever_the_file_order():
    program_load({"tiers": [tier("gold", 2000), tier("bronze", 0), tier("silver", 500)]})

    assert ranks() == {"bronze": 0, "silver": 1, "gold": 2}


def test_thresholds_reordered_on_a_reload_reshuffle_the_ranks():
    program_load({"tiers": [tier("bronze", 0), tier("silver", 500), tier("gold", 2000)]})

    program_load({"tiers": [tier("bronze", 0), tier("silver", 3000), tier("gold", 2000)]})

    assert ranks() == {"bronze": 0, "gold": 1, "silver": 2}


def test_explicit_ranks_moved_on_reloads_are_given_exactly_and_nothing_keeps_a_shifted_rank():
    program_load({"tiers": [tier("bronze", 0, 0), tier("silver", 500, 1), tier("gold", 2000, 2)]})

    program_load({"tiers": [tier("bronze", 0, 1), tier("silver", 500, 2), tier("gold", 2000, 5)]})
    assert ranks() == {"bronze": 1, "silver": 2, "gold": 5}
    program_load({"tiers": [tier("bronze", 0, 0), tier("silver", 500, 1), tier("gold", 2000, 2)]})

    assert ranks() == {"bronze": 0, "silver": 1, "gold": 2}


def test_a_reload_without_rank_changes_leaves_every_tier_unchanged():
    file = {"tiers": [tier("bronze", 0), tier("silver", 500)]}
    program_load(file)

    report = program_load(file)

    assert ranks() == {"bronze": 0, "silver": 1}
    assert (report.sections["tiers"].updated, report.sections["tiers"].unchanged) == (0, 2)


def test_a_rank_held_by_a_tier_not_in_the_file_is_refused_and_nothing_is_written():
    program_load({"tiers": [tier("bronze", 0), tier("silver", 500), tier("gold", 2000)]})

    with pytest.raises(ProgramFileError) as refused:
        # no existing tier changes rank; the new "plus" takes silver's
        program_load({"tiers": [tier("bronze", 0), tier("gold", 2000, 2), tier("plus", 1000, 1)]})

    assert refused.value.problems == [("tiers", "rank 1 is held by tier silver, not in the file")]
    assert ranks() == {"bronze": 0, "silver": 1, "gold": 2}


def test_a_clash_is_refused_also_when_the_file_moves_other_tiers_ranks():
    """Moving gold to rank 3 shifts every tier out of the way first; platinum, not in the file, holds 3."""
    program_load({"tiers": [tier("bronze", 0), tier("silver", 500), tier("gold", 2000), tier("platinum", 9000)]})

    with pytest.raises(ProgramFileError) as refused:
        program_load({"tiers": [tier("bronze", 0, 0), tier("silver", 500, 1), tier("gold", 2000, 3)]})

    assert refused.value.problems == [("tiers", "rank 3 is held by tier platinum, not in the file")]
    assert ranks() == {"bronze": 0, "silver": 1, "gold": 2, "platinum": 3}


def test_a_tier_left_out_of_the_file_keeps_its_rank_when_another_tier_moves():
    program_load({"tiers": [tier("bronze", 0), tier("silver", 500), tier("gold", 2000), tier("platinum", 9000)]})

    program_load({"tiers": [tier("bronze", 0, 0), tier("silver", 500, 1), tier("gold", 2000, 4)]})

    assert ranks() == {"bronze": 0, "silver": 1, "gold": 4, "platinum": 3}
