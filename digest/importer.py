"""`digest import`: turn feeds and article pages into article files, idempotently.

For each source, in order:

1. fetch its bytes: a file, or an http(s) URL with a timeout and a byte limit;
2. read them into candidate articles: RSS 2.0, RSS 1.0 and Atom with feedparser,
   JSON Feed with `json`, and article pages in the layout of the seed document
   (plain text or HTML) with the page reader below;
3. match every candidate against the content folder and the import's own record
   (feed GUID, normalised URL, normalised title): a story is never added twice;
4. write new files atomically, never over an existing file. With `update`, a file
   is rewritten only when this import wrote it and nobody has edited it since:
   the import keeps the SHA-256 of every file it wrote in a small state file
   (`.digest-import.json`, hidden, so the content loader skips it) and compares.

A source that cannot be fetched or read is reported and writes nothing; the other
sources still import. Article text is untrusted: HTML is reduced to text with
`html.parser` (never a regular expression alone), every file is validated with
`digest.content.parse_article` before it is written, and file names are slugs
made here, never paths taken from a feed. Nothing here reads the clock: `now`
comes in as an argument.
"""

from __future__ import annotations

import calendar
import hashlib
import html.parser
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urljoin, urlsplit

import yaml

from digest import __version__
from digest.content import iter_content_files, load_articles, parse_article, read_yaml
from digest.errors import ContentError, Problem, UsageError, display_path
from digest.files import write_atomic
from digest.markup import clean_invisible
from digest.select import normalise_title, normalise_url

IMPORT_FOLDER = "imported"
STATE_NAME = ".digest-import.json"
DEFAULT_CATEGORY = "News"
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 10_000_000
SEARCH_URL = "https://duckduckgo.com/?q="
MAX_TITLE = 300
MAX_SUMMARY = 1500
MAX_TEXT = 20_000
MAX_SLUG = 60
MAX_CATEGORIES = 8
# Written at the top of every imported file; no date or source in it, so the same
# entry always renders to the same bytes and a re-import can tell "unchanged".
FILE_HEADER = (
    "# Imported by `digest import`. Edit freely: an edited file is never rewritten,\n"
    "# not even by `digest import --update`.\n"
)

STATUSES = ("added", "updated", "changed", "duplicate", "skipped", "failed")


# --- results ------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """The bytes of one source; `url` is the final address of an http(s) source (None for a file)."""

    data: bytes
    url: str | None = None
    content_type: str | None = None


Fetcher = Callable[[str], Fetched]


@dataclass
class ImportedItem:
    """What happened to one entry: its status, where its file is, and why."""

    status: str  # one of STATUSES
    source: str
    title: str
    path: str | None = None  # the article file, relative to `into` (or as the user reads it)
    id: str | None = None
    url: str | None = None
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source": self.source,
            "title": self.title,
            "path": self.path,
            "id": self.id,
            "url": self.url,
            "reason": self.reason,
            "warnings": list(self.warnings),
        }


@dataclass
class SourceResult:
    """One source as a whole: what it was, and the error that stopped it (if any)."""

    source: str
    kind: str | None = None  # rss20, rss10, atom10, json, page, ...
    title: str | None = None
    error: Problem | None = None
    warnings: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "title": self.title,
            "error": self.error.to_dict() if self.error else None,
            "warnings": [p.to_dict() for p in self.warnings],
        }


