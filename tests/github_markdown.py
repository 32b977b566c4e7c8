"""GitHub's own Markdown parser (cmark-gfm with GitHub's extensions), as the tests' reference reader."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

EXTENSIONS = ["autolink", "tagfilter", "table", "strikethrough", "tasklist"]
# What GitHub's filters over the rendered HTML act on, in text outside code and links: mentions,
# issue references (#12, GH-12, owner/repo#12), and what would have been an autolink.
LIVE_PATTERNS = re.compile(r"@[A-Za-z0-9]|#[0-9]|\bGH-[0-9]|[A-Za-z]://|\bwww\.", re.IGNORECASE)


def render(markdown: str) -> str:
    """HTML as GitHub renders it (raw HTML kept, as GitHub keeps the safe part of it)."""
    html: str = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=EXTENSIONS
    )
    return html


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.checkboxes = 0
        self.outside_code: list[str] = []
        self._inert = 0  # depth in <code>, <pre> or <a>, where GitHub's filters do not act

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag == "input" and dict(attrs).get("type") == "checkbox":
            self.checkboxes += 1
        if tag in ("code", "pre", "a"):
            self._inert += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "pre", "a"):
            self._inert -= 1

    def handle_data(self, data: str) -> None:
        if not self._inert:
            self.outside_code.append(data)


def read(markdown: str) -> _Reader:
    reader = _Reader()
    reader.feed(render(markdown))
    reader.close()
    return reader


def live_text(markdown: str) -> list[str]:
    """Mentions, references and would-be links GitHub's filters would act on in the rendered text."""
    return LIVE_PATTERNS.findall("\n".join(read(markdown).outside_code))
