"""The portal's translations: a `.po` file per language in the repository, and the `.mo` Django reads compiled
from it with polib (pure Python: an install needs no gettext tools, and the `.mo` is committed).

`manage.py portal_messages` (`make messages`) refreshes the `.po` files from the templates and the code with
Django's makemessages (which needs GNU gettext's xgettext, msguniq and msgmerge) and compiles them. English is
the source language: the msgids are the English text."""

import contextlib
import shutil
from pathlib import Path

import polib
from django.core.management import call_command

PORTAL_DIR = Path(__file__).resolve().parent
LANGUAGES = ("de",)
GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge")
# No source locations: they churn with every edit and make merges of the .po conflict for nothing.
MAKEMESSAGES_OPTIONS = {"no_location": True, "no_obsolete": True, "verbosity": 0}


def po_path(language: str, root: Path = PORTAL_DIR) -> Path:
    return root / "locale" / language / "LC_MESSAGES" / "django.po"


def mo_path(language: str, root: Path = PORTAL_DIR) -> Path:
    return po_path(language, root).with_suffix(".mo")


def mo_compiled(language: str, root: Path = PORTAL_DIR) -> bytes:
    """The `.mo` that the language's `.po` compiles to."""
    return polib.pofile(str(po_path(language, root))).to_binary()


def gettext_tools_missing() -> list[str]:
    return [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]


def messages_make(root: Path = PORTAL_DIR) -> None:
    """Django's makemessages over the portal's templates and code at `root`, for every language: new strings
    are added untranslated, gone ones dropped. Raises RuntimeError when gettext's tools are missing."""
    missing = gettext_tools_missing()
    if missing:
        raise RuntimeError(
            f"GNU gettext's {', '.join(missing)} not found: install Debian's gettext package "
            "(`apt-get install gettext`, as .ci/run does)"
        )
    with contextlib.chdir(root):
        call_command("makemessages", locale=list(LANGUAGES), **MAKEMESSAGES_OPTIONS)


def messages_compile(root: Path = PORTAL_DIR) -> list[Path]:
    """Write every language's `.mo` from its `.po`; returns the files written."""
    written = []
    for language in LANGUAGES:
        mo_path(language, root).write_bytes(mo_compiled(language, root))
        written.append(mo_path(language, root))
    return written