@dataclass
class ImportReport:
    """Everything one import did (or, with `dry_run`, would do)."""

    into: str
    dry_run: bool = False
    sources: list[SourceResult] = field(default_factory=list)
    items: list[ImportedItem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many entries ended in each status, plus `failed_sources`."""
        out = {status: 0 for status in STATUSES}
        for item in self.items:
            out[item.status] += 1
        out["failed_sources"] = sum(1 for s in self.sources if s.error is not None)
        return out

    @property
    def ok(self) -> bool:
        """True when no source and no entry failed (warnings and changes are fine)."""
        counts = self.counts()
        return counts["failed"] == 0 and counts["failed_sources"] == 0

    def problems(self) -> list[Problem]:
        """Source errors, failed entries and warnings, as problems to print."""
        out: list[Problem] = []
        for source in self.sources:
            if source.error is not None:
                out.append(source.error)
            out.extend(source.warnings)
        for item in self.items:
            if item.status == "failed":
                out.append(Problem(item.source, item.title, item.reason))
            out.extend(Problem(item.source, item.title, w, severity="warning") for w in item.warnings)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "into": self.into,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "sources": [s.to_dict() for s in self.sources],
            "items": [i.to_dict() for i in self.items],
        }


# --- fetching ---------------------------------------------------------------


def fetch_source(source: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> Fetched:
    """The bytes of a file or an http(s) URL, at most `max_bytes` of them, within `timeout` seconds.

    Raises ContentError naming the source, what went wrong and what to do.
    """
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_url(source, timeout, max_bytes)
    if "://" in source or scheme in ("file", "ftp", "data", "javascript"):
        raise _source_error(source, "is neither an http(s) URL nor a file", "give an https:// address or a file path")
    path = Path(source)
    try:
        if path.is_dir():
            raise _source_error(source, "is a folder", "name the feed or page files in it")
        size = path.stat().st_size
        if size > max_bytes:
            raise _source_error(source, f"is {_mb(size)}, more than the limit of {_mb(max_bytes)}", _size_fix())
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise _source_error(source, "does not exist", "check the path, or give a full https:// URL") from None
    except OSError as exc:
        raise _source_error(source, f"cannot be read: {exc.strerror}", "check its permissions") from None
    if len(data) > max_bytes:
        raise _source_error(source, f"is more than the limit of {_mb(max_bytes)}", _size_fix())
    return Fetched(data)


def _fetch_url(url: str, timeout: float, max_bytes: int) -> Fetched:
    import http.client
    import socket
    import urllib.error
    import urllib.request

    class HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
            if urlsplit(newurl).scheme.lower() not in ("http", "https"):
                raise urllib.error.URLError(f"redirected to a non-http address ({newurl})")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    host = (urlsplit(url).hostname or "").lower()
    handlers: list[Any] = [HttpOnlyRedirects()]
    if host in ("localhost", "127.0.0.1", "::1"):
        handlers.append(urllib.request.ProxyHandler({}))  # a proxy cannot reach this machine's loopback
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) above
        url,
        headers={
            "User-Agent": f"digest/{__version__} (feed import)",
            "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/json, "
            "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, text/plain;q=0.7, */*;q=0.5",
        },
    )
    # The socket timeout bounds each wait; the deadline bounds a server that sends one byte at a time.
    deadline = time.monotonic() + timeout
    timeout_error = _source_error(
        url, f"did not answer within {timeout:g} seconds", "try again later or raise --timeout"
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.strip().isdigit() and int(length) > max_bytes:
                raise _source_error(url, f"is {_mb(int(length))}, more than the limit of {_mb(max_bytes)}", _size_fix())
            chunks: list[bytes] = []
            total = 0
            while True:
                if time.monotonic() > deadline:
                    raise timeout_error
                chunk = response.read1(65536)  # what has arrived, so the deadline is checked between bytes
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise _source_error(url, f"is more than the limit of {_mb(max_bytes)}", _size_fix())
                chunks.append(chunk)
            return Fetched(b"".join(chunks), response.geturl(), response.headers.get("Content-Type"))
    except urllib.error.HTTPError as exc:
        raise _source_error(url, f"answered HTTP {exc.code} {exc.reason}", "check the address in a browser") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise timeout_error from None
        if isinstance(reason, socket.gaierror):
            fix = "check the address and your connection: are you offline?"
            raise _source_error(url, f"cannot be reached: no such host {host!r}", fix) from None
        if isinstance(reason, ConnectionRefusedError):
            raise _source_error(
                url, "refused the connection", "check the address and port; is the server up?"
            ) from None
        text = getattr(reason, "strerror", None) or str(reason)
        raise _source_error(url, f"cannot be reached: {text}", "check the address and your connection") from None
    except TimeoutError:
        raise timeout_error from None
    except http.client.IncompleteRead:
        raise _source_error(url, "was cut off during the download", "try again; nothing was imported from it") from None
    except (OSError, http.client.HTTPException) as exc:
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise _source_error(url, f"failed during the download: {text}", "try again later") from None


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _size_fix() -> str:
    return "a feed or page this large is not an article source; raise --max-size if it really is"


def _source_error(source: str, message: str, fix: str = "") -> ContentError:
    return ContentError(f"{source} {message}", [Problem(source, "", message, fix)])


# --- HTML to text -------------------------------------------------------------

# Never shown as text: code, styling, embedded documents, controls, menus and page footers.
_SKIP_TAGS = {
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
    "select", "textarea", "button", "nav", "canvas", "audio", "video", "footer",
}  # fmt: skip
_BLOCK_TAGS = {
    "p", "div", "section", "article", "aside", "header", "main", "h1", "h2", "h3",
    "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "table", "tr",
    "td", "th", "figure", "figcaption", "hr", "address", "details", "summary", "body", "html",
    "caption", "form", "fieldset", "legend",
}  # fmt: skip
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
# `<link rel="alternate">` types that point a page's reader to its feed.
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}


@dataclass(frozen=True)
class Block:
    """One block of a page: a paragraph, heading or list item, as text.

    `segments` are the pieces of text between tags (`<a>A</a><a>B</a>` gives A, B),
    which is how a run of category links is told apart; `href` is the first link in
    or around the block.
    """

    text: str
    tag: str = "p"
    segments: tuple[str, ...] = ()
    href: str | None = None

    @property
    def is_heading(self) -> bool:
        return self.tag in _HEADINGS


class _HtmlReader(html.parser.HTMLParser):
    """HTML to blocks of text; scripts, styles and embeds are dropped with their content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.feed_links: list[str] = []
        self.times: list[str] = []
        self.images: list[tuple[str, str]] = []
        self.doc_title = ""
        self._skip: list[str] = []
        self._open: list[str] = []
        self._links: list[str | None] = []
        self._pieces: list[str] = []
        self._block_href: str | None = None
        self._in_title = False

    # Text is collected in pieces; a tag boundary starts a new piece.
    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.doc_title += data
            return
        # Newlines in HTML source are spaces; only <br> breaks a line.
        self._pieces.append(data.replace("\n", " "))

    def _boundary(self) -> None:
        if self._pieces and self._pieces[-1] != "\x1f":
            self._pieces.append("\x1f")

    def _flush(self, tag: str) -> None:
        raw = "".join(self._pieces)
        self._pieces = []
        href, self._block_href = self._block_href, None
        lines = [" ".join(line.replace("\x1f", "").split()) for line in raw.split("\n")]
        text = "\n".join(line for line in lines if line)
        if not text:
            return
        segments = tuple(s for s in (" ".join(p.split()) for p in raw.split("\x1f")) if s)
        if href is None:
            href = next((h for h in reversed(self._links) if h), None)
        self.blocks.append(Block(text, tag, segments, href))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k.lower(): (v or "") for k, v in attrs}
        if self._skip:
            if tag == self._skip[-1] and tag not in _VOID_TAGS:
                self._skip.append(tag)
            return
        if tag in _SKIP_TAGS:
            if tag not in _VOID_TAGS:
                self._skip.append(tag)
            return
        if tag == "title":
            self._in_title = True
            return
        if tag == "meta":
            key = (attr.get("property") or attr.get("name") or attr.get("itemprop") or "").lower()
            if key and "content" in attr:
                self.meta.setdefault(key, attr["content"])
            return
        if tag == "link":
            rel = attr.get("rel", "").lower().split()
            if "canonical" in rel and attr.get("href"):
                self.canonical = self.canonical or attr["href"]
            if "alternate" in rel and attr.get("type", "").lower() in FEED_TYPES and attr.get("href"):
                self.feed_links.append(attr["href"])
            return
        if tag == "time" and attr.get("datetime"):
            self.times.append(attr["datetime"])
        if tag == "img":
            if attr.get("src"):
                self.images.append((attr["src"], attr.get("alt", "")))
            return
        if tag == "br":
            self._pieces.append("\n")
            return
        if tag in _BLOCK_TAGS:
            self._flush(self._open[-1] if self._open else "p")
            self._open.append(tag)
            return
        self._boundary()
        if tag == "a":
            href = attr.get("href") or None
            self._links.append(href)
            if self._block_href is None and href:
                self._block_href = href

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag == "title":
            self._in_title = False
            return
        if tag in _BLOCK_TAGS:
            self._flush(tag if tag in self._open else (self._open[-1] if self._open else "p"))
            if tag in self._open:
                while self._open and self._open.pop() != tag:
                    pass
            return
        self._boundary()
        if tag == "a" and self._links:
            self._links.pop()

    def close(self) -> None:
        super().close()
        self._skip = []
        self._flush(self._open[-1] if self._open else "p")


def read_html(markup: str) -> _HtmlReader:
    """Parse HTML into blocks of text, metadata, links and images (nothing is executed or fetched)."""
    text = clean_text(markup, keep_newlines=True)
    reader = _HtmlReader()
    try:
        reader.feed(text)
        reader.close()
    except AssertionError:
        # Python's html.parser asserts on malformed "<![...[" sections (found by fuzz/fuzz_page.py);
        # read the page again without them.
        reader = _HtmlReader()
        reader.feed(re.sub(r"<!\[(?!CDATA\[)", "&lt;![", text))
        reader.close()
    return reader


def html_to_text(markup: str, *, markdown: bool = False) -> str:
    """HTML reduced to plain text: paragraphs separated by blank lines, list items as `- item`.

    With `markdown`, characters Markdown would read as markup are escaped, so the
    text shows as written once the article's Markdown is rendered.
    """
    if "<" not in markup and "&" not in markup:
        blocks = [Block(" ".join(p.split())) for p in re.split(r"\n\s*\n", clean_text(markup, keep_newlines=True))]
    else:
        blocks = read_html(markup).blocks
    return blocks_to_text(blocks, markdown=markdown)


def blocks_to_text(blocks: Iterable[Block], *, markdown: bool = False) -> str:
    """Blocks joined as text paragraphs; consecutive list items on consecutive lines."""
    out: list[str] = []
    previous_li = False
    for block in blocks:
        text = escape_markdown(block.text) if markdown else block.text
        if not text:
            continue
        is_li = block.tag == "li"
        if is_li:
            text = "- " + text
        if out:
            out.append("\n" if is_li and previous_li else "\n\n")
        out.append(text)
        previous_li = is_li
    return "".join(out).strip()


def clean_text(text: str, *, keep_newlines: bool = False) -> str:
    """Invisible and control characters removed; Unicode composed (NFC)."""
    text = clean_invisible(unicodedata.normalize("NFC", text)).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    return text if keep_newlines else " ".join(text.split())


_MD_INLINE = re.compile(r"([\\`*_\[\]])")
_MD_LINE_MARK = re.compile(r"^(\s*)([#>+-])", re.MULTILINE)
_MD_LINE_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """Backslash-escape what Markdown would read as emphasis, links, code, headings or lists."""
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LINE_MARK.sub(r"\1\\\2", text)
    return _MD_LINE_NUMBER.sub(r"\1\\\2", text)


