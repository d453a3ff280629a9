"""The portal in German and English: every string translated and compiled, numbers and dates localised, and
the language a member or a visitor sees (their `locale`, the browser's Accept-Language, the switch)."""

import datetime as dt
import re
import shutil
from html.parser import HTMLParser

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from loyalty.ledger.services import points_credit
from members.models import Member
from members.portal import translations
from tests.factories import MemberFactory
from tests.support.portal import mails_to, signed_in, signin_token

GERMAN = "de"
PAGES = ("home", "history", "rewards", "vouchers", "subscription", "referral", "profile")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def po_entries(language: str = GERMAN) -> list[polib.POEntry]:
    return [entry for entry in polib.pofile(str(translations.po_path(language))) if not entry.obsolete]


def msgids(po: polib.POFile | list[polib.POEntry]) -> set[tuple[str, str, str]]:
    return {(entry.msgctxt or "", entry.msgid, entry.msgid_plural) for entry in po if not entry.obsolete}


class ElementText(HTMLParser):
    """The text inside the element carrying data-testid=`testid` (its first occurrence)."""

    def __init__(self, testid: str):
        super().__init__()
        self.testid, self.depth, self.parts, self.done = testid, 0, [], False

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if self.depth:
            self.depth += tag not in {"br", "img", "input", "meta", "link", "hr", "wbr"}
        elif dict(attrs).get("data-testid") == self.testid:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and not self.done:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data):
        if self.depth and not self.done:
            self.parts.append(data)


def text_of(page: str, testid: str) -> str:
    parser = ElementText(testid)
    parser.feed(page)
    assert parser.depth or parser.done, f'no data-testid="{testid}" on the page'
    return " ".join(" ".join(parser.parts).split())


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', page)
    assert found, "the page has no <html lang>"
    return found[1]


# --- the .po and the .mo ----------------------------------------------------------------------------------


def test_every_string_has_a_german_translation_none_fuzzy():
    entries = po_entries()
    untranslated = [entry.msgid for entry in entries if not entry.translated()]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    empty_plurals = [entry.msgid for entry in entries if entry.msgid_plural and not all(entry.msgstr_plural.values())]

    assert entries
    assert untranslated == [] and fuzzy == [] and empty_plurals == []


def test_every_plural_has_both_german_forms():
    plurals = [entry for entry in po_entries() if entry.msgid_plural]

    assert plurals
    for entry in plurals:
        assert sorted(entry.msgstr_plural) == [0, 1], entry.msgid


def test_translations_keep_the_placeholders_of_the_english():
    """A placeholder lost or misspelt in German breaks the page at run time (a KeyError in the template)."""
    for entry in po_entries():
        english = sorted(PLACEHOLDER.findall(entry.msgid))
        german = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for text in german:
            assert sorted(PLACEHOLDER.findall(text)) == english, f"{entry.msgid!r} -> {text!r}"


def test_the_portal_says_what_its_po_says_whatever_other_apps_translate():
    """Django merges every app's catalogue; the portal's must win (the admin's "History" is "Geschichte", the
    portal's "Verlauf")."""
    entries = [entry for entry in po_entries() if not entry.msgid_plural]
    with translation.override(GERMAN):
        for entry in entries:
            said = pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt else gettext(entry.msgid)
            assert said == entry.msgstr, entry.msgid


def test_the_committed_mo_is_the_po_compiled():
    for language in translations.LANGUAGES:
        committed = translations.mo_path(language).read_bytes()
        assert committed == translations.mo_compiled(language), (
            f"{translations.mo_path(language)} is stale: run `make messages` (or "
            "`manage.py portal_messages --compile-only`) and commit the .mo"
        )


def test_every_translatable_string_of_the_portal_is_in_the_po(tmp_path):
    """Django's makemessages over a copy of the portal's templates and code finds exactly the msgids of the .po:
    none missing (a string nobody translated) and none left over (text that is gone)."""
    missing_tools = translations.gettext_tools_missing()
    if missing_tools:
        pytest.fail(
            f"GNU gettext's {', '.join(missing_tools)} not found, so the portal's strings cannot be checked: "
            "`apt-get install gettext` (.ci/run installs it when xgettext is missing)"
        )
    copy = tmp_path / "portal"
    shutil.copytree(
        translations.PORTAL_DIR, copy, ignore=shutil.ignore_patterns("locale", "static", "__pycache__", "*.pyc")
    )
    for language in translations.LANGUAGES:
        translations.po_path(language, copy).parent.mkdir(parents=True)

    translations.messages_make(copy)

    for language in translations.LANGUAGES:
        found = msgids(polib.pofile(str(translations.po_path(language, copy))))
        committed = msgids(po_entries(language))
        assert found, "makemessages found no strings"
        assert sorted(found - committed) == [], "strings not in the .po: run `make messages` and translate them"
        assert sorted(committed - found) == [], "strings in the .po that the portal no longer has: `make messages`"


# --- a German page ----------------------------------------------------------------------------------------


