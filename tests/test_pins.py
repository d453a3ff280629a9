"""Every install takes pinned versions (issue 9, item 7): CI must not depend on what upstream released today.

pyproject.toml keeps the ranges the project works with; requirements/constraints.txt pins every package, direct
or not, and every `pip install` of the Makefile, of CI and of the README's production steps passes it with `-c`
(pip ignores a package the file leaves out, so a missing pin would float)."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "requirements" / "constraints.txt"
PROJECT = "loyalty-backend"
TEST_EXTRAS = {"test"}  # what `make test` installs: `pip install -c ... -e '.[test]'`


def pins() -> dict[str, str]:
    found = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"{CONSTRAINTS.name}: {line!r} is not an exact pin (name==version)"
            found[canonicalize_name(name)] = version.strip()
    return found


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(r) for r in project["dependencies"] + [r for reqs in extras.values() for r in reqs]]


def test_every_dependency_of_every_extra_is_pinned_inside_its_range():
    pinned = pins()
    unpinned = [str(r) for r in project_requirements() if canonicalize_name(r.name) not in pinned]
    outside = [
        f"{r} (pinned {pinned[canonicalize_name(r.name)]})"
        for r in project_requirements()
        if canonicalize_name(r.name) in pinned
        and not r.specifier.contains(pinned[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not unpinned, f"not in {CONSTRAINTS.name}: {unpinned}; run `make lock`"
    assert not outside, f"pins outside pyproject.toml's ranges: {outside}; run `make lock`"


def _installed_closure(extras: set[str]) -> dict[str, str]:
    """Every distribution the project with `extras` needs, by the requirements of the installed metadata:
    name -> installed version."""
    seen: dict[str, str] = {}
    todo = [(PROJECT, frozenset(extras))]
    while todo:
        name, extras = todo.pop()
        dist = metadata.distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        if key != canonicalize_name(PROJECT):
            seen[key] = dist.version
        for raw in dist.requires or []:
            requirement = Requirement(raw)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
                continue
            if canonicalize_name(requirement.name) not in seen:
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def test_everything_the_test_install_brought_is_pinned_at_the_version_installed():
    """`make test` ran `pip install -c requirements/constraints.txt -e '.[test]'`: every package it brought, direct
    or not, must be pinned, and at the version installed (else the file changed and `make` re-installs)."""
    pinned = pins()
    installed = _installed_closure(TEST_EXTRAS)

    assert len(installed) > 20  # the walk did reach the transitive dependencies
    assert {name: version for name, version in installed.items() if pinned.get(name) != version} == {}


INSTALL = re.compile(r"\bpip install\b")


@pytest.mark.parametrize("path", ["Makefile", ".ci/run", ".ci/prod-services", "README.md"])
def test_every_pip_install_takes_the_constraints(path):
    """The one install that does not is `make lock`, which writes the file from pyproject.toml's ranges."""
    text = (REPO / path).read_text(encoding="utf-8")
    if path == "Makefile":
        assert re.search(r"^CONSTRAINTS := requirements/constraints\.txt$", text, re.MULTILINE)
        assert re.search(r"^PIP_INSTALL := .*\bpip install\b.* -c \$\(CONSTRAINTS\)$", text, re.MULTILINE)
        for target in ("$(VENV)/.installed:", "$(VENV)/.installed-test:", "$(VENV)/.installed-bench:"):
            recipe = text[text.index(target) :].split("\n\n", 1)[0]
            assert "$(PIP_INSTALL) -e " in recipe, f"{target} does not install with $(PIP_INSTALL)"
    commands = [line for line in text.splitlines() if INSTALL.search(line) and not line.lstrip().startswith("echo")]
    floating = [
        line.strip()
        for line in commands
        if not re.search(r"-c (?:requirements/constraints\.txt|\$\(CONSTRAINTS\))", line)
        and "$(LOCK_VENV)" not in line  # make lock
    ]
    assert not floating, f"{path} installs without the constraints: {floating}"


@pytest.mark.parametrize("extra", ["redis", "prod"])
def test_the_production_extras_bring_what_kombus_redis_transport_imports(extra):
    """Issue 9, item 24: with bare `redis`, kombu's Redis transport failed on `import packaging` (only kombu's own
    `redis` extra brings it), so the worker and beat could not start on a Redis broker. The extras ask for
    celery[redis]; .ci/prod-services installs `.[prod]` alone and starts both. (The test install holds every
    package `prod` needs, so their metadata can be walked here.)"""
    needed = _installed_closure({extra})
    pinned = pins()

    assert {"celery", "kombu", "redis", "packaging"} <= needed.keys()
    assert {name: version for name, version in needed.items() if pinned.get(name) != version} == {}