def plain_line(value: Any, *, html_markup: bool | None = None, limit: int = MAX_TITLE) -> str:
    """A title-like value as one line of plain text, HTML reduced, clipped to `limit` characters.

    `html_markup=None` reduces only text that contains tags or entities.
    """
    if value is None:
        return ""
    text = str(value)
    if html_markup or (html_markup is None and re.search(r"<[A-Za-z/!]|&[#A-Za-z0-9]+;", text)):
        text = " ".join(b.text for b in read_html(text).blocks)
    return clip(clean_text(text), limit)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a sentence or word end, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    sentence = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence > limit // 2:
        return cut[: sentence + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-") + "…"


# --- dates and addresses ------------------------------------------------------


def parse_feed_date(value: Any) -> date | datetime | None:
    """An RFC 822 (RSS) or RFC 3339/ISO 8601 (Atom, JSON Feed) date, keeping its offset.

    A datetime without an offset is taken as UTC, as feed readers do; a bare
    date stays a date. None when the text is not a date.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text.replace("z", "Z").replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.replace(microsecond=0)


def format_when(when: date | datetime) -> str:
    """ISO text for a date field: `2026-11-24` or `2026-11-24T09:30:00+08:00`."""
    if isinstance(when, datetime):
        return when.isoformat(timespec="seconds")
    return when.isoformat()


def _as_datetime(when: date | datetime, tz: Any) -> datetime:
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=tz)
    return datetime(when.year, when.month, when.day, tzinfo=tz)


def absolute_url(link: Any, base: str | None) -> str | None:
    """`link` resolved against `base`, percent-encoding spaces; None unless it is http(s)."""
    if not isinstance(link, str) or not link.strip():
        return None
    link = clean_text(link)
    try:
        url = urljoin(base, link) if base else link
        url = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # an unbalanced "[" in the host, a bad port (found by fuzz/fuzz_page.py)
        return None
    return url


def search_url(*words: str) -> str:
    """A web search for a story that came without a link: its quoted title, then its source."""
    quoted = [f'"{words[0]}"', *words[1:]] if words else []
    return SEARCH_URL + quote_plus(" ".join(w for w in quoted if w))


def slugify(text: str, limit: int = MAX_SLUG) -> str:
    """A file name from a title: `[a-z0-9-]`, at most `limit` characters, cut at a word."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > limit:
        cut = slug[:limit]
        slug = cut[: cut.rfind("-")] if "-" in cut[limit // 2 :] else cut
    return slug.strip("-")


def week_folder(when: date | datetime) -> str:
    """The folder of an article's ISO week, like the sample corpus: `2026-w48`."""
    day = when.date() if isinstance(when, datetime) else when
    year, week, _ = day.isocalendar()
    return f"{year}-w{week:02d}"


# --- categories -----------------------------------------------------------------


def load_category_map(path: Path) -> dict[str, tuple[str, ...]]:
    """Read a category map: YAML (or JSON) `feed category: your category`.

    A value may be a list (one feed category becomes several) or empty/null
    (the category is dropped). Keys match case-insensitively.
    """
    shown = display_path(path)
    try:
        data = read_yaml(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        problem = Problem(shown, "", f"cannot be read: {exc.strerror}", "check --category-map")
        raise ContentError(f"cannot read the category map {shown}", [problem]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem = Problem(
            shown, "", f"is not valid YAML: {reason}", "write one `feed category: your category` per line"
        )
        raise ContentError(f"the category map {shown} is not valid YAML", [problem]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        problem = Problem(shown, "", "is not a mapping", "write one `feed category: your category` per line")
        raise ContentError(f"the category map {shown} is not a mapping", [problem])
    out: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    for key, value in data.items():
        values = [] if value is None else value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            problems.append(
                Problem(
                    shown,
                    str(key),
                    "must map to a name, a list of names or nothing",
                    "e.g. `AI: Artificial Intelligence`",
                )
            )
            continue
        names = tuple(n for n in (clean_text(str(v)) for v in values) if n)
        out[clean_text(str(key)).casefold()] = names
    if problems:
        raise ContentError(f"the category map {shown} has {len(problems)} problem(s)", problems)
    return out


def map_categories(raw: Iterable[str], category_map: Mapping[str, Sequence[str]], default: str) -> list[str]:
    """Feed categories through the map (unmapped ones kept), each once; `default` when none is left."""
    seen: dict[str, str] = {}
    for name in raw:
        name = clip(clean_text(name), 80)
        if not name:
            continue
        mapped = category_map.get(name.casefold())
        for out in (name,) if mapped is None else mapped:
            seen.setdefault(out.casefold(), out)
    names = list(seen.values())[:MAX_CATEGORIES]
    return names or [default]


def split_category_line(block: Block, known: Iterable[str] = ()) -> list[str]:
    """The categories of a page's category line.

    In HTML each category is its own element. In the plain-text form they run
    together ("Industry NewsAlibabaArtificial Intelligence"); they are split
    at separators, else where a lower-case letter meets a capital, and pieces are
    joined back when together they spell a category already known (`OpenAI`).
    """
    if len(block.segments) > 1:
        return list(block.segments)
    text = block.text
    if re.search(r"[,·|•;\t]|\s/\s|\s{2,}", text):
        return [p.strip() for p in re.split(r"\s*(?:[,·|•;\t]|\s/\s|\s{2,})\s*", text) if p.strip()]
    pieces = [p for p in re.split(r"(?<=[a-z0-9)])(?=[A-Z])", text) if p]
    known_keys = {k.casefold().replace(" ", "") for k in known}
    out: list[str] = []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i + 1, -1):
            if "".join(pieces[i:j]).casefold().replace(" ", "") in known_keys:
                out.append("".join(pieces[i:j]).strip())
                i = j
                break
        else:
            out.append(pieces[i].strip())
            i += 1
    return [p for p in out if p]


# --- candidates: what a source says, before matching ------------------------------


@dataclass
class Candidate:
    """One article read from a source, not yet matched or written."""

    where: str  # "entry 3", "page", "related news 2"
    title: str
    url: str | None
    published: date | datetime | None
    source: str
    categories: list[str]
    summary: str
    guid: str | None = None
    feed: str = ""  # the feed's id, link or title: entries without a GUID are matched within their feed
    role: str = "entry"  # entry | page | related
    date_guessed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # key_takeaways, analysis, impact, faq, image, author
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # why this entry cannot be imported

    def fields(self, related_to: str | None = None) -> dict[str, Any]:
        """The article file's fields, in the order an editor reads them."""
        data: dict[str, Any] = {
            "title": self.title,
            "url": self.url,
            "date": format_when(self.published) if self.published is not None else None,
            "source": self.source,
            "categories": self.categories,
            "summary": self.summary,
        }
        for key in ("key_takeaways", "analysis", "impact", "faq", "image", "author"):
            if self.extra.get(key):
                data[key] = self.extra[key]
        if related_to:
            data["related_to"] = related_to
        return data


@dataclass
class ParsedSource:
    kind: str
    title: str
    candidates: list[Candidate]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    """What reading a source needs besides its bytes."""

    now: datetime
    category_map: Mapping[str, Sequence[str]]
    default_category: str
    known_categories: frozenset[str] = frozenset()
    page_url: str | None = None
    page_date: date | datetime | None = None


def read_source(source: str, fetched: Fetched, options: ReadOptions) -> ParsedSource:
    """Read a fetched source as a feed or an article page; raises ContentError if it is neither."""
    kind = sniff(fetched.data, fetched.content_type)
    if kind == "json":
        return read_json_feed(source, fetched, options)
    if kind == "xml":
        return read_xml_feed(source, fetched, options)
    return read_page(source, fetched, options, html_form=kind == "html")


def sniff(data: bytes, content_type: str | None = None) -> str:
    """What a source is, from its first bytes: `json`, `xml` (a feed), `html` or `text`."""
    head = data[:4096]
    text = (
        head.decode("utf-16", errors="ignore")
        if head.startswith((b"\xff\xfe", b"\xfe\xff"))
        else head.decode("latin-1")
    )
    text = text.lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    if text.startswith(("{", "[")):
        return "json"
    if not text.startswith("<"):
        ctype = (content_type or "").split(";")[0].strip().lower()
        return "json" if ctype in ("application/json", "application/feed+json") else "text"
    low = text.lower()
    if "<!doctype html" in low[:512]:
        return "html"
    match = re.search(r"<([a-z][\w:.-]*)", re.sub(r"<!--.*?-->|<\?.*?\?>|<!doctype[^>]*>", "", low, flags=re.S))
    name = match.group(1) if match else ""
    if name in ("rss", "feed", "channel") or name.endswith(":rdf") or name == "rdf":
        return "xml"
    if name in ("html", "head", "body", "article", "main", "div", "section", "p", "h1", "meta", "title"):
        return "html"
    return "xml"


def decode_text(data: bytes, content_type: str | None, *, html_form: bool) -> tuple[str, str | None]:
    """Bytes of a page as text, and a warning when the encoding had to be guessed.

    A byte-order mark wins, then a charset from the HTTP header or `<meta>`,
    then UTF-8; anything else is read as Windows-1252 with a warning.
    """
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace"), None
    # Sniffing the declared charset from the raw bytes; the markup itself is parsed by html.parser later.
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    declared: str | None = match.group(1) if match else None
    if declared is None and html_form:
        meta = re.search(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", data[:4096], re.IGNORECASE)
        declared = meta.group(1).decode("ascii") if meta else None
    for codec in [c for c in (declared, "utf-8") if c]:
        try:
            return data.decode(codec), None
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace"), "is not UTF-8 and declares no encoding; read as Windows-1252"


# --- feeds ---------------------------------------------------------------------


def read_xml_feed(source: str, fetched: Fetched, options: ReadOptions) -> ParsedSource:
    """RSS 2.0, RSS 1.0 or Atom, with feedparser (given bytes, never a URL: it fetches nothing)."""
    import xml.sax

    import feedparser

    headers = {"content-location": fetched.url} if fetched.url else {}
    if fetched.content_type:
        headers["content-type"] = fetched.content_type
    try:
        parsed = feedparser.parse(
            fetched.data, response_headers=headers, resolve_relative_uris=True, sanitize_html=True
        )
    except Exception as error:  # feedparser itself fails on some malformed encodings (found by fuzz/fuzz_page.py)
        raise _source_error(
            source, f"cannot be read as a feed ({type(error).__name__})", "check that it is an RSS or Atom feed"
        ) from None
    warnings: list[str] = []
    version = parsed.get("version") or ""
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        if isinstance(exc, xml.sax.SAXException) or type(exc).__name__ in ("SAXParseException", "NonXMLContentType"):
            where = ""
            if isinstance(exc, xml.sax.SAXParseException):
                where = f" (line {exc.getLineNumber()}, column {exc.getColumnNumber()})"
            reason = f"{exc.getMessage() if isinstance(exc, xml.sax.SAXException) else exc}{where}"
            if _looks_truncated(fetched.data):
                raise _source_error(
                    source, f"is truncated XML: {reason}; nothing was imported from it", "download it again"
                )
            warnings.append(f"is not well-formed XML: {reason}; read leniently, check the result")
        elif type(exc).__name__ == "CharacterEncodingOverride":
            warnings.append(f"{exc}; check accented letters in the result")
        elif exc is not None:
            warnings.append(f"has a problem: {exc}")
    if not version or not version.startswith(("rss", "atom")):
        raise _source_error(source, "is XML but not an RSS or Atom feed", "give the address of the feed itself")
    feed = parsed.get("feed", {})
    base = absolute_url(feed.get("link"), fetched.url) or fetched.url
    title = plain_line(feed.get("title"), limit=120) or _host_name(base or source)
    # dict.get: feedparser's own `get("updated")` falls back to `published` with a DeprecationWarning.
    feed_date = parse_feed_date(dict.get(feed, "updated") or feed.get("published"))
    # Which feed this is, for GUIDs that are only unique inside it: its id, its own address, else link and title.
    own = next((lnk.get("href") for lnk in feed.get("links", []) if lnk.get("rel") == "self" and lnk.get("href")), None)
    scope = str(feed.get("id") or own or fetched.url or f"{feed.get('link', '')}|{title}")
    candidates = []
    for index, entry in enumerate(parsed.get("entries", []), start=1):
        candidates.append(_feed_entry(entry, index, base, title, scope, feed_date, options))
    return ParsedSource(version, title, candidates, warnings)


def _looks_truncated(data: bytes) -> bool:
    """True when the document stops before its root element is closed."""
    tail = data[-1024:].lower()
    tail = re.sub(rb"(\s*<!--(?:(?!-->).)*-->)+\s*$", b"", tail, flags=re.S)  # comments after the root are fine
    tail = tail.rstrip(b" \t\r\n\x00")
    return not re.search(rb"</\s*(rss|feed|[\w.-]*:?rdf)\s*>$", tail)


def _feed_entry(
    entry: Any,
    index: int,
    base: str | None,
    feed_title: str,
    scope: str,
    feed_date: date | datetime | None,
    options: ReadOptions,
) -> Candidate:
    where = f"entry {index}"
    detail = entry.get("title_detail") or {}
    is_html = str(detail.get("type", "")).endswith(("html", "xml"))
    title = plain_line(entry.get("title"), html_markup=True if is_html else None)
    entry_base = absolute_url(detail.get("base"), base) or base
    link = entry.get("link")
    if not link:
        link = next((lnk.get("href") for lnk in entry.get("links", []) if lnk.get("rel") in (None, "alternate")), None)
    url = absolute_url(link, entry_base)
    body_html = _entry_html(entry)
    reader = read_html(body_html) if body_html else None
    summary = clip(blocks_to_text(reader.blocks, markdown=True), MAX_SUMMARY) if reader else ""
    guid = entry.get("id") or None
    candidate = Candidate(
        where=where,
        title=title,
        url=url,
        published=None,
        source=feed_title,
        categories=map_categories(
            (t.get("label") or t.get("term") or "" for t in entry.get("tags", []) or []),
            options.category_map,
            options.default_category,
        ),
        summary=summary,
        guid=f"{scope}|{guid}" if guid and not re.match(r"^[a-z][a-z0-9+.-]*:", str(guid), re.I) else guid,
        feed=str(scope),
    )
    # The original text keeps the offset; feedparser's parsed value (UTC) is the fallback for odd formats.
    dates: list[Any] = [entry.get("published"), dict.get(entry, "updated"), entry.get("created")]
    dates += [
        datetime.fromtimestamp(calendar.timegm(entry[k]), UTC)
        for k in ("published_parsed", "updated_parsed")
        if dict.get(entry, k)
    ]
    _date_from(candidate, dates, feed_date, options)
    image = _entry_image(entry, reader, entry_base, title)
    if image:
        candidate.extra["image"] = image
    author = plain_line(entry.get("author"), limit=200)
    if author:
        candidate.extra["author"] = author
    _finish(candidate, link)
    return candidate


def _entry_html(entry: Any) -> str:
    """The entry's text as HTML: its summary, else its (HTML) content."""
    if entry.get("summary"):
        return str(entry["summary"])
    contents = entry.get("content") or []
    for item in contents:
        if "html" in str(item.get("type", "")) and item.get("value"):
            return str(item["value"])
    return str(contents[0].get("value", "")) if contents else ""


def _entry_image(entry: Any, reader: _HtmlReader | None, base: str | None, title: str) -> dict[str, str] | None:
    """The entry's picture with its alt text.

    An `<img>` in the text that has alt text comes first (its description is its
    own); then media:content, media:thumbnail and image enclosures, described by
    the entry's title.
    """
    described = [(src, alt) for src, alt in (reader.images if reader is not None else []) if alt.strip()]
    candidates: list[tuple[Any, str]] = list(described)
    for media in entry.get("media_content", []) or []:
        kind = str(media.get("medium") or media.get("type") or "")
        if kind.startswith("image") or re.search(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", str(media.get("url", "")), re.I):
            candidates.append((media.get("url"), ""))
    candidates += [(thumb.get("url"), "") for thumb in entry.get("media_thumbnail", []) or []]
    candidates += [
        (lnk.get("href"), "")
        for lnk in entry.get("links", []) or []
        if lnk.get("rel") == "enclosure" and str(lnk.get("type", "")).startswith("image/")
    ]
    if reader is not None:
        candidates += [(src, alt) for src, alt in reader.images if not alt.strip()]
    for src, alt in candidates:
        url = absolute_url(src, base)
        if url:
            return {"src": url, "alt": plain_line(alt, limit=200) or title}
    return None


def read_json_feed(source: str, fetched: Fetched, options: ReadOptions) -> ParsedSource:
    """JSON Feed 1.0/1.1 with the json module."""
    warnings: list[str] = []
    try:
        text = fetched.data.decode(json.detect_encoding(fetched.data))
    except UnicodeDecodeError:
        text = fetched.data.decode("cp1252", errors="replace")
        warnings.append("is not UTF-8 as JSON Feed requires; read as Windows-1252")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _source_error(
            source, f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", "download it again"
        ) from None
    except RecursionError:
        raise _source_error(source, "is JSON nested too deeply to read", "") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise _source_error(
            source, "is JSON but not a JSON Feed (no jsonfeed.org version)", "give the address of the feed itself"
        )
    items = doc.get("items")
    if not isinstance(items, list):
        raise _source_error(source, "is a JSON Feed without an `items` list", "")
    base = (
        absolute_url(doc.get("home_page_url"), fetched.url)
        or absolute_url(doc.get("feed_url"), fetched.url)
        or fetched.url
    )
    title = plain_line(doc.get("title"), limit=120) or _host_name(base or source)
    scope = str(doc.get("feed_url") or doc.get("home_page_url") or title)
    candidates = []
    for index, item in enumerate(items, start=1):
        where = f"item {index}"
        if not isinstance(item, dict):
            candidates.append(Candidate(where, "", None, None, title, [], "", error="is not an object"))
            continue
        candidates.append(_json_item(item, where, base, title, scope, options))
    return ParsedSource("json", title, candidates, warnings)


def _json_item(
    item: dict[str, Any], where: str, base: str | None, feed_title: str, scope: str, options: ReadOptions
) -> Candidate:
    title = plain_line(item.get("title") if isinstance(item.get("title"), str) else None)
    link = item.get("url") or item.get("external_url")
    url = absolute_url(link, base)
    if isinstance(item.get("summary"), str) and item["summary"].strip():
        summary = escape_markdown(clean_text(item["summary"]))
    elif isinstance(item.get("content_text"), str) and item["content_text"].strip():
        summary = blocks_to_text((Block(p) for p in _paragraphs(item["content_text"])), markdown=True)
    elif isinstance(item.get("content_html"), str):
        summary = html_to_text(item["content_html"], markdown=True)
    else:
        summary = ""
    tags: list[Any] = item["tags"] if isinstance(item.get("tags"), list) else []
    guid = item.get("id")
    guid_text = str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) and str(guid).strip() else None
    candidate = Candidate(
        where=where,
        title=title,
        url=url,
        published=None,
        source=feed_title,
        categories=map_categories(
            (str(t) for t in tags if isinstance(t, str | int)), options.category_map, options.default_category
        ),
        summary=clip(summary, MAX_SUMMARY),
        guid=f"{scope}|{guid_text}"
        if guid_text and not re.match(r"^[a-z][a-z0-9+.-]*:", guid_text, re.I)
        else guid_text,
        feed=scope,
    )
    _date_from(candidate, [item.get("date_published"), item.get("date_modified")], None, options)
    for key in ("image", "banner_image"):
        src = absolute_url(item.get(key), base)
        if src:
            candidate.extra["image"] = {"src": src, "alt": candidate.title or feed_title}
            break
    authors: list[Any] = item["authors"] if isinstance(item.get("authors"), list) else [item.get("author")]
    names = [
        plain_line(a.get("name"), limit=100) for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    if any(names):
        candidate.extra["author"] = ", ".join(n for n in names if n)
    _finish(candidate, link)
    return candidate


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", clean_text(text, keep_newlines=True)) if p.strip()]


def _date_from(candidate: Candidate, values: list[Any], fallback: date | datetime | None, options: ReadOptions) -> None:
    """Set the candidate's date from the first parseable value; else the feed's date, else today (with a warning)."""
    for value in values:
        when = parse_feed_date(value)
        if when is not None:
            candidate.published = when
            break
    else:
        candidate.date_guessed = True
        if fallback is not None:
            candidate.published = fallback
            candidate.warnings.append(f"has no date; used the feed's date {format_when(fallback)}")
        else:
            candidate.published = options.now.date()
            candidate.warnings.append(f"has no date; used the import date {options.now.date().isoformat()}")
        return
    moment = _as_datetime(candidate.published, options.now.tzinfo or UTC)
    if moment > options.now + timedelta(days=1):
        candidate.warnings.append(
            f"is dated in the future ({format_when(candidate.published)}); kept as given, check it"
        )


def _finish(candidate: Candidate, link: Any) -> None:
    """Fill what can be derived (a title from the text), and say why the entry cannot be imported."""
    if not candidate.title and candidate.summary:
        candidate.title = clip(candidate.summary.replace("\\", "").split("\n")[0], 100)
        candidate.warnings.append("has no title; the start of its text is used")
    if not candidate.summary and candidate.title:
        candidate.summary = escape_markdown(candidate.title)
        candidate.warnings.append("has no summary; the title is used")
    if not candidate.title:
        candidate.error = "has neither a title nor any text"
    elif candidate.url is None:
        candidate.error = (
            f"has a link that is not an absolute http(s) address ({clip(clean_text(str(link)), 80)!r})"
            if link
            else "has no link"
        )


def _host_name(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host.removeprefix("www.") or url


# --- article pages in the layout of the seed document ----------------------------

_SECTIONS = {
    "key takeaways": "takeaways",
    "in-depth analysis": "analysis",
    "in depth analysis": "analysis",
    "industry impact": "impact",
    "frequently asked questions": "faq",
    "faq": "faq",
    "related news": "related",
}
_NAVIGATION = re.compile(r"^(back to (list|news|home|top)|back|home|menu|share)$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[•\-*·–]\s+")


def read_page(source: str, fetched: Fetched, options: ReadOptions, *, html_form: bool) -> ParsedSource:
    """An article page like the seed document: one full article plus its related news.

    The page becomes one article with key takeaways, analysis, impact and FAQ;
    each related-news item becomes a short article with `related_to` naming it.
    Raises ContentError when the text is not in that layout.
    """
    text, warning = decode_text(fetched.data, fetched.content_type, html_form=html_form)
    warnings = [warning] if warning else []
    if html_form:
        reader = read_html(text)
        blocks = reader.blocks
    else:
        reader = None
        blocks = _text_blocks(text)
    blocks = [b for b in blocks if not _NAVIGATION.match(b.text)]
    sections: dict[str, list[Block]] = {}
    header: list[Block] = []
    current: list[Block] = header
    for block in blocks:
        name = _SECTIONS.get(block.text.strip().rstrip(":").casefold())
        if name and name not in sections:
            current = sections.setdefault(name, [])
            continue
        current.append(block)
    if not sections:
        fix = "import the site's feed instead"
        if reader is not None and reader.feed_links:
            feed = absolute_url(reader.feed_links[0], fetched.url) or reader.feed_links[0]
            fix = f"import its feed instead: {feed}"
        kind = "an HTML page" if html_form else "text"
        message = (
            f"is {kind} but neither a feed nor an article page in the expected layout "
            "(no Key Takeaways, Related News, ... sections)"
        )
        raise _source_error(source, message, fix)

    # The header: [nav] title, category line, [title again], summary paragraphs, source line.
    if reader is not None:
        h1 = next((i for i, b in enumerate(header) if b.tag == "h1"), None)
        if h1 is not None:
            header = header[h1:]
    if not header:
        raise _source_error(source, "has no title before its sections", "the page must start with its title")
    title = plain_line(header[0].text)
    rest = [b for b in header[1:] if plain_line(b.text) != title]
    category_block: Block | None = None
    if len(rest) >= 2 and _is_short(rest[0].text, 200):
        category_block = rest.pop(0)
    source_block: Block | None = None
    if len(rest) >= 2 and _is_short(rest[-1].text, 100):
        source_block = rest.pop()
    meta = reader.meta if reader is not None else {}
    site_name = plain_line(meta.get("og:site_name"), limit=120)
    source_name = plain_line(source_block.text, limit=120) if source_block else site_name
    known = set(options.known_categories) | {options.default_category}
    for values in options.category_map.values():
        known.update(values)
    raw_categories = split_category_line(category_block, known) if category_block else []
    summary = clip(blocks_to_text(rest, markdown=True), MAX_TEXT)
    base = fetched.url
    if reader is not None and reader.canonical:
        base = absolute_url(reader.canonical, fetched.url) or base

    # URL: --url, else the link on the source line (the original story), else the page's own address.
    url = options.page_url
    url_from = "--url"
    if url is None and source_block is not None and source_block.href:
        url, url_from = absolute_url(source_block.href, base), "the source link"
    if url is None and reader is not None:
        url = absolute_url(reader.canonical, fetched.url) or absolute_url(meta.get("og:url"), fetched.url)
        url_from = "the page's canonical address"
    if url is None and fetched.url:
        url, url_from = fetched.url, "the page's address"
    page_warnings: list[str] = []
    if url is None:
        url = search_url(title, source_name)
        url_from = "search"
        page_warnings.append("has no link; a web search for its title is used: pass --url with the story's address")

    # Date: --date, else the page's published time, else the import date.
    published: date | datetime | None = options.page_date
    guessed = False
    if published is None and reader is not None:
        for value in (meta.get("article:published_time"), meta.get("datepublished"), *reader.times):
            published = published or parse_feed_date(value)
    if published is None:
        published, guessed = options.now.date(), True
        page_warnings.append(f"has no date; used the import date {published.isoformat()}: pass --date to set it")
    if not source_name:
        source_name = _host_name(url) if url_from != "search" else ""

    page = Candidate(
        where="page",
        title=title,
        url=url,
        published=published,
        source=source_name,
        categories=map_categories(raw_categories, options.category_map, options.default_category),
        summary=summary,
        role="page",
        date_guessed=guessed,
        warnings=page_warnings,
    )
    if not source_name:
        page.error = "has no source line (the publication's name, after the summary)"
    page.extra.update(_page_sections(sections))
    image = None
    if reader is not None:
        og_image = absolute_url(meta.get("og:image"), base)
        if og_image:
            image = {"src": og_image, "alt": plain_line(meta.get("og:image:alt"), limit=200) or title}
        else:
            for src, alt in reader.images:
                src_url = absolute_url(src, base)
                if src_url and alt.strip():
                    image = {"src": src_url, "alt": plain_line(alt, limit=200)}
                    break
    if image:
        page.extra["image"] = image
    if not page.error:
        _finish(page, url)
    candidates = [page]
    for index, item in enumerate(_related_items(sections.get("related", []), html_form), start=1):
        candidates.append(_related_candidate(item, index, page, site_name, base, options, known))
    kind = "page-html" if html_form else "page-text"
    return ParsedSource(kind, title, candidates, warnings)


def _text_blocks(text: str) -> list[Block]:
    blocks = []
    for line in clean_text(text, keep_newlines=True).split("\n"):
        stripped = " ".join(line.split())
        if not stripped:
            continue
        if _BULLET.match(line):
            blocks.append(Block(_BULLET.sub("", line).strip(), "li"))
        else:
            blocks.append(Block(stripped))
    return blocks


def _is_short(text: str, limit: int) -> bool:
    """A line that reads like a label (a name, a heading), not a sentence of a paragraph."""
    return len(text) <= limit and not re.search(r"[.!?;:,]['\"”’)]?$", text.strip())


def _page_sections(sections: dict[str, list[Block]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    takeaways = [clip(escape_markdown(b.text), 1000) for b in sections.get("takeaways", []) if b.text.strip()]
    if takeaways:
        out["key_takeaways"] = takeaways[:12]
    analysis: list[dict[str, str]] = []
    blocks = sections.get("analysis", [])
    heading, body = "", list[Block]()
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        looks_heading = block.is_heading or (
            block.tag != "li" and _is_short(block.text, 120) and following is not None and not following.is_heading
        )
        if looks_heading:
            if body:
                analysis.append({"heading": heading, "body": clip(blocks_to_text(body, markdown=True), MAX_TEXT)})
            heading, body = plain_line(block.text, limit=200), []
        else:
            body.append(block)
    if body:
        analysis.append({"heading": heading, "body": clip(blocks_to_text(body, markdown=True), MAX_TEXT)})
    if analysis:
        out["analysis"] = analysis
    impact = clip(blocks_to_text(sections.get("impact", []), markdown=True), MAX_TEXT)
    if impact:
        out["impact"] = impact
    faq: list[dict[str, str]] = []
    question, answer = "", list[Block]()
    for block in sections.get("faq", []):
        is_question = (
            bool(re.match(r"^(question|q)\s*[:.]\s*", block.text, re.I))
            or block.is_heading
            or (block.text.rstrip().endswith("?") and len(block.text) <= 300)
        )
        if is_question:
            if question and answer:
                faq.append({"question": question, "answer": clip(blocks_to_text(answer, markdown=True), MAX_TEXT)})
            question = plain_line(re.sub(r"^(question|q)\s*[:.]\s*", "", block.text, flags=re.I), limit=300)
            answer = []
        elif question:
            answer.append(Block(re.sub(r"^(answer|a)\s*[:.]\s*", "", block.text, flags=re.I), block.tag))
    if question and answer:
        faq.append({"question": question, "answer": clip(blocks_to_text(answer, markdown=True), MAX_TEXT)})
    if faq:
        out["faq"] = faq
    return out


def _related_items(blocks: list[Block], html_form: bool) -> list[list[Block]]:
    """The related-news section split into items: title, category line, [title again], summary."""
    if not blocks:
        return []
    starts = [i for i, b in enumerate(blocks) if b.is_heading] if html_form else []
    if not starts:
        starts = [
            i
            for i in range(len(blocks) - 2)
            if blocks[i + 2].text == blocks[i].text and blocks[i + 1].text != blocks[i].text
        ]
    if not starts:
        starts = list(range(0, len(blocks), 3))
    if starts[0] >= 2:  # two or more blocks before the first recognised item: an item too
        starts.insert(0, 0)
    return [blocks[a:b] for a, b in zip(starts, [*starts[1:], len(blocks)], strict=True)]


def _related_candidate(
    item: list[Block],
    index: int,
    page: Candidate,
    site_name: str,
    base: str | None,
    options: ReadOptions,
    known: set[str],
) -> Candidate:
    title = plain_line(item[0].text)
    rest = [b for b in item[1:] if plain_line(b.text) != title]
    category_block = rest.pop(0) if len(rest) >= 2 and _is_short(rest[0].text, 120) else None
    summary = clip(blocks_to_text(rest, markdown=True), MAX_SUMMARY)
    href = next((b.href for b in item if b.href), None)
    url = absolute_url(href, base)
    warnings = []
    source = site_name or (_host_name(url) if url else "")
    if url is None:
        url = search_url(title)
        warnings.append("has no link; a web search for its title is used: replace it with the story's address")
    if not source:
        source = page.source
        warnings.append(f"has no source; the page's source ({page.source}) is used: check it")
    candidate = Candidate(
        where=f"related news {index}",
        title=title,
        url=url,
        published=page.published,
        source=source,
        categories=map_categories(
            split_category_line(category_block, known) if category_block else [],
            options.category_map,
            options.default_category,
        ),
        summary=summary,
        role="related",
        date_guessed=page.date_guessed,
        warnings=warnings,
    )
    _finish(candidate, url)
    return candidate


# --- the import's record, and matching against the content folder -----------------


@dataclass
class _Record:
    """What the import wrote to one file: enough to know it again and to tell an edit."""

    path: str  # relative to `into`, posix
    sha256: str
    guid: str | None
    url: str  # normalised
    title: str  # normalised
    date: str
    source: str  # the SOURCE as given on the command line
    feed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_RECORD_PATH = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*\.yaml$")


def _load_state(into: Path) -> tuple[dict[str, _Record], str | None]:
    """The import's record of the files it wrote; an unreadable record is a warning and counts as empty."""
    path = into / STATE_NAME
    if not path.is_file():
        return {}, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = {}
        for raw in data.get("files", []):
            record = _Record(**{k: raw.get(k) for k in _Record.__dataclass_fields__})
            # A record names a file the import made; anything else (`../x`, an absolute path) is ignored.
            if isinstance(record.path, str) and _RECORD_PATH.match(record.path) and isinstance(record.sha256, str):
                records[record.path] = record
        return records, None
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        return {}, f"{STATE_NAME} cannot be read ({exc}); every existing file is treated as edited"


def _save_state(into: Path, records: dict[str, _Record]) -> None:
    data = {"version": 1, "files": [r.to_dict() for _, r in sorted(records.items())]}
    _atomic_write(
        into / STATE_NAME, (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), replace=True
    )


@dataclass
class _Known:
    """A story already in the content folder, or imported before (then `record` is set)."""

    id: str
    path: Path | None  # None when the file was deleted
    shown: str
    record: _Record | None = None


class _Index:
    """Every story known so far, by feed GUID, normalised URL and normalised title."""

    def __init__(self) -> None:
        self.by_guid: dict[str, _Known] = {}
        self.by_url: dict[str, _Known] = {}
        self.by_title: dict[str, _Known] = {}
        self.ids: set[str] = set()

    def add(self, known: _Known, guid: str | None, url: str, title: str) -> None:
        if guid:
            self.by_guid.setdefault(guid, known)
        if url:
            self.by_url.setdefault(url, known)
        if title:
            self.by_title.setdefault(title, known)
        self.ids.add(known.id.casefold())

    def find(self, guid: str | None, url: str, title: str) -> tuple[_Known, str] | None:
        for key, table, how in (
            (guid, self.by_guid, "feed GUID"),
            (url, self.by_url, "URL"),
            (title, self.by_title, "title"),
        ):
            if key and key in table:
                return table[key], how
        return None

    def new_id(self, title: str, url: str) -> str:
        base = slugify(title) or "article-" + hashlib.sha256(url.encode()).hexdigest()[:8]
        candidate, n = base, 2
        while candidate in self.ids:
            candidate = f"{base[: MAX_SLUG - 4].rstrip('-')}-{n}"
            n += 1
        self.ids.add(candidate)
        return candidate


def _build_index(content: Path, into: Path, records: dict[str, _Record]) -> tuple[_Index, set[str]]:
    """The index of the content folder (and `into`, when outside it) plus the import's record."""
    index = _Index()
    by_real: dict[Path, _Record] = {(into / rel).resolve(): rec for rel, rec in records.items()}
    folders = [content]
    if not _inside(into, content):
        folders.append(into)
    categories: set[str] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in iter_content_files(folder):
            index.ids.add(path.stem.casefold())
        for article in load_articles(folder, root=folder).articles:
            real = (folder / article.path).resolve()
            record = by_real.get(real)
            known = _Known(article.id, real, display_path(real), record)
            index.add(
                known, record.guid if record else None, normalise_url(article.url), normalise_title(article.title)
            )
            categories.update(article.categories)
    # Files the import wrote that no longer load (or were deleted): still known, never re-added.
    for rel, record in records.items():
        real = (into / rel).resolve()
        if not _inside(real, into):  # a linked folder leading out: never written through
            continue
        known = _Known(Path(rel).stem, real if real.is_file() else None, display_path(real), record)
        index.add(known, record.guid, record.url, record.title)
    return index, categories


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def render_article(data: dict[str, Any]) -> bytes:
    """An article file's bytes: the import header, then the fields as YAML."""
    body = yaml.safe_dump(
        {k: v for k, v in data.items() if v is not None}, allow_unicode=True, sort_keys=False, width=88
    )
    return (FILE_HEADER + body).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes, *, replace: bool) -> None:
    """Write via a temporary file in the same folder; without `replace`, never over a file."""
    write_atomic(path, data, exclusive=not replace)


# --- the import -------------------------------------------------------------------


def import_sources(
    sources: Sequence[str],
    into: Path,
    *,
    now: datetime,
    content: Path | None = None,
    category_map: Mapping[str, Sequence[str]] | None = None,
    default_category: str = DEFAULT_CATEGORY,
    since: date | None = None,
    dry_run: bool = False,
    update: bool = False,
    page_url: str | None = None,
    page_date: date | datetime | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fetch: Fetcher | None = None,
) -> ImportReport:
    """Import feeds and article pages into article files under `into`; returns what happened.

    :param into: the folder new files go to, one subfolder per ISO week (`2026-w48/`).
    :param now: the moment of the import (aware); undated pages get its date, and
        entries more than a day after it are flagged as dated in the future.
    :param content: the content folder to dedupe against (default: `into`).
    :param category_map: feed category (case-insensitive) to the editor's categories.
    :param default_category: the category of an entry that has none.
    :param since: skip entries dated before this day.
    :param dry_run: report what would happen, write nothing.
    :param update: rewrite files this import wrote whose entry changed, unless edited since.
    :param page_url: the address of a single article page that has no link of its own.
    :param page_date: the date of article pages that carry none.
    :param fetch: how to get a source's bytes (default: `fetch_source` with `timeout`, `max_bytes`).
    """
    into = Path(into)
    content = Path(content) if content is not None else into
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    default_category = clean_text(default_category)
    if not default_category:
        raise UsageError(
            "the default category is empty",
            [Problem("command line", "--default-category", "is empty", "name a category")],
        )
    if page_url is not None:
        if absolute_url(page_url, None) is None:
            raise UsageError(
                f"{page_url!r} is not an http(s) URL",
                [Problem("command line", "--url", "is not an http(s) URL", "give https://...")],
            )
        if len(sources) > 1:
            raise UsageError(
                "--url names one page",
                [Problem("command line", "--url", "is given with several sources", "import one page at a time")],
            )

    def fetch_default(source: str) -> Fetched:
        return fetch_source(source, timeout=timeout, max_bytes=max_bytes)

    get = fetch or fetch_default
    report = ImportReport(display_path(into), dry_run)
    records, state_warning = _load_state(into)
    index, known_categories = _build_index(content, into, records)
    options = ReadOptions(
        now=now,
        category_map={k.casefold(): tuple(v) for k, v in (category_map or {}).items()},
        default_category=default_category,
        known_categories=frozenset(known_categories),
        page_url=page_url,
        page_date=page_date,
    )
    if state_warning:
        report.sources.append(
            SourceResult(
                report.into, "state", warnings=[Problem(report.into, STATE_NAME, state_warning, severity="warning")]
            )
        )
    for source in sources:
        result = SourceResult(source)
        report.sources.append(result)
        # 1. The bytes, and 2. what they say; a source that fails here writes nothing.
        try:
            parsed = read_source(source, get(source), options)
        except ContentError as exc:
            result.error = exc.problems[0] if exc.problems else Problem(source, "", exc.message)
            continue
        except Exception as exc:  # untrusted input must not stop the other sources
            result.error = Problem(
                source, "", f"cannot be read: {type(exc).__name__}: {exc}", "report this with the file"
            )
            continue
        result.kind, result.title = parsed.kind, parsed.title
        result.warnings = [Problem(source, "", w, severity="warning") for w in parsed.warnings]
        # 3. and 4. Match each entry, then write what is new (or, with `update`, changed and untouched).
        changed_records = False
        page_id: str | None = None
        for candidate in parsed.candidates:
            item, wrote = _import_candidate(candidate, source, into, index, records, page_id, since, dry_run, update)
            if candidate.role == "page":
                page_id = item.id
            report.items.append(item)
            changed_records = changed_records or wrote
        if changed_records and not dry_run:
            try:
                _save_state(into, records)
            except OSError as exc:
                result.warnings.append(
                    Problem(
                        source,
                        STATE_NAME,
                        f"cannot be written: {exc.strerror}",
                        "check the folder's permissions",
                        "warning",
                    )
                )
    return report


def _import_candidate(
    candidate: Candidate,
    source: str,
    into: Path,
    index: _Index,
    records: dict[str, _Record],
    page_id: str | None,
    since: date | None,
    dry_run: bool,
    update: bool,
) -> tuple[ImportedItem, bool]:
    """Match one candidate and write it if it is new; returns the report line and whether the record changed."""
    label = candidate.title or candidate.where
    item = ImportedItem("failed", source, label, url=candidate.url, warnings=list(candidate.warnings))
    if candidate.error:
        item.reason = f"{candidate.where} {candidate.error}"
        return item, False
    assert candidate.url is not None and candidate.published is not None  # noqa: S101 - set unless `error`
    if candidate.role == "related" and page_id is None:
        item.reason = f"{candidate.where}: its page could not be imported"
        return item, False
    url_key, title_key = normalise_url(candidate.url), normalise_title(candidate.title)
    found = index.find(candidate.guid, url_key, title_key)
    if found is None and since is not None:
        day = candidate.published.date() if isinstance(candidate.published, datetime) else candidate.published
        if day < since:
            item.status, item.reason = "skipped", f"dated {day.isoformat()}, before --since {since.isoformat()}"
            return item, False
    related_to = page_id if candidate.role == "related" else None

    if found is not None:
        known, how = found
        item.id, item.path = known.id, known.shown
        record = known.record
        same_entry = record is not None and (
            (candidate.guid is not None and record.guid == candidate.guid)
            or (
                candidate.guid is None
                and record.guid is None
                and record.url == url_key
                and record.feed == candidate.feed
            )
        )
        if known.path is None:
            item.status, item.reason = "duplicate", f"imported before as {known.shown} (since deleted; not added again)"
            return item, False
        if not same_entry or record is None:
            item.status, item.reason = "duplicate", f"same {how} as {known.shown}"
            return item, False
        if candidate.date_guessed:
            candidate.published = _parse_recorded_date(record.date) or candidate.published
        raw = render_article(candidate.fields(related_to))
        if _sha256(raw) == record.sha256:
            item.status, item.reason = "duplicate", f"already imported as {known.shown}"
            return item, False
        try:
            current = known.path.read_bytes()
        except OSError:
            current = b""
        if _sha256(current) != record.sha256:
            item.status, item.reason = (
                "changed",
                f"changed at the source, but {known.shown} was edited since; kept as it is",
            )
            return item, False
        if not update:
            item.status, item.reason = "changed", f"changed at the source; `--update` rewrites {known.shown}"
            return item, False
        problems = _validate(raw, known.path, known.shown)
        if problems:
            item.reason = f"{candidate.where}: " + "; ".join(str(p) for p in problems)
            return item, False
        if not dry_run:
            try:
                _atomic_write(known.path, raw, replace=True)
            except OSError as exc:
                item.reason = f"cannot write {known.shown}: {exc.strerror}"
                return item, False
            record.sha256, record.date = _sha256(raw), str(candidate.fields()["date"])
        item.status, item.reason = "updated", f"rewritten from the source ({how} match)"
        return item, True

    # A new story: a fresh id, a file in the week's folder, validated before it is written.
    article_id = index.new_id(candidate.title, candidate.url)
    rel = f"{week_folder(candidate.published)}/{article_id}.yaml"
    target = into / rel
    shown = display_path(target)
    item.id, item.path = article_id, shown
    if not _inside(target.parent if target.parent.exists() else into, into):
        item.reason = f"{shown} would be outside {display_path(into)} (a linked folder?); not written"
        return item, False
    raw = render_article(candidate.fields(related_to))
    problems = _validate(raw, target, shown)
    if problems:
        item.reason = f"{candidate.where}: " + "; ".join(str(p) for p in problems)
        index.ids.discard(article_id)
        return item, False
    if not dry_run:
        try:
            _atomic_write(target, raw, replace=False)
        except FileExistsError:
            item.reason = f"{shown} appeared during the import; not overwritten"
            return item, False
        except OSError as exc:
            item.reason = f"cannot write {shown}: {exc.strerror}"
            return item, False
    when = str(candidate.fields()["date"])
    record = _Record(rel, _sha256(raw), candidate.guid, url_key, title_key, when, source, candidate.feed)
    records[rel] = record
    index.add(_Known(article_id, target.resolve(), shown, record), candidate.guid, url_key, title_key)
    item.status, item.reason = "added", ""
    return item, True


def _parse_recorded_date(value: str) -> date | datetime | None:
    return parse_feed_date(value) if value else None


def _validate(raw: bytes, path: Path, shown: str) -> list[Problem]:
    """The problems `digest.content` would find in these bytes (the same schema as every article)."""
    from digest.content import MAX_FILE_BYTES

    if len(raw) > MAX_FILE_BYTES:
        return [Problem(shown, "", "would be too large to be an article", "")]
    article, problems = parse_article(raw, path, shown)
    return problems if article is None else [p for p in problems if p.severity == "error"]
