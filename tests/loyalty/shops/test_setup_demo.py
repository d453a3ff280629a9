"""`setup_demo` (make run's last step): its last line is `KEY=lk_...`, ready to paste into a shell, and each run
revokes the demo keys earlier runs printed instead of piling up all-scope keys."""

import os
import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.earning.models import Transaction
from loyalty.ledger.selectors import account_of, balance_of
from loyalty.shops.models import ApiKey, Shop
from loyalty.shops.services import api_key_authenticate, api_key_create
from members.models import Member
from rewards.eligibility import catalogue_eligibility
from rewards.models import Reward

REPO = Path(__file__).resolve().parents[3]
KEY_LINE = re.compile(r"^KEY=(lk_[a-z0-9]{8}_[A-Za-z0-9]{32,})$")


@pytest.fixture
def demo_program(db):
    call_command("load_program", str(REPO / "demo" / "program.json"), stdout=StringIO())


def setup_demo(port: int = 8000) -> tuple[str, str]:
    """Runs the command; returns its output and the key of its last line."""
    out = StringIO()
    call_command("setup_demo", "--port", str(port), stdout=out)
    output = out.getvalue()
    match = KEY_LINE.match(output.rstrip("\n").splitlines()[-1])
    assert match, f"the last line is not KEY=lk_...: {output!r}"
    return output, match.group(1)


def test_the_last_line_is_a_shell_assignment_of_a_working_key(demo_program):
    output, key = setup_demo(port=8123)

    authenticated = api_key_authenticate(raw_key=key, now=timezone.now())
    assert authenticated is not None and authenticated.shop.code == "demo-shop"
    assert set(authenticated.scopes) == set(ApiKey.SCOPES)
    assert "http://127.0.0.1:8123/portal/" in output and "http://127.0.0.1:8123/admin/" in output


def test_the_demo_member_can_sign_in_and_has_purchases_behind_them_once(demo_program, settings, tmp_path):
    settings.EMAIL_FILE_PATH = str(tmp_path)
    setup_demo()
    output, _ = setup_demo()  # a second run adds nothing

    member = Member.objects.get(email="grace@example.com")
    assert "sign in as the demo member grace@example.com" in output and str(tmp_path) in output
    assert Transaction.objects.filter(member=member).count() == 3
    assert balance_of(account_of(member)).available > 0


def test_a_rerun_revokes_the_earlier_demo_keys_and_leaves_other_keys_alone(demo_program):
    _, first = setup_demo()
    _, second = setup_demo()
    output, third = setup_demo()
    shop = Shop.objects.get(code="demo-shop")
    _, staff_key = api_key_create(shop=shop, name="till 1")
    _, fourth = setup_demo()

    now = timezone.now()
    assert api_key_authenticate(raw_key=first, now=now) is None
    assert api_key_authenticate(raw_key=second, now=now) is None
    assert api_key_authenticate(raw_key=third, now=now) is None
    assert api_key_authenticate(raw_key=fourth, now=now) is not None
    assert api_key_authenticate(raw_key=staff_key, now=now) is not None
    assert ApiKey.objects.filter(shop=shop, revoked_at__isnull=True).count() == 2
    assert "1 earlier demo key(s) revoked" in output


def test_the_demo_member_can_afford_a_reward_of_the_demo_catalogue(demo_program):
    setup_demo()

    member = Member.objects.get(email="grace@example.com")
    rewards = list(Reward.objects.filter(active=True))
    eligibility = catalogue_eligibility(rewards, member=member, now=timezone.now())
    assert any(eligibility[reward.pk].eligible for reward in rewards)


def test_the_output_says_when_the_mails_links_point_at_another_server(demo_program, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert "PUBLIC_BASE_URL" not in setup_demo(port=8000)[0]

    output, _ = setup_demo(port=8123)

    assert "its link points at PUBLIC_BASE_URL http://127.0.0.1:8000, not this server" in output
    assert "set PUBLIC_BASE_URL=http://127.0.0.1:8123" in output


def test_make_run_on_another_port_points_the_mails_links_at_that_port(tmp_path):
    # A stand-in virtualenv whose python prints the variable and stops `make run` at its first step.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text('#!/bin/sh\necho "PUBLIC_BASE_URL=$PUBLIC_BASE_URL"\nexit 3\n')
    python.chmod(0o755)
    (venv / ".installed").touch()
    env = {name: value for name, value in os.environ.items() if name != "PUBLIC_BASE_URL"}

    result = subprocess.run(  # noqa: S603 - a fixed command
        ["make", "-s", "run", f"VENV={venv}", "PORT=8123"],  # noqa: S607 - make from PATH, as a person runs it
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert "PUBLIC_BASE_URL=http://127.0.0.1:8123" in result.stdout.splitlines()
