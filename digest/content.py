"""Load and validate the content folder and issue definitions.

Every value is checked and normalised here, once: dates become `date` or
`datetime`, categories a tuple, Markdown a `RichText`. A bad file is reported
(file, field, what is wrong, how to fix it) and skipped; it never stops the
other files from loading, and nothing is ever written into the folder.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from digest.errors import ContentError, Problem, display_path
from digest.markup import clean_invisible
from digest.model import AnalysisSection, Article, FaqItem, Image, IssueSpec, RichText, Takeaway

ARTICLE_SUFFIXES = (".yaml", ".yml", ".md")
ARTICLE_FIELDS = {
    "id", "title", "url", "date", "source", "categories", "summary", "key_takeaways",
    "analysis", "impact", "faq", "image", "author", "priority", "pinned", "related_to",
}  # fmt: skip
ISSUE_FIELDS = {
    "title", "number", "date", "week", "since", "until", "categories", "exclude", "leads",
    "rail", "intro", "preheader", "subject", "timezone", "utm",
}  # fmt: skip
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
WEEK_PATTERN = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
MAX_FILE_BYTES = 2_000_000
LINE_LIMIT = 500  # a title, source or heading
TEXT_LIMIT = 20_000  # a summary, analysis section or answer
MAX_YAML_NODES = 20_000  # far above any article; stops alias bombs ("billion laughs")
_URL_UNSAFE = re.compile("[\\s\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Bump when parsing or validation changes: cached articles of another version are re-read.
LOADER_VERSION = 3


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader (the C one where available) that leaves timestamps as strings.

    Dates are parsed by `parse_when` instead, so that an impossible date is a
    problem with the `date` field rather than a YAML error for the whole file.
    """


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class LoadResult:
    """The articles that loaded, and every problem met on the way."""

    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class _Invalid(Exception):
    """Raised inside field parsing; turned into a `Problem` for the file."""

    def __init__(self, field: str, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.field, self.message, self.fix = field, message, fix


# --- reading files --------------------------------------------------------


def read_yaml(text: str) -> Any:
    """Parse YAML with the safe loader; timestamps stay strings."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def split_front_matter(text: str) -> tuple[str, str] | None:
    """Split a Markdown file into (front matter, body); None when it has none."""
    if not text.startswith("---"):
        return None
    first_newline = text.find("\n")
    if first_newline == -1 or text[:first_newline].strip() != "---":
        return None
    # `\r?` so that a file saved with Windows line endings (CRLF) is read too.
    match = re.search(r"^(---|\.\.\.)[ \t]*\r?$", text[first_newline + 1 :], re.MULTILINE)
    if match is None:
        return None
    front = text[first_newline + 1 : first_newline + 1 + match.start()]
    body = text[first_newline + 1 + match.end() :]
    return front, body.lstrip("\r\n")


def markdown_sections(body: str) -> list[dict[str, str]]:
    """Split a Markdown body into analysis sections at `## Heading` lines."""
    sections: list[dict[str, str]] = []
    heading, lines = "", list[str]()
    fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        match = None if fence else re.match(r"^#{1,2}\s+(.+?)\s*#*\s*$", line)
        if match:
            if heading or "".join(lines).strip():
                sections.append({"heading": heading, "body": "\n".join(lines).strip()})
            heading, lines = match.group(1), []
        else:
            lines.append(line)
    if heading or "".join(lines).strip():
        sections.append({"heading": heading, "body": "\n".join(lines).strip()})
    return sections


def content_files(folder: Path) -> list[tuple[str, str]]:
    """(path, path relative to `folder`) of every article file, in a stable order.

    Hidden and underscore files and folders are skipped. Folders that are
    links are not walked into; files that are links are listed (the loader
    checks where they lead). Strings, not Paths: this runs for every file of
    an archive on every build.
    """
    out: list[tuple[str, str]] = []
    top = str(folder)
    skip = len(top.rstrip(os.sep)) + 1
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if name.startswith((".", "_")) or not name.lower().endswith(ARTICLE_SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            out.append((full, full[skip:].replace(os.sep, "/")))
    return out


def iter_content_files(folder: Path) -> Iterator[Path]:
    """Every article file under `folder` as a Path (see `content_files`)."""
    for full, _ in content_files(folder):
        yield Path(full)


# --- validating fields ----------------------------------------------------


def parse_when(value: Any, field: str) -> date | datetime:
    """An ISO date or datetime (with or without a timezone) from YAML."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(field, "is missing or not a date", "write an ISO date such as 2026-11-24")
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError as exc:
        raise _Invalid(
            field,
            f"{text!r} is not a valid date ({exc})",
            "use an existing day as YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS][+HH:MM]",
        ) from None


def parse_day(value: Any, field: str) -> date:
    when = parse_when(value, field)
    return when.date() if isinstance(when, datetime) else when


def parse_week(value: Any, field: str = "week") -> tuple[int, int]:
    """`2026-W48` (or `2026W48`) to (2026, 48)."""
    match = WEEK_PATTERN.match(str(value).strip()) if value is not None else None
    if match:
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
            return year, week
        except ValueError:
            pass
    raise _Invalid(field, f"{value!r} is not an ISO week", "write it as YYYY-Www, e.g. 2026-W48")


def _text(data: dict[str, Any], key: str, required: bool = False, single_line: bool = False) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Invalid(key, "is missing or empty", f"add a `{key}:` line with a value")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid(key, f"must be text, not {type(value).__name__}", "quote the value")
    text = clean_invisible(str(value)).strip()
    if single_line:
        text = " ".join(text.split())
    if not text:
        if required:
            raise _Invalid(key, "holds only invisible characters", f"write a visible value for `{key}`")
        return None
    limit = LINE_LIMIT if single_line else TEXT_LIMIT
    if len(text) > limit:
        raise _Invalid(key, f"is {len(text):,} characters long; at most {limit:,} fit an email", "shorten it")
    return text


def _item_text(item: dict[str, Any], key: str, where: str, single_line: bool = False) -> str | None:
    """`_text` for a key inside a list item or mapping; a problem names the full path (`faq[0].answer`)."""
    try:
        return _text(item, key, single_line=single_line)
    except _Invalid as inv:
        raise _Invalid(f"{where}.{inv.field}", inv.message, inv.fix) from None


def _rich(data: dict[str, Any], key: str, required: bool = False) -> RichText | None:
    text = _text(data, key, required=required)
    return RichText(text) if text else None


def ascii_url(url: str) -> str:
    """An address with non-ASCII parts encoded (IDNA host, percent-encoded path and query).

    Mail clients, HTML serialisers and the text version then all see the same bytes.
    """
    if url.isascii():
        return url
    from urllib.parse import quote, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii() and parts.hostname:
        try:
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError:
            host = quote(parts.hostname)
        netloc = netloc.replace(parts.hostname, host) if parts.hostname in netloc else host
    safe = "/:@!$&'()*+,;=-._~%?#[]"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe),
            quote(parts.fragment, safe=safe),
        )
    )


