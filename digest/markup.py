"""Markdown in article fields: rendered to sanitised HTML, or to plain text.

Raw HTML in Markdown is never passed through: markdown-it escapes it (html
off), and nh3 then keeps only a small allow-list of tags and http(s)/mailto
links, so article text cannot smuggle markup into an email or page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

ALLOWED_TAGS = {"p", "br", "em", "strong", "b", "i", "a", "code", "ul", "ol", "li", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

# Bidi overrides/isolates and zero-width characters: invisible, and able to
# make a link or a name read differently from what it is.
# Control characters (other than tab and newline) are invalid in XML, so in MJML too.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean_invisible(text: str) -> str:
    """Drop control, invisible direction and zero-width characters; CR/LF become LF.

    The zero-width joiner (U+200D) stays: emoji sequences need it.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE.sub("", text)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def _sanitise(html: str) -> str:
    import nh3

    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=None,
    ).strip()


def to_html(source: str) -> str:
    """Block Markdown (paragraphs, lists) to sanitised HTML."""
    return _sanitise(_parser().render(clean_invisible(source)))


def to_inline_html(source: str) -> str:
    """Inline Markdown (emphasis, links, code) to sanitised HTML, no paragraphs."""
    text = " ".join(clean_invisible(source).split())
    return _sanitise(_parser().renderInline(text))


def to_plain(source: str) -> str:
    """Markdown to plain text: the words without markup; link targets dropped."""
    return to_text(source)


def to_text(source: str, link_ref: Callable[[str], str] | None = None) -> str:
    """Markdown to plain text for the text email.

    Paragraphs are separated by a blank line and list items start with "- ".
    Where `link_ref` is given, each link's text is followed by what it returns
    for the link's URL (for example " [3]", a numbered reference).
    """
    tokens = _parser().parse(clean_invisible(source))
    blocks: list[str] = []
    prefix: list[str] = []
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            prefix.append("- ")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            prefix.pop()
        elif token.type == "inline":
            text = _inline_text(token.children or [], link_ref)
            blocks.append(("  " * (len(prefix) - 1) + prefix[-1] if prefix else "") + text)
        elif token.type in ("fence", "code_block"):
            blocks.append(token.content.rstrip("\n"))
    # List items sit on consecutive lines; other blocks are separated by a blank line.
    out: list[str] = []
    for block in blocks:
        if out and not (block.lstrip().startswith("- ") and out[-1].lstrip().startswith("- ")):
            out.append("")
        out.append(block)
    return "\n".join(out).strip()


def _inline_text(children: list[Token], link_ref: Callable[[str], str] | None) -> str:
    parts: list[str] = []
    href: str | None = None
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content or str(child.attrGet("alt") or ""))
        elif child.type == "link_open":
            target = str(child.attrGet("href") or "")
            href = target if target.split(":", 1)[0].lower() in URL_SCHEMES else None
        elif child.type == "link_close":
            if href and link_ref is not None:
                parts.append(link_ref(href))
            href = None
    return "".join(parts).strip()
