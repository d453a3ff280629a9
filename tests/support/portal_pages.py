"""Reading the portal's pages as a test does: the elements a `data-testid` marks, their text and attributes."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Marked:
    testid: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)
    inner: list[str] = field(default_factory=list)  # the raw markup inside

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    @property
    def number(self) -> int:
        """The element's text as an integer (1,234 and 1.234 alike; a leading + or - kept)."""
        digits = re.sub(r"[^\d+\-]", "", self.text)
        return int(digits)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Marked] = []
        self.open: list[tuple[str, Marked | None]] = []

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        for _, marked in self.open:
            if marked is not None:
                marked.inner.append(self.get_starttag_text() or "")
        marked = Marked(attrs["data-testid"], attrs) if "data-testid" in attrs else None
        if marked is not None:
            self.found.append(marked)
        if tag not in VOID:
            self.open.append((tag, marked))

    def handle_startendtag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        for _, marked in self.open:
            if marked is not None:
                marked.inner.append(self.get_starttag_text() or "")
        if "data-testid" in attrs:
            self.found.append(Marked(attrs["data-testid"], attrs))

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                break
        for _, marked in self.open:
            if marked is not None:
                marked.inner.append(f"</{tag}>")

    def handle_data(self, data):
        for _, marked in self.open:
            if marked is not None:
                marked.parts.append(data)
                marked.inner.append(data)


def marked(html: str | bytes, testid: str) -> list[Marked]:
    """Every element with `data-testid="<testid>"`, in page order."""
    reader = _Reader()
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    return [element for element in reader.found if element.testid == testid]


def one(html: str | bytes, testid: str) -> Marked:
    found = marked(html, testid)
    assert len(found) == 1, f"{len(found)} elements with data-testid={testid!r}"
    return found[0]