def parse_url(value: Any, field: str = "url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(field, "is missing or empty", "add the article's http(s) address")
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        raise _Invalid(
            field, f"{url[:200]!r} is not a valid URL ({exc})", "use a full address starting with https://"
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise _Invalid(field, f"{url!r} is not an http(s) URL", "use a full address starting with https://")
    if _URL_UNSAFE.search(url):
        raise _Invalid(field, "contains spaces, control or invisible characters", "percent-encode them (%20)")
    if len(url) > 2000:
        raise _Invalid(field, f"is {len(url):,} characters long", "use an address under 2,000 characters")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        raise _Invalid(field, f"{url!r} has an invalid port", "remove the port or use a number up to 65535") from None
    url = ascii_url(url)
    return url


def _string_list(data: dict[str, Any], key: str, required: bool = False) -> tuple[str, ...]:
    value = data.get(key)
    if value is None or value == []:
        if required:
            raise _Invalid(key, "is missing or empty", f"list at least one, e.g. `{key}: [Artificial Intelligence]`")
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) and str(v).strip() for v in value):
        raise _Invalid(key, "must be a list of names", f"write `{key}: [First, Second]`")
    seen: dict[str, str] = {}
    for item in value:
        name = " ".join(clean_invisible(str(item)).split())
        seen.setdefault(name.casefold(), name)
    return tuple(seen.values())