@pytest.fixture
def rich(program) -> Member:
    """A member with 1,234 points that expire at the end of October next year."""
    member = MemberFactory(first_name="Jürgen")
    now = timezone.now()
    expires = dt.datetime(now.year + 1, 10, 31, 12, tzinfo=dt.UTC)
    points_credit(member=member, points=1234, now=now, expires_at=expires)
    return member


def overview(member: Member, locale: str) -> str:
    Member.objects.filter(pk=member.pk).update(locale=locale)
    response = signed_in(member).get("/portal/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_german_member_reads_german_with_german_numbers_and_dates(rich):
    page = overview(rich, "de")

    assert html_lang(page) == "de"
    assert "Übersicht" in page and "Verlauf" in page and "Abmelden" in page and "Hallo Jürgen" in page
    assert re.search(r"\b1\.234\b", text_of(page, "balance-available"))
    assert "Punkte" in page
    assert re.search(r"\b31\. Okt\. \d{4}\b", text_of(page, "next-expiry"))  # not "31 Okt"


def test_an_english_member_reads_english_with_english_numbers_and_dates(rich):
    page = overview(rich, "en")

    assert html_lang(page) == "en"
    assert "Overview" in page and "Sign out" in page
    assert re.search(r"\b1,234\b", text_of(page, "balance-available"))
    assert "points" in page and "Punkte" not in page
    assert re.search(r"\b31 Oct \d{4}\b", text_of(page, "next-expiry"))


# --- which language -----------------------------------------------------------------------------------------


def test_a_visitor_gets_the_language_their_browser_asks_for(db):
    german = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5").get("/portal/login")
    french = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").get("/portal/login")

    assert html_lang(german.content.decode()) == "de" and "Anmeldelink schicken" in german.content.decode()
    assert html_lang(french.content.decode()) == "en" and "Send me a sign-in link" in french.content.decode()


def test_a_signed_in_member_sees_their_locale_whatever_the_browser_asks_for(member):
    Member.objects.filter(pk=member.pk).update(locale="de")
    client = signed_in(member, Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="en-GB,en"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get("/portal/").content.decode()

    assert html_lang(page) == "de" and "Übersicht" in page


def switch(client: Client, language: str, next_url: str = "/portal/login"):
    return client.post("/portal/language", {"language": language, "next": next_url})


def test_the_switch_changes_a_visitors_language_and_keeps_the_page(visitor, db):
    response = switch(visitor, "de", "/portal/join?ref=ABC")

    assert response.status_code == 302 and response["Location"] == "/portal/join?ref=ABC"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "de" and cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"]
    page = visitor.get("/portal/join", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html_lang(page) == "de" and "Jetzt Mitglied werden" in page

    switch(visitor, "en")
    assert html_lang(visitor.get("/portal/login").content.decode()) == "en"


def test_the_switch_changes_the_members_locale_so_pages_and_mails_follow(member, visitor):
    portal = signed_in(member)

    response = switch(portal, "de", "/portal/rewards")

    assert response["Location"] == "/portal/rewards"
    member.refresh_from_db()
    assert member.locale == "de"
    assert html_lang(portal.get("/portal/").content.decode()) == "de"
    visitor.post("/portal/login", {"email": member.email})  # another device, an English browser
    (mail,) = mails_to(member.email)
    assert "Anmeldelink" in mail.subject


def test_the_switch_on_every_page_signed_in_and_out(member, visitor):
    """Every page carries the switch, pointing back at itself."""
    portal = signed_in(member)
    pages = [reverse(f"portal:{name}") for name in PAGES]
    for client, paths in ((visitor, ["/portal/login", "/portal/join", "/portal/login/not-a-token"]), (portal, pages)):
        for path in paths:
            page = client.get(path).content.decode()
            assert 'data-testid="language"' in page and f'name="next" value="{path}"' in page, path


def test_the_switch_shows_which_language_is_on(visitor, db):
    page = visitor.get("/portal/login", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert re.search(r'<button[^>]*value="de"[^>]*aria-pressed="true"', page)
    assert re.search(r'<button[^>]*value="en"[^>]*lang="en"[^>]*aria-label="English"[^>]*aria-pressed="false"', page)


def test_the_switch_goes_back_only_to_this_site(visitor, db):
    for elsewhere in ("https://evil.example/portal/", "//evil.example/", "javascript:alert(1)", "portal:logout", ""):
        response = switch(visitor, "de", elsewhere)
        assert response.status_code == 302 and response["Location"] == "/portal/", elsewhere


def test_an_unknown_language_changes_nothing(member):
    portal = signed_in(member)

    response = switch(portal, "fr", "/portal/profile")

    assert response["Location"] == "/portal/profile"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    member.refresh_from_db()
    assert member.locale == "en"


def test_the_switch_needs_the_csrf_token(member):
    portal = signed_in(member, Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True))

    assert switch(portal, "de").status_code == 403
    member.refresh_from_db()
    assert member.locale == "en"


def test_signing_in_remembers_the_members_language_for_after_signing_out(visitor, member):
    Member.objects.filter(pk=member.pk).update(locale="de")
    visitor.post("/portal/login", {"email": member.email})
    visitor.post(f"/portal/login/{signin_token(member.email)}")
    visitor.post("/portal/logout")

    page = visitor.get("/portal/login", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html_lang(page) == "de"
