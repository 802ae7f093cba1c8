"""Markdown in article fields: sanitised HTML, plain text with numbered link references."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from digest.markup import clean_invisible, to_html, to_inline_html, to_plain, to_text
from digest.model import RichText


def tags_and_hrefs(html: str) -> tuple[set[str], list[str]]:
    """Every real element name and link target in `html` (escaped text does not count)."""
    tags: set[str] = set()
    hrefs: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.add(tag)
            if tag == "a":
                hrefs.append(dict(attrs).get("href") or "")
            for name, _ in attrs:
                tags.add(f"{tag}[{name}]")

    Collect().feed(html)
    return tags, hrefs


class NumberedRefs:
    """A link_ref callback as the text email uses it: one number per distinct URL."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> str:
        if url not in self.urls:
            self.urls.append(url)
        return f" [{self.urls.index(url) + 1}]"


# --- HTML -----------------------------------------------------------------


def test_markdown_becomes_html():
    html = to_html("Some **bold**, *em* and `code` with [a link](https://example.com/a).\n\n- one\n- two\n\n> quoted")
    assert "<strong>bold</strong>" in html
    assert "<em>em</em>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.com/a">a link</a>' in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<blockquote>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a>',
        "<iframe src='https://evil.example'></iframe>",
        "<style>body{display:none}</style>",
        '<p onclick="alert(1)">x</p>',
    ],
)
def test_raw_html_is_escaped_not_passed_through(source):
    html = to_html(source)
    tags, hrefs = tags_and_hrefs(html)
    assert tags <= {"p"}
    assert hrefs == []
    assert "&lt;" in html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](vbscript:msgbox)",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_targets_are_removed(source):
    _, hrefs = tags_and_hrefs(to_html(source) + to_inline_html(source))
    assert hrefs == []


@pytest.mark.parametrize("url", ["https://example.com/a", "http://example.com/a", "mailto:editor@example.com"])
def test_safe_link_targets_are_kept(url):
    _, hrefs = tags_and_hrefs(to_html(f"[link]({url})"))
    assert hrefs == [url]


def test_tags_outside_the_allow_list_are_dropped():
    tags, _ = tags_and_hrefs(to_html("# Heading\n\n![chart](https://img.example.com/c.png)\n\n---\n\ntext"))
    assert not tags & {"h1", "img", "hr"}
    assert tags <= {"p", "a", "a[href]"}


def test_inline_html_has_no_paragraphs():
    html = to_inline_html("First **bold**\n\nsecond [link](https://example.com/)")
    assert html == 'First <strong>bold</strong> second <a href="https://example.com/">link</a>'


def test_rich_text_renders_on_demand_and_is_false_when_blank():
    text = RichText("A *story*")
    assert text.html == "<p>A <em>story</em></p>"
    assert text.inline_html == "A <em>story</em>"
    assert text.plain == "A story"
    assert not RichText("   \n")
    assert RichText("x")


# --- text -----------------------------------------------------------------


def test_to_text_numbers_link_references():
    refs = NumberedRefs()
    text = to_text(
        "Read [the report](https://example.com/report) and [the site](http://example.org/).\n\n"
        "Again: [the report](https://example.com/report).",
        refs,
    )
    assert text == ("Read the report [1] and the site [2].\n\nAgain: the report [1].")
    assert refs.urls == ["https://example.com/report", "http://example.org/"]


def test_to_text_lists_and_paragraphs():
    text = to_text("Intro with **bold** and `code`.\n\n- one\n- two [x](https://example.com/x)\n\nOutro.")
    assert text == "Intro with bold and code.\n\n- one\n- two x\n\nOutro."


def test_to_text_nested_lists_are_indented():
    assert to_text("- outer\n  - inner\n- last") == "- outer\n  - inner\n- last"


def test_to_text_keeps_code_blocks():
    assert to_text("Before\n\n```\nline 1\nline 2\n```\n\nAfter") == "Before\n\nline 1\nline 2\n\nAfter"


def test_to_text_gives_no_reference_for_unsafe_links():
    refs = NumberedRefs()
    text = to_text("[ftp](ftp://files.example.com/x) and [mail](mailto:a@example.com)", refs)
    assert text == "ftp and mail [1]"
    assert refs.urls == ["mailto:a@example.com"]


def test_to_plain_drops_markup_and_link_targets():
    assert to_plain("**Bold** [link](https://example.com/x) <b>raw</b>") == "Bold link <b>raw</b>"


# --- invisible characters -------------------------------------------------


@pytest.mark.parametrize(
    "char",
    ["\u200b", "\u200c", "\u200e", "\u200f", "\u202a", "\u202e", "\u2060", "\u2066", "\u2069", "\ufeff"],
)
def test_invisible_bidi_and_zero_width_characters_are_removed(char):
    assert clean_invisible(f"pay{char}pal") == "paypal"
    assert char not in to_html(f"pay{char}pal")
    assert char not in to_text(f"pay{char}pal")
    assert char not in to_inline_html(f"pay{char}pal")


def test_zero_width_joiner_in_emoji_is_kept():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_invisible(family) == family


def test_right_to_left_override_cannot_disguise_a_link_text():
    html = to_html("[invoice\u202egpj.exe](https://example.com/x)")
    assert "invoicegpj.exe" in html
