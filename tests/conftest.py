"""Shared fixtures: articles written to real files in tmp_path, and in-memory articles.

Also the real tools some tests drive: headless Chromium and the official MJML compiler.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from digest.model import Article, RichText

# A complete, valid article; each test changes only the fields it is about.
VALID_FIELDS: dict[str, Any] = {
    "title": "Chip Maker Expands Packaging Capacity",
    "url": "https://news.example.com/2026/11/24/packaging",
    "date": "2026-11-24",
    "source": "Example News",
    "categories": ["Artificial Intelligence", "Chips"],
    "summary": "A chip maker said it would **double** its advanced packaging capacity.",
}

Snapshot = dict[str, tuple[int, bytes]]


def _article_fields(name: str, fields: dict[str, Any], omit: Iterable[str]) -> dict[str, Any]:
    stem = Path(name).stem
    data = {**VALID_FIELDS, "title": f"Story {stem}", "url": f"https://news.example.com/{stem}", **fields}
    for key in omit:
        data.pop(key, None)
    return data


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@pytest.fixture
def repo_root() -> Path:
    """The checkout: where seeds/ and issues/ live."""
    return Path(__file__).parents[1]


@pytest.fixture
def write_article() -> Callable[..., Path]:
    """`write_article(folder, name, omit=(), **fields)` writes a YAML article and returns its path.

    Fields not given take valid defaults (title and url derived from the name, so
    two articles never collide); `omit` lists fields to leave out entirely.
    """

    def write(folder: Path, name: str, omit: Iterable[str] = (), **fields: Any) -> Path:
        path = Path(folder) / (name if Path(name).suffix else f"{name}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(_article_fields(name, fields, omit)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_markdown() -> Callable[..., Path]:
    """`write_markdown(folder, name, body, omit=(), **fields)` writes a .md article with YAML front matter."""

    def write(folder: Path, name: str, body: str, omit: Iterable[str] = (), **fields: Any) -> Path:
        path = Path(folder) / (name if Path(name).suffix else f"{name}.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        front = _dump(_article_fields(name, fields, omit))
        path.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_article() -> Callable[..., Article]:
    """`make_article(id, **fields)`: an in-memory Article, for the pure selection functions."""

    def make(id: str, **fields: Any) -> Article:
        values: dict[str, Any] = {
            "id": id,
            "path": f"{id}.yaml",
            "title": f"Story {id}",
            "url": f"https://news.example.com/{id}",
            "published": date(2026, 11, 24),
            "source": "Example News",
            "categories": ("Artificial Intelligence",),
            "summary": RichText(f"Summary of {id}."),
        }
        values.update(fields)
        values["categories"] = tuple(values["categories"])
        return Article(**values)

    return make


@pytest.fixture
def snapshot() -> Callable[[Path], Snapshot]:
    """`snapshot(folder)`: every entry's relative name, mtime and bytes, to prove nothing was written."""

    def take(folder: Path) -> Snapshot:
        out: Snapshot = {}
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                stat = path.lstat()
                data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
                out[path.relative_to(folder).as_posix()] = (stat.st_mtime_ns, data)
        return out

    return take


# The acceptance folder: 100 valid articles and 4 broken ones.
WEEK48_START = date(2026, 11, 23)
BAD_FILES = {
    "broken-yaml.yaml": "line",
    "no-title.yaml": "title",
    "impossible-date.yaml": "date",
    "ftp-url.yaml": "url",
}
CATEGORIES = ["Artificial Intelligence", "Chips", "Policy", "Robotics", "Cybersecurity"]


class BadFolder(NamedTuple):
    folder: Path
    valid_ids: set[str]
    bad: dict[str, str]  # file name -> the field its problem names ("line" for the YAML error)


@pytest.fixture
def bad_folder(tmp_path: Path, write_article: Callable[..., Path]) -> BadFolder:
    """A content folder of 100 valid articles dated in 2026-W48, plus four broken files."""
    folder = tmp_path / "content"
    valid = set()
    for i in range(100):
        day = WEEK48_START + timedelta(days=i % 7)
        when = datetime(day.year, day.month, day.day, i % 24, 0).isoformat() + "Z"
        name = f"story-{i:03d}"
        write_article(
            folder / f"day-{i % 7}",
            name,
            date=when,
            categories=[CATEGORIES[i % 5], CATEGORIES[(i + 2) % 5]],
        )
        valid.add(name)
    (folder / "broken-yaml.yaml").write_text(
        "title: Broken\nurl: https://news.example.com/broken\ncategories: [Chips\nsource: x\n", encoding="utf-8"
    )
    write_article(folder, "no-title", omit=["title"])
    write_article(folder, "impossible-date", date="2026-02-30")
    write_article(folder, "ftp-url", url="ftp://files.example.com/story.txt")
    return BadFolder(folder, valid, dict(BAD_FILES))


# --- real tools: headless Chromium and the official MJML compiler ---------------------


def missing_tool(reason: str) -> None:
    """Skip on a laptop without the tool; in CI (CI=true) a missing tool is a failure, never a skip."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run this test; see .ci/run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from digest.browser import CHROMIUM_ARGS, chromium_path

    executable = chromium_path()
    if executable is None:
        missing_tool("no Chromium: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("playwright is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def mjml_cli() -> str:
    """The official `mjml` CLI (npm, v5): installed by `make test` into tools/mjml/."""
    local = Path(__file__).resolve().parents[1] / "tools" / "mjml" / "node_modules" / ".bin" / "mjml"
    found = str(local) if local.exists() else shutil.which("mjml")
    if found is None or shutil.which("node") is None:
        missing_tool("no node or mjml CLI: run `make test` with npm installed")
    return str(found)


# --- shared harnesses ---------------------------------------------------------------------


@pytest.fixture
def run():
    """`run(*args)` invokes the CLI app; exceptions other than exits fail the test instead of hiding."""
    from typer.testing import CliRunner

    from digest.cli import app

    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


@pytest.fixture
def preview_server():
    """`preview_server(root, request)` starts a real preview server on a free loopback port.

    Returns (host, port, previewer); every server started is stopped at teardown,
    and the test fails if one does not stop.
    """
    import socket
    import threading
    import time

    from digest.preview import Previewer, PreviewServer, serve

    running: list[tuple[threading.Thread, threading.Event, str, int]] = []

    def start(root: Path, request: Any) -> tuple[str, int, Previewer]:
        previewer = Previewer(root, request)
        started: list[PreviewServer] = []
        stop = threading.Event()
        thread = threading.Thread(
            target=serve, args=(previewer, "127.0.0.1", 0), kwargs={"ready": started.append, "stop": stop}
        )
        thread.start()
        deadline = time.time() + 10
        while not started and time.time() < deadline:
            time.sleep(0.05)
        assert started, "the server did not start"
        host, port = started[0].server_address[:2]
        running.append((thread, stop, host, port))
        time.sleep(0.3)  # let the watcher register its watches before a test edits files
        return host, port, previewer

    yield start
    for thread, stop, host, port in running:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the server did not stop"
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=1).close()


def http_get(address: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET `path` exactly as given (no client-side clean-up of `..`) from `host:port` or `http://host:port`."""
    import http.client

    host, port = address.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), body
