"""The README is the front door: its requests run as written against a live server, and nothing in the
project points outside it."""

import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from loyalty.holds.models import Hold
from members.models import Member

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DEMO_BASE = "http://127.0.0.1:8000"


def readme_block(heading: str, language: str = "sh") -> str:
    """The first fenced block of `language` after the README's `heading`."""
    text = README.read_text(encoding="utf-8")
    assert heading in text, f"the README has no {heading!r}"
    match = re.search(rf"^```{language}\n(.*?)^```$", text[text.index(heading) :], re.MULTILINE | re.DOTALL)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


@pytest.fixture
def demo_key(transactional_db) -> str:
    """What `make run` does before the servers start: the demo program, and the key its last line prints."""
    call_command("load_program", str(REPO / "demo" / "program.json"), stdout=StringIO())
    out = StringIO()
    call_command("setup_demo", stdout=out)
    last_line = out.getvalue().rstrip("\n").splitlines()[-1]
    assert last_line.startswith("KEY=lk_"), last_line
    return last_line.removeprefix("KEY=")


def run_block(block: str, *, key: str, base: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Runs the block with bash as a reader would paste it after `make run`, but stopping at the first error.

    The live server runs without DEBUG, so it wants HTTPS: curl says so as a TLS-terminating proxy
    would, through a .curlrc (the block itself is run unchanged but for the port)."""
    (tmp_path / ".curlrc").write_text('header = "X-Forwarded-Proto: https"\n')
    env = {**os.environ, "KEY": key, "CURL_HOME": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run(
        [shutil.which("bash") or "bash", "-euo", "pipefail", "-c", block.replace(DEMO_BASE, base)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_readme_requests_run_as_written_and_again(demo_key, live_server, tmp_path):
    block = readme_block("## The checkout API in")
    assert DEMO_BASE in block and "$KEY" in block

    for run in (1, 2):  # pasted a second time, the block must work again (no reused e-mail or order id)
        result = run_block(block, key=demo_key, base=live_server.url, tmp_path=tmp_path)
        assert result.returncode == 0, f"run {run} failed:\n{result.stdout}\n{result.stderr}"
        assert '"error"' not in result.stderr, result.stderr
        # Every request printed its answer; the capture answered "captured".
        assert "captured" in result.stdout.splitlines(), result.stdout

    assert Member.objects.filter(first_name="Ada").count() == 2
    captured = Hold.objects.filter(member__first_name="Ada")
    assert [hold.status for hold in captured] == ["captured", "captured"]


def test_a_readme_request_the_api_refuses_fails_the_block(demo_key, live_server, tmp_path):
    """The check above can fail: a block whose request the API refuses stops with an error."""
    block = readme_block("## The checkout API in").replace('"total": "42.50"', '"total": "-1"')
    result = run_block(block, key=demo_key, base=live_server.url, tmp_path=tmp_path)
    assert result.returncode != 0 and '"error"' in result.stderr


def test_the_readmes_nginx_block_is_the_sample_files():
    sample = (REPO / "docs" / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert readme_block("### Proxy", language="nginx") in sample


@pytest.mark.parametrize("unit", ["loyalty-web.service", "loyalty-worker.service", "loyalty-beat.service"])
def test_each_sample_units_command_is_the_readmes(unit):
    """An operator runs the README's commands by hand first: the unit must start the same thing."""
    commands = [line.split("#")[0].strip() for line in readme_block("## Running in production").splitlines()]
    text = (REPO / "docs" / "deploy" / unit).read_text(encoding="utf-8")
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", text, re.MULTILINE)
    # The unit runs the checkout's virtualenv by its full path; systemd turns %% into %.
    command = exec_start.removeprefix("/srv/loyalty/.venv/bin/").replace("%%", "%")
    assert command in commands, f"{unit} runs {command!r}, which the README's production commands do not"
    assert re.search(r"^KillMode=mixed$", text, re.MULTILINE)
    assert re.search(r"^EnvironmentFile=/etc/loyalty/loyalty.env$", text, re.MULTILINE)


def test_the_production_steps_make_the_first_login_and_collect_static_files_outside_the_checkout(tmp_path):
    """Issue 9, item 25: the steps create the first staff login, and `collectstatic` writes where STATIC_ROOT
    says, outside the checkout, without creating anything in it (a read-only deployment cannot write there)."""
    commands = [line.split("#")[0].strip() for line in readme_block("## Running in production").splitlines()]
    assert "python manage.py createsuperuser" in commands
    assert "python manage.py collectstatic --noinput" in commands
    [static_root] = [c.removeprefix("export STATIC_ROOT=") for c in commands if c.startswith("export STATIC_ROOT=")]
    assert Path(static_root).is_absolute() and not Path(static_root).is_relative_to(REPO)

    var = tmp_path / "var"  # LOYALTY_VAR_DIR, the checkout's var/ by default: nothing may be written there
    env = {
        **os.environ,
        "STATIC_ROOT": str(tmp_path / "static"), "LOYALTY_VAR_DIR": str(var), "DEBUG": "0",
        "DATABASE_URL": "postgres://loyalty@127.0.0.1:1/loyalty", "CELERY_BROKER_URL": "memory://",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "static" / "admin").is_dir() and not var.exists()


# --- the project stands alone ------------------------------------------------------------------------

# Strings that only make sense next to the team's specs, which a user of the project does not have.
OUTSIDE = re.compile(r"\.\./shared|/work/shared|shared/(?:API|DESIGN|STYLE)\.md|\b(?:DESIGN|STYLE)\.md")
# The API reference is docs/API.md; a bare "API.md" leaves the reader guessing which one.
BARE_API_MD = re.compile(r"(?<![\w/.])API\.md")
MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+)")


UNTRACKED_DIRS = {".git", ".venv", ".venv-lock", "var", ".pytest_cache", ".ruff_cache", ".hypothesis", "__pycache__"}


def tracked_files() -> list[Path]:
    """git's tracked files; outside a git checkout (a source archive), every file but the generated ones."""
    git = shutil.which("git")
    listed = subprocess.run([git, "ls-files", "-z"], cwd=REPO, capture_output=True, check=False) if git else None
    if listed is not None and listed.returncode == 0:
        return [REPO / name for name in listed.stdout.decode().split("\0") if name]
    return [
        path
        for path in REPO.rglob("*")
        if not UNTRACKED_DIRS.intersection(path.relative_to(REPO).parts) and ".egg-info" not in str(path)
    ]


def test_nothing_in_the_project_points_outside_it():
    offenders = []
    for path in tracked_files():
        if path == Path(__file__) or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line) or BARE_API_MD.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
            if path.suffix == ".md":
                for target in MARKDOWN_LINK.findall(line):
                    if "://" in target or target.startswith("mailto:"):
                        continue
                    resolved = (path.parent / target).resolve()
                    if not resolved.is_relative_to(REPO):
                        offenders.append(f"{path.relative_to(REPO)}:{number}: link outside the project: {target}")
    assert not offenders, "\n".join(offenders)