def _takeaways(value: Any) -> tuple[Takeaway, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Invalid("key_takeaways", "must be a list", 'write one `- "Label: text"` item per takeaway')
    out = []
    for i, item in enumerate(value):
        where = f"key_takeaways[{i}]"
        if isinstance(item, dict):
            text = _item_text(item, "text", where)
            if not text:
                raise _Invalid(where, "has no `text`", "give each takeaway `{label: ..., text: ...}`")
            label = _item_text(item, "label", where, single_line=True)
            out.append(Takeaway(RichText(text), label))
        elif isinstance(item, str) and item.strip():
            label, sep, rest = item.partition(":")
            # "Label: text" only when the part before the colon reads as a short label.
            if sep and rest.strip() and 0 < len(label.split()) <= 6 and "http" not in label:
                out.append(Takeaway(RichText(clean_invisible(rest).strip()), " ".join(clean_invisible(label).split())))
            else:
                out.append(Takeaway(RichText(clean_invisible(item).strip())))
        else:
            raise _Invalid(where, "must be text or {label, text}", 'write `- "Label: text"`')
    return tuple(out)


def _analysis(value: Any) -> tuple[AnalysisSection, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = markdown_sections(value)
    if not isinstance(value, list):
        raise _Invalid("analysis", "must be a list of {heading, body}", "write `- heading: ...` then `body: ...`")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _Invalid(f"analysis[{i}]", "must be {heading, body}", "write `- heading: ...` then `body: ...`")
        body = _item_text(item, "body", f"analysis[{i}]")
        if not body:
            raise _Invalid(f"analysis[{i}].body", "is missing or empty", "add the section's text under `body:`")
        heading = _item_text(item, "heading", f"analysis[{i}]", single_line=True) or ""
        out.append(AnalysisSection(heading, RichText(body)))
    return tuple(out)


def _faq(value: Any) -> tuple[FaqItem, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Invalid("faq", "must be a list of {question, answer}", "write `- question: ...` then `answer: ...`")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _Invalid(f"faq[{i}]", "must be {question, answer}", "write `- question: ...` then `answer: ...`")
        question = _item_text(item, "question", f"faq[{i}]", single_line=True)
        answer = _item_text(item, "answer", f"faq[{i}]")
        if not question or not answer:
            missing = "question" if not question else "answer"
            raise _Invalid(f"faq[{i}].{missing}", "is missing or empty", f"add the {missing}")
        out.append(FaqItem(question, RichText(answer)))
    return tuple(out)


def _image(value: Any) -> Image | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Invalid("image", "must be {src, alt}", "write `image: {src: https://..., alt: ...}`")
    src = parse_url(value.get("src"), "image.src")
    alt = _item_text(value, "alt", "image", single_line=True)
    if not alt:
        raise _Invalid("image.alt", "is missing", "describe the picture in `alt:` (screen readers read it)")
    return Image(src, alt)


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(key, f"must be a whole number, not {value!r}", f"write e.g. `{key}: 5`")
    return value


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _Invalid(key, f"must be true or false, not {value!r}", f"write `{key}: true`")
    return value


def _unknown_fields(data: dict[str, Any], known: set[str], where: str) -> list[Problem]:
    problems = []
    for key in data:
        if str(key) not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            fix = f"did you mean `{close[0]}`?" if close else "remove it; known fields: " + ", ".join(sorted(known))
            problems.append(Problem(where, str(key), "is not a known field", fix, severity="warning"))
    return problems


def _article_id(value: Any, default: str) -> str:
    if value is None or value == "":
        return validate_id(default)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid("id", f"must be text, not {type(value).__name__}", "write `id: my-story`")
    return validate_id(str(value))


def check_size(data: Any, limit: int = MAX_YAML_NODES) -> None:
    """Refuse documents that expand to more than `limit` values (YAML aliases can nest exponentially)."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            raise _Invalid(
                "",
                f"expands to more than {limit:,} values (YAML aliases?)",
                "write the values out; do not nest aliases",
            )
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def validate_id(value: str, field: str = "id") -> str:
    if not ID_PATTERN.match(value):
        raise _Invalid(
            field,
            f"{value!r} is not a valid id",
            "use letters, digits, '.', '_' and '-' only, starting with a letter or digit",
        )
    return value


# --- articles -------------------------------------------------------------


def parse_article(raw: bytes, path: Path, shown: str) -> tuple[Article | None, list[Problem]]:
    """Validate one article file's bytes; returns the article (or None) and its problems."""
    if b"\x00" in raw:
        return None, [Problem(shown, "", "is a binary file, not an article", "remove it from the content folder")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(shown, "", f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8")]
    body = ""
    if path.suffix.lower() == ".md":
        parts = split_front_matter(text)
        if parts is None:
            fix = "start the file with a line `---`, the YAML fields, then another `---`"
            return None, [Problem(shown, "", "has no YAML front matter", fix)]
        text, body = parts
    try:
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(shown, where, f"is not valid YAML: {reason}", "fix the YAML syntax at that line")]
    except RecursionError:
        return None, [Problem(shown, "", "is nested too deeply to read", "simplify the YAML")]
    if not isinstance(data, dict):
        return None, [Problem(shown, "", "is not a mapping of fields", "write `title: ...`, `url: ...` and so on")]
    try:
        check_size(data)
    except _Invalid as inv:
        return None, [Problem(shown, inv.field, inv.message, inv.fix)]
    data = {str(k) if isinstance(k, str | int | float | bool) else repr(type(k)): v for k, v in data.items()}
    problems = _unknown_fields(data, ARTICLE_FIELDS, shown)
    if body.strip():
        if "analysis" in data:
            problems.append(
                Problem(shown, "analysis", "is given twice (front matter and body)", "keep one", severity="warning")
            )
        else:
            data["analysis"] = markdown_sections(body)
    errors: list[Problem] = []

    def check(func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except _Invalid as inv:
            errors.append(Problem(shown, inv.field, inv.message, inv.fix))
            return None

    values = {
        "id": check(_article_id, data.get("id"), path.stem),
        "title": check(_text, data, "title", True, True),
        "url": check(parse_url, data.get("url")),
        "published": check(parse_when, data.get("date"), "date"),
        "source": check(_text, data, "source", True, True),
        "categories": check(_string_list, data, "categories", True),
        "summary": check(_rich, data, "summary", True),
        "key_takeaways": check(_takeaways, data.get("key_takeaways")),
        "analysis": check(_analysis, data.get("analysis")),
        "impact": check(_rich, data, "impact"),
        "faq": check(_faq, data.get("faq")),
        "image": check(_image, data.get("image")),
        "author": check(_text, data, "author", False, True),
        "priority": check(_int, data, "priority", 0),
        "pinned": check(_bool, data, "pinned"),
        "related_to": check(_text, data, "related_to", False, True),
    }
    if errors:
        return None, problems + errors
    return Article(path=shown, **values), problems


PARALLEL_THRESHOLD = 2000


def read_and_parse(path: str, shown: str) -> tuple[Article | None, list[Problem]]:
    """One file from disk to an article (or its problems)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [Problem(shown, "", f"cannot be read: {exc.strerror}", "check its permissions")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            Problem(
                shown, "", "is too large to be an article", f"keep article files under {MAX_FILE_BYTES // 1_000_000} MB"
            )
        ]
    return parse_article(raw, Path(path), shown)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while building many objects that form no cycles.

    Parsing or unpickling thousands of articles otherwise triggers collection
    after collection: measured, it halves the time of loading the cache.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_chunk(chunk: list[tuple[str, str]]) -> list[tuple[str, tuple[Article | None, list[Problem]]]]:
    with paused_gc():
        return [(shown, read_and_parse(path, shown)) for path, shown in chunk]


def parse_files(files: list[tuple[str, str]]) -> dict[str, tuple[Article | None, list[Problem]]]:
    """Parse (path, shown) pairs; a large batch (a cold cache) is split over the CPU cores.

    YAML parsing is most of a cold load and runs in Python, so separate
    processes are the way to use a second core. Small batches (the usual
    warm rebuild) stay in this process.
    """
    workers = min(os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_THRESHOLD or workers < 2:
        return dict(_parse_chunk(files))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(200, len(files) // (workers * 4))
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    out: dict[str, tuple[Article | None, list[Problem]]] = {}
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for pairs in pool.map(_parse_chunk, chunks):
                out.update(pairs)
    except (OSError, RuntimeError, ValueError):
        # No processes to be had here: parse in this one.
        return dict(_parse_chunk(files))
    return out


class ContentCache:
    """Parsed articles kept between runs, keyed by path, size and modification time.

    One pickle file per content folder under the cache folder, written
    atomically (temp file + rename), so concurrent builds each leave a whole
    file. The file starts with a header naming the loader version and the
    SHA-256 of the payload: a stale, foreign or corrupted cache is detected,
    ignored and rebuilt, never trusted blindly. Within one process (the preview
    loop) the cache also stays in memory.
    """

    MAGIC = b"digest-content-cache"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, tuple[int, int, Article | None, list[Problem]]] = {}
        self.dirty = False
        self.note: str | None = None
        self._loaded = False
        self._registered = False
        self.lock = threading.RLock()

    def load(self) -> None:
        if self._loaded or self.path is None:
            return
        self._loaded = True
        try:
            blob = self.path.read_bytes()
        except OSError:
            return
        import hashlib
        import pickle

        newline = blob.find(b"\n")
        header, payload = blob[: max(newline, 0)], memoryview(blob)[newline + 1 :]  # a view: no second copy
        parts = header.split(b" ")
        expected = [self.MAGIC, str(LOADER_VERSION).encode(), sys.version.split()[0].encode()]
        if len(parts) != 4 or parts[:3] != expected:
            self.note = "content cache was written by another version; rebuilt"
            return
        if hashlib.sha256(payload).hexdigest().encode() != parts[3]:
            self.note = "content cache was corrupted; rebuilt"
            return
        try:
            with paused_gc():
                entries = pickle.loads(payload)  # noqa: S301 - our own file, checksummed above
                # The articles live as long as the process: keep them out of every later
                # collection, which would otherwise walk them all again and again.
                gc.freeze()
        except Exception:
            self.note = "content cache could not be read; rebuilt"
            return
        if isinstance(entries, dict):
            self.entries = entries

    def save_later(self) -> None:
        """Save when the process ends: a preview loop rebuilding every second writes the file once."""
        if self.path is not None and self.dirty and not self._registered:
            import atexit

            atexit.register(self.save)
            self._registered = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        import hashlib
        import pickle
        import tempfile

        digest = hashlib.sha256()

        class Hashing:
            """Streams the pickle to the file while hashing it: no second copy of a large cache in memory."""

            def __init__(self, handle: Any) -> None:
                self.handle = handle

            def write(self, data: bytes) -> int:
                digest.update(data)
                return int(self.handle.write(data))

        def header(checksum: str) -> bytes:
            return (
                b" ".join(
                    [self.MAGIC, str(LOADER_VERSION).encode(), sys.version.split()[0].encode(), checksum.encode()]
                )
                + b"\n"
            )

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".content.", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(header("0" * 64))  # the real checksum goes here once the payload is written
                pickle.dump(self.entries, Hashing(handle), protocol=pickle.HIGHEST_PROTOCOL)
                handle.seek(0)
                handle.write(header(digest.hexdigest()))
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            # A cache that cannot be written only costs speed next time.
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)


_MEMORY: dict[str, ContentCache] = {}


def cache_for(folder: Path, cache_dir: Path | None) -> ContentCache:
    """The cache of one content folder (shared within the process)."""
    if cache_dir is None:
        return ContentCache(None)
    import hashlib

    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    path = cache_dir / f"content-{key}.pickle"
    cache = _MEMORY.get(str(path))
    if cache is None:
        cache = _MEMORY[str(path)] = ContentCache(path)
    return cache


def load_articles(folder: Path, *, root: Path | None = None, cache_dir: Path | None = None) -> LoadResult:
    """Load every article under `folder`, collecting problems instead of stopping.

    Files that fail validation are skipped; a second file with an id already
    taken is skipped and reported with both paths. Symlinks leading out of the
    folder are not followed. With `cache_dir`, unchanged files (same path,
    size and modification time) are taken from the content cache.
    """
    result = LoadResult()
    folder = Path(folder)
    if not folder.is_dir():
        raise ContentError(
            f"content folder {display_path(folder, root)} does not exist",
            [Problem(display_path(folder, root), "", "does not exist", "pass --content DIR or create the folder")],
        )
    base = os.path.realpath(folder)
    prefix = display_path(folder, root).rstrip("/")
    prefix = "" if prefix == "." else prefix + "/"
    cache = cache_for(folder, cache_dir)
    with cache.lock:  # the preview serves requests from several threads
        return _load_with(cache, folder, prefix, base, result)


def _load_with(cache: ContentCache, folder: Path, prefix: str, base: str, result: LoadResult) -> LoadResult:
    """The body of `load_articles`, run with the cache locked."""
    cache.load()
    previous, cache.entries = cache.entries, {}
    # 1. What is on disk, and which files the cache cannot answer for.
    listed: list[tuple[str, str, tuple[int, int] | None, list[Problem] | None]] = []
    to_parse: list[tuple[str, str]] = []
    for path, rel in content_files(folder):
        shown = prefix + rel
        try:
            info = os.stat(path)
            # Folders that are links are never walked into, so only a file can lead outside.
            if os.path.islink(path) and not os.path.realpath(path).startswith(base + os.sep):
                fix = "copy the file into the content folder instead of linking to it"
                listed.append(
                    (rel, shown, None, [Problem(shown, "", "links outside the content folder; skipped", fix)])
                )
                continue
        except OSError as exc:
            listed.append(
                (rel, shown, None, [Problem(shown, "", f"cannot be read: {exc.strerror}", "check its permissions")])
            )
            continue
        stamp = (info.st_size, info.st_mtime_ns)
        hit = previous.get(rel)
        if hit is not None and hit[:2] == stamp:
            cache.entries[rel] = hit
        else:
            to_parse.append((path, shown))
        listed.append((rel, shown, stamp, None))
    # 2. Parse what changed (in parallel when there is a lot of it).
    parsed = parse_files(to_parse)
    if to_parse:
        cache.dirty = True
        if len(to_parse) >= PARALLEL_THRESHOLD:
            gc.freeze()  # a cold load of a large archive: the same reasoning as after unpickling
    # 3. Collect articles and problems in file order; ids must be unique.
    seen: dict[str, str] = {}
    for rel, shown, key, early in listed:
        if early is not None:
            result.problems.extend(early)
            continue
        if rel in cache.entries:
            _, _, article, problems = cache.entries[rel]
        else:
            article, problems = parsed[shown]
            if key is not None and not any(p.message.startswith("cannot be read") for p in problems):
                cache.entries[rel] = (*key, article, problems)
        result.problems.extend(problems)
        if article is None:
            continue
        if article.id in seen:
            fix = f"rename one file or give it an `id:` (first: {seen[article.id]})"
            result.problems.append(Problem(shown, "id", f"{article.id!r} is already used by {seen[article.id]}", fix))
            continue
        seen[article.id] = shown
        result.articles.append(article)
    if previous.keys() - cache.entries.keys():
        cache.dirty = True  # files were deleted or renamed
    cache.save_later()
    return result


# --- issue definitions ----------------------------------------------------


def find_issue_file(name: str, issues_dir: Path) -> Path:
    """An issue definition by path or by slug (`2026-w48` finds `issues/2026-w48.yaml`)."""
    candidate = Path(name)
    if candidate.suffix.lower() in (".yaml", ".yml"):
        if candidate.is_file():
            return candidate
        raise ContentError(
            f"issue definition {name} does not exist",
            [Problem(name, "", "does not exist", "give an existing file or a slug from issues/")],
        )
    for path in list_issue_files(issues_dir):
        if path.stem == name:  # an exact listed name only: no path can be built from `name`
            return path
    known = ", ".join(p.stem for p in list_issue_files(issues_dir)) or "none"
    raise ContentError(
        f"no issue definition named {name!r}",
        [Problem(display_path(issues_dir), name, "no such issue definition", f"known issues: {known}")],
    )


def list_issue_files(issues_dir: Path) -> list[Path]:
    """Every issue definition in `issues_dir`, sorted by name."""
    if not issues_dir.is_dir():
        return []
    return sorted(p for p in issues_dir.iterdir() if p.suffix.lower() in (".yaml", ".yml") and p.is_file())


def load_issue_spec(path: Path, *, root: Path | None = None) -> IssueSpec:
    """Read and validate one issue definition; raises ContentError listing every problem."""
    shown = display_path(path, root)
    try:
        data = read_yaml(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(f"cannot read {shown}", [Problem(shown, "", f"cannot be read: {exc}", "")]) from None
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem = Problem(shown, "", f"is not valid YAML: {reason}", "fix the YAML syntax")
        raise ContentError(f"{shown} is not valid YAML", [problem]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem = Problem(shown, "", "is not a mapping of fields", "write `title: ...`, `week: ...` and so on")
        raise ContentError(f"{shown} is not an issue definition", [problem])
    try:
        check_size(data)
    except _Invalid as inv:
        raise ContentError(f"{shown} is too large", [Problem(shown, inv.field, inv.message, inv.fix)]) from None
    data = {str(k): v for k, v in data.items()}
    slug = path.stem
    errors: list[Problem] = []
    try:
        validate_id(slug, "file name")
    except _Invalid as inv:
        errors.append(Problem(shown, inv.field, inv.message, "rename the file, e.g. issues/2026-w48.yaml"))
    values = issue_values(data, shown, errors)
    warnings = _unknown_fields(data, ISSUE_FIELDS, shown)
    if errors:
        raise ContentError(f"{shown} has {len(errors)} problem(s)", errors + warnings)
    return IssueSpec(slug=slug, path=shown, **values)


def issue_values(data: dict[str, Any], shown: str, errors: list[Problem]) -> dict[str, Any]:
    """Validate the keys of an issue definition (or CLI overrides) into IssueSpec fields."""
    parsers: dict[str, Any] = {
        "title": lambda v: _text({"title": v}, "title", single_line=True),
        "number": lambda v: _int({"number": v}, "number", 0),
        "date": lambda v: parse_day(v, "date"),
        "week": lambda v: parse_week(v),
        "since": lambda v: parse_day(v, "since"),
        "until": lambda v: parse_day(v, "until"),
        "categories": lambda v: _string_list({"categories": v}, "categories"),
        "exclude": lambda v: _string_list({"exclude": v}, "exclude"),
        "leads": _leads,
        "rail": lambda v: _count({"rail": v}, "rail"),
        "intro": lambda v: _rich({"intro": v}, "intro"),
        "preheader": lambda v: _text({"preheader": v}, "preheader", single_line=True),
        "subject": lambda v: _text({"subject": v}, "subject", single_line=True),
        "timezone": _timezone_name,
        "utm": lambda v: _bool({"utm": v}, "utm"),
    }
    values: dict[str, Any] = {}
    for key, parse in parsers.items():
        if key not in data or data[key] is None:
            continue
        try:
            values[key] = parse(data[key])
        except _Invalid as inv:
            errors.append(Problem(shown, inv.field, inv.message, inv.fix))
    if "week" in values and ("since" in values or "until" in values):
        errors.append(Problem(shown, "week", "is given together with since/until", "keep either `week` or the dates"))
    if "since" in values and "until" in values and values["since"] > values["until"]:
        errors.append(Problem(shown, "since", "is after `until`", "swap the two dates"))
    return values


def _count(data: dict[str, Any], key: str) -> int:
    value = _int(data, key, 0)
    if value < 0 or value > 500:
        raise _Invalid(key, f"must be between 0 and 500, not {value}", f"write e.g. `{key}: 6`")
    return value


def _leads(value: Any) -> int | tuple[str, ...]:
    if isinstance(value, list):
        ids = tuple(validate_id(str(v), "leads") for v in value)
        if not ids:
            raise _Invalid("leads", "is an empty list", "give a count or at least one article id")
        return ids
    return _count({"leads": value}, "leads")


def _timezone_name(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(
            "timezone", f"{name!r} is not a known time zone", "use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


def unique(items: Iterable[str]) -> list[str]:
    """Items in order, each once."""
    return list(dict.fromkeys(items))
