"""`digest import`: feeds and article pages into article files, from real files and a local HTTP server."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from digest.build import IssueRequest, build_issue
from digest.config import load_config
from digest.content import load_articles
from digest.errors import ContentError, UsageError
from digest.importer import (
    STATE_NAME,
    Block,
    ImportReport,
    html_to_text,
    import_sources,
    load_category_map,
    parse_feed_date,
    slugify,
    sniff,
    split_category_line,
)
from digest.model import Article

FIXTURES = Path(__file__).parent / "fixtures" / "import"
FEEDS = ["rss2.xml", "rss1.rdf", "atom.xml", "feed.json", "latin1.xml"]
PAGES = ["page.txt", "page.html"]
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SLUG_FILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}\.yaml$")

HAND_WRITTEN = {
    "title": "OpenAI Opens a Robotics Lab",
    "url": "https://news.example.com/openai-robotics-lab",
    "date": "2026-11-20",
    "source": "Example News",
    "categories": ["Artificial Intelligence", "OpenAI"],
    "summary": "Written by the editor, by hand.",
}


# --- helpers and fixtures ----------------------------------------------------------


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    """A newsletter folder: config, a content folder with one hand-written article, issues/."""
    (tmp_path / "digest.yaml").write_text("name: Import Weekly\ncontent: content\n", encoding="utf-8")
    (tmp_path / "issues").mkdir()
    write_yaml(tmp_path / "content" / "2026-w47" / "openai-robotics-lab.yaml", HAND_WRITTEN)
    return tmp_path


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run(folder: Path, *sources: str | Path, **options: Any) -> ImportReport:
    """Import into `<folder>/content/imported`, deduplicating against `<folder>/content`."""
    options.setdefault("now", NOW)
    options.setdefault("category_map", load_category_map(FIXTURES / "categories.yaml"))
    return import_sources(
        [str(s) for s in sources], folder / "content" / "imported", content=folder / "content", **options
    )


def fixtures(*names: str) -> list[Path]:
    return [FIXTURES / n for n in names]


def by_status(report: ImportReport, status: str) -> list[str]:
    return [i.title for i in report.items if i.status == status]


def loaded(folder: Path) -> dict[str, Article]:
    """Every article of the content folder by title; the load must report no problem at all."""
    result = load_articles(folder / "content")
    assert result.problems == [], [str(p) for p in result.problems]
    return {a.title: a for a in result.articles}


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def rss(*items: str, title: str = "Test Feed", link: str = "https://feed.example.com/") -> str:
    body = "".join(f"<item>{item}</item>" for item in items)
    channel = f"<title>{title}</title><link>{link}</link>{body}"
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}</channel></rss>'


def item(
    title: str,
    slug: str,
    summary: str = "A summary.",
    day: str = "Tue, 24 Nov 2026 10:00:00 +0000",
    guid: str | None = None,
) -> str:
    guid_xml = f"<guid isPermaLink='false'>{guid}</guid>" if guid else ""
    return f"<title>{title}</title><link>https://feed.example.com/{slug}</link>{guid_xml}<pubDate>{day}</pubDate><description>{summary}</description>"


# --- feeds and pages from files ----------------------------------------------------


def test_every_feed_format_and_both_page_forms_become_valid_articles(newsletter):
    report = run(newsletter, *fixtures(*FEEDS, *PAGES))

    assert [s.kind for s in report.sources] == ["rss20", "rss10", "atom10", "json", "rss20", "page-text", "page-html"]
    assert all(s.error is None for s in report.sources)
    counts = report.counts()
    assert counts["added"] == 16, [(i.status, i.title, i.reason) for i in report.items]
    assert by_status(report, "duplicate") == ["Duplicate Of The Chip Wire Story"]  # same URL, www. and /
    assert by_status(report, "failed") == ["A Link That Is Not A Web Page"]
    assert "javascript" in report.items[4].reason

    articles = loaded(newsletter)
    assert len(articles) == 17  # 16 imported + the hand-written one

    # RSS 2.0: offset kept, categories mapped, HTML reduced, the described <img> with its alt.
    tsmc = articles["TSMC Expands CoWoS Packaging Capacity Again"]
    assert tsmc.published == datetime.fromisoformat("2026-11-24T09:30:00+08:00")
    assert tsmc.published.utcoffset() == timedelta(hours=8)
    assert tsmc.categories == ("Chips & Infrastructure", "Artificial Intelligence")
    assert tsmc.source == "Chip Wire & Friends"
    assert tsmc.author == "Mei Lin"
    assert tsmc.image is not None
    assert (tsmc.image.src, tsmc.image.alt) == (
        "https://chipwire.example.com/img/cowos.jpg",
        "A CoWoS interposer on a wafer",
    )
    assert "alert" not in tsmc.summary.source and "<" not in tsmc.summary.source
    assert "Customers include Nvidia & AMD." in tsmc.summary.plain

    # Script and tags in a title are gone; a relative link is resolved; Markdown in feed text stays text.
    samsung = articles["Samsung Shows HBM4 Samples"]
    assert samsung.url == "https://chipwire.example.com/news/2026/11/25/samsung-hbm4"
    assert samsung.published.utcoffset() == timedelta(hours=-5)
    assert "*HBM4*" in samsung.summary.plain and "<a" not in samsung.summary.html
    assert "javascript" not in samsung.summary.html.replace("(javascript:alert(1))", "")

    asml = articles["Undated: ASML Ships High-NA Tool No. 5"]  # no date: the feed's lastBuildDate
    assert asml.published == datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    assert asml.url == "https://chipwire.example.com/news/news/2026/asml-high-na"
    assert asml.categories == ("News",)  # the default category
    assert "- Fifth tool" in asml.summary.source and "color" not in asml.summary.source
    warnings = {i.title: i.warnings for i in report.items}
    assert any("has no date" in w for w in warnings[asml.title])
    assert any("in the future" in w for w in warnings["Future-Dated Roadmap Leak"])

    # RSS 1.0, Atom (xml:base, relative links, XHTML title, labels), JSON Feed, ISO-8859-1.
    eu = articles["EU Publishes AI Act Guidance for General-Purpose Models"]
    assert eu.categories == ("Policy",) and eu.published.utcoffset() == timedelta(hours=1)
    robots = articles["Warehouse Robots Learn New Tricks"]
    assert robots.url == "https://robots.example.org/blog/posts/warehouse-robots"
    assert robots.categories == ("Robotics", "AI") and robots.source == "Robots & Rovers"
    assert robots.image is not None and robots.image.src == "https://robots.example.org/blog/img/warehouse.jpg"
    assert robots.published == datetime.fromisoformat("2026-11-26T10:00:00-05:00")
    assert articles["Only An Updated Date"].url == "https://robots.example.org/elsewhere/updated-only"
    model = articles["Open-Weights Reasoning Model Tops Benchmarks"]
    assert model.categories == ("Artificial Intelligence",)  # LLMs mapped, Open Source dropped
    assert model.image is not None and model.image.src == "https://modelwatch.example.io/media/benchmark.png"
    assert "steal" not in model.summary.source
    note = next(a for a in articles.values() if a.title.startswith("A short note without a title"))
    assert note.url == "https://modelwatch.example.io/posts/no-title-note"
    french = articles["Résumé des IA génératives"]
    assert french.source == "Café Tech" and french.summary.plain == "Un résumé à lire."

    # Files: slugs inside week folders under `into`, the hidden state file beside them.
    into = newsletter / "content" / "imported"
    for path in into.rglob("*.yaml"):
        assert SLUG_FILE.match(path.name), path
        assert re.fullmatch(r"\d{4}-w\d{2}", path.parent.name), path
    assert (into / STATE_NAME).is_file()
    assert (into / "2031-w49" / "future-dated-roadmap-leak.yaml").is_file()


def test_the_text_page_becomes_one_full_article_and_its_related_news(newsletter):
    report = run(newsletter, FIXTURES / "page.txt")
    articles = loaded(newsletter)
    page = articles["Robot Makers Bet on Foundation Models as Warehouse Demand Climbs"]
    # The run-together category line is split; OpenAI stays whole because the content knows it.
    assert page.categories == ("Industry News", "Robotics", "Artificial Intelligence", "OpenAI")
    assert page.source == "Robotics Daily"
    assert page.summary.plain.startswith("Several robot makers said this week")
    assert [(t.label, t.text.plain[:20]) for t in page.key_takeaways] == [
        ("Model Shift", "Robot makers are rep"),
        ("Demand Pull", "Warehouse operators "),
        ("Cost Curve", "Cheaper inference ma"),
    ]
    assert [s.heading for s in page.analysis] == ["From Scripts to Skills", "Fleet Data as a Moat"]
    assert page.analysis[1].body.plain.startswith("Companies with robots already deployed")
    assert page.impact is not None and page.impact.plain.startswith("The move puts pressure")
    assert [f.question for f in page.faq] == [
        "Why are robot makers adopting foundation models now?",
        "Who benefits most from the shift?",
    ]
    # No link or date in the plain text: a search link and the import date, each with a warning.
    assert page.url.startswith("https://duckduckgo.com/?q=")
    assert page.published == NOW.date()
    assert any("--url" in w for w in report.items[0].warnings)
    assert any("--date" in w for w in report.items[0].warnings)

    related = [a for a in articles.values() if a.related_to]
    assert sorted(a.title for a in related) == [
        "Humanoid Startup Raises Series C to Scale Factory Pilots",
        "Port Automation Deal Signed in Rotterdam",
    ]
    assert {a.related_to for a in related} == {page.id}
    port = articles["Port Automation Deal Signed in Rotterdam"]
    assert port.categories == ("Industry News", "Logistics")
    assert port.summary.plain.startswith("The port of Rotterdam signed")
    assert not port.key_takeaways and not port.analysis


def test_url_and_date_options_give_a_text_page_its_link_and_day(newsletter):
    report = run(
        newsletter,
        FIXTURES / "page.txt",
        page_url="https://roboticsdaily.example.com/foundation-models",
        page_date=date(2026, 11, 26),
    )
    assert report.items[0].warnings == []
    page = loaded(newsletter)["Robot Makers Bet on Foundation Models as Warehouse Demand Climbs"]
    assert page.url == "https://roboticsdaily.example.com/foundation-models"
    assert page.published == date(2026, 11, 26)
    with pytest.raises(UsageError):
        run(newsletter, FIXTURES / "page.txt", FIXTURES / "page.html", page_url="https://example.com/a")
    with pytest.raises(UsageError):
        run(newsletter, FIXTURES / "page.txt", page_url="ftp://example.com/a")


def test_the_html_page_takes_its_link_date_and_image_from_the_markup(newsletter):
    report = run(newsletter, FIXTURES / "page.html")
    assert report.counts()["added"] == 3 and all(not i.warnings for i in report.items)
    articles = loaded(newsletter)
    page = articles["Grid Operators Warn of AI Data-Centre Load"]
    # The source line links to the original story: that is the article's URL.
    assert page.url.startswith("https://energywire.example.eu/2026/11/grid-operators-ai-load")
    assert page.source == "Energy Wire"
    assert page.published == datetime.fromisoformat("2026-11-25T06:30:00+01:00")
    assert page.categories == ("Energy", "Artificial Intelligence", "Europe")
    assert page.image is not None
    assert (page.image.src, page.image.alt) == (
        "https://ainewsroom.example.com/images/grid.jpg",
        "High-voltage lines at dusk",
    )
    assert [t.label for t in page.key_takeaways] == ["Demand Surge", "Siting"]
    assert [s.heading for s in page.analysis] == ["Where the Load Lands", "Permits, Not Power"]
    assert [f.question for f in page.faq] == ["How much extra demand is expected?"]
    assert "not a title" not in page.summary.source and "©" not in json.dumps(
        [a.summary.source for a in articles.values()]
    )
    heat = articles["Data-Centre Heat Warms a Danish Town"]
    assert heat.url == "https://ainewsroom.example.com/news/heat-reuse"  # relative, against the canonical address
    assert heat.source == "AI Newsroom" and heat.related_to == page.id and heat.categories == ("Energy",)


# --- idempotence, and an issue built from the result ------------------------------------


def test_importing_everything_again_adds_nothing_and_the_result_builds_an_issue(newsletter):
    sources = fixtures(*FEEDS, *PAGES)
    first = run(newsletter, *sources)
    assert first.counts()["added"] == 16
    before = files_under(newsletter / "content")

    # A day later: undated entries would get another import date; they are still the same stories.
    again = run(newsletter, *sources, now=NOW + timedelta(days=1))
    counts = again.counts()
    assert counts["added"] == counts["changed"] == counts["updated"] == 0
    assert counts["duplicate"] == 17 and counts["failed"] == 1
    assert files_under(newsletter / "content") == before

    config = load_config(newsletter)
    rendered = build_issue(config, IssueRequest(overrides={"week": "2026-W48"}, today=date(2026, 11, 28)))
    ids = [a["id"] for a in rendered.manifest["articles"]]
    assert len(ids) == 9  # 3 leads + 6 related
    imported = {p.stem for p in (newsletter / "content" / "imported").rglob("*.yaml")}
    assert set(ids) <= imported
    html = rendered.files["email.html"].decode("utf-8")
    text = rendered.files["email.txt"].decode("utf-8")
    assert "<script" not in html and "alert(" not in html and "javascript:" not in html
    assert "Robot Makers Bet on Foundation Models" in text


def test_the_same_story_in_the_content_folder_is_not_imported_again(newsletter):
    write_yaml(
        newsletter / "content" / "by-hand" / "eu-guidance.yaml",
        {
            **HAND_WRITTEN,
            "title": "Editor's Take on the AI Act Guidance",
            "url": "https://policy.example.net/eu-ai-act-guidance/",
        },
    )
    write_yaml(
        newsletter / "content" / "by-hand" / "robots.yaml",
        {**HAND_WRITTEN, "title": "warehouse robots learn NEW tricks!", "url": "https://elsewhere.example.com/robots"},
    )
    report = run(newsletter, *fixtures("rss1.rdf", "atom.xml"))
    reasons = {i.title: i.reason for i in report.items if i.status == "duplicate"}
    assert set(reasons) == {
        "EU Publishes AI Act Guidance for General-Purpose Models",
        "Warehouse Robots Learn New Tricks",
    }
    assert "same URL" in reasons["EU Publishes AI Act Guidance for General-Purpose Models"]
    assert "same title" in reasons["Warehouse Robots Learn New Tricks"]
    assert by_status(report, "added") == ["Only An Updated Date"]


def test_a_changed_entry_is_reported_and_update_rewrites_only_untouched_files(newsletter, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(
        rss(
            item("Alpha Story", "alpha", "First text.", guid="a1"), item("Beta Story", "beta", "First text.", guid="b1")
        )
    )
    assert run(newsletter, feed).counts()["added"] == 2
    alpha, beta = sorted((newsletter / "content" / "imported").rglob("*.yaml"))

    feed.write_text(
        rss(
            item("Alpha Story", "alpha", "Second text.", guid="a1"),
            item("Beta Story", "beta", "Second text.", guid="b1"),
        )
    )
    changed = run(newsletter, feed)
    assert by_status(changed, "changed") == ["Alpha Story", "Beta Story"]
    assert all("--update" in i.reason for i in changed.items)
    assert b"First text." in alpha.read_bytes() and b"First text." in beta.read_bytes()

    edited = alpha.read_text(encoding="utf-8").replace("First text.", "The editor's better text.")
    alpha.write_text(edited, encoding="utf-8")
    updated = run(newsletter, feed, update=True)
    assert by_status(updated, "updated") == ["Beta Story"]
    assert by_status(updated, "changed") == ["Alpha Story"]
    assert "edited" in updated.items[0].reason
    assert alpha.read_text(encoding="utf-8") == edited
    assert b"Second text." in beta.read_bytes()
    assert run(newsletter, feed, update=True).counts()["updated"] == 0

    beta.unlink()  # the editor did not want this story
    after_delete = run(newsletter, feed, update=True)
    assert by_status(after_delete, "added") == []
    assert "deleted" in after_delete.items[1].reason
    assert not beta.exists()


def test_a_changed_guid_less_entry_is_matched_within_its_feed_only(newsletter, tmp_path):
    one, two = tmp_path / "one.xml", tmp_path / "two.xml"
    one.write_text(rss(item("Shared Story", "shared", "From feed one."), title="One"))
    two.write_text(rss(item("Shared Story", "shared", "From feed two."), title="Two"))
    assert run(newsletter, one).counts()["added"] == 1
    report = run(newsletter, two, update=True)
    assert by_status(report, "duplicate") == ["Shared Story"]  # another feed's copy is never "an update"
    (path,) = (newsletter / "content" / "imported").rglob("*.yaml")
    assert b"From feed one." in path.read_bytes()


def test_dry_run_reports_and_writes_nothing(newsletter, snapshot):
    before = snapshot(newsletter)
    report = run(newsletter, *fixtures(*FEEDS, *PAGES), dry_run=True)
    assert report.dry_run and report.counts()["added"] == 16
    assert snapshot(newsletter) == before


def test_since_skips_older_entries(newsletter):
    report = run(newsletter, FIXTURES / "rss2.xml", since=date(2026, 11, 25))
    assert by_status(report, "skipped") == ["TSMC Expands CoWoS Packaging Capacity Again"]
    assert "before --since 2026-11-25" in report.items[0].reason


# --- file names, and nothing outside `into` -------------------------------------------


def test_file_names_are_bounded_slugs_and_never_paths_from_the_feed(newsletter, tmp_path):
    write_yaml(
        newsletter / "content" / "elsewhere" / "chip-news.yaml",
        {**HAND_WRITTEN, "title": "Old", "url": "https://x.example.com/old"},
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(
        rss(
            item("../../../../etc/passwd", "a"),
            item("/absolute/path/..\\windows", "b"),
            item("Chip News", "c"),
            item("Chip news, again", "d"),
            item("人工智能新闻", "e"),
            item("Long " * 100, "f"),
            item("CON", "g"),
        )
    )
    report = run(newsletter, feed)
    assert report.counts()["added"] == 7, [(i.title, i.reason) for i in report.items]
    into = newsletter / "content" / "imported"
    names = sorted(p.name for p in into.rglob("*.yaml"))
    assert all(SLUG_FILE.match(n) for n in names), names
    assert "chip-news-2.yaml" in names and "chip-news-again.yaml" in names  # chip-news is taken by a hand-written file
    assert "etc-passwd.yaml" in names and any(n.startswith("article-") for n in names)
    outside = {p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(into)}
    assert outside == {
        feed,
        newsletter / "digest.yaml",
        newsletter / "content" / "2026-w47" / "openai-robotics-lab.yaml",
        newsletter / "content" / "elsewhere" / "chip-news.yaml",
    }
    loaded(newsletter)


def test_a_linked_week_folder_or_a_forged_state_file_cannot_lead_outside(newsletter, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    into = newsletter / "content" / "imported"
    into.mkdir(parents=True)
    os.symlink(elsewhere, into / "2026-w48")
    (elsewhere / "victim.yaml").write_text("precious: true\n", encoding="utf-8")
    forged = {
        "version": 1,
        "files": [
            {
                "path": "../../../elsewhere/victim.yaml",
                "sha256": "0" * 64,
                "guid": None,
                "url": "feed.example.com/a",
                "title": "a",
                "date": "",
                "source": "x",
            }
        ],
    }
    (into / STATE_NAME).write_text(json.dumps(forged), encoding="utf-8")
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(item("A", "a")))
    report = run(newsletter, feed, update=True)
    assert report.counts()["failed"] == 1 and "outside" in report.items[0].reason
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim.yaml"]
    assert (elsewhere / "victim.yaml").read_text(encoding="utf-8") == "precious: true\n"


# --- bad input: one source fails, the others import --------------------------------------


def test_bad_sources_fail_alone_and_write_nothing(newsletter, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    text = (FIXTURES / "rss2.xml").read_text(encoding="utf-8")
    (bad / "truncated.xml").write_text(text[: len(text) // 2], encoding="utf-8")
    with (bad / "huge.xml").open("wb") as handle:  # 50 MB, sparse: refused before it is read
        handle.truncate(50_000_000)
    (bad / "not-json-feed.json").write_text('{"items": []}', encoding="utf-8")
    (bad / "broken.json").write_text('{"version": "https://jsonfeed.org/version/1.1", "items": [', encoding="utf-8")
    (bad / "some-page.html").write_text(
        '<html><head><link rel="alternate" type="application/rss+xml" href="https://blog.example.com/feed"></head>'
        "<body><h1>About us</h1><p>We are a blog.</p></body></html>",
        encoding="utf-8",
    )
    (bad / "empty.txt").write_text("", encoding="utf-8")
    names = [
        "truncated.xml",
        "huge.xml",
        "not-json-feed.json",
        "broken.json",
        "some-page.html",
        "empty.txt",
        "missing.xml",
    ]
    report = run(newsletter, *[bad / n for n in names], FIXTURES / "rss1.rdf")

    errors = {Path(s.source).name: s.error.message for s in report.sources if s.error}
    assert set(errors) == set(names)
    assert "truncated" in errors["truncated.xml"]
    assert "50.0 MB" in errors["huge.xml"]
    assert "not a JSON Feed" in errors["not-json-feed.json"]
    assert "not valid JSON" in errors["broken.json"]
    assert "expected layout" in errors["some-page.html"]
    page_fix = next(s.error.fix for s in report.sources if s.source.endswith("some-page.html"))
    assert "https://blog.example.com/feed" in page_fix
    assert "does not exist" in errors["missing.xml"]
    assert not report.ok
    assert by_status(report, "added") == ["EU Publishes AI Act Guidance for General-Purpose Models"]
    assert len(list((newsletter / "content" / "imported").rglob("*.yaml"))) == 1


def test_a_malformed_but_complete_feed_is_read_leniently_with_a_warning(newsletter, tmp_path):
    feed = tmp_path / "entity.xml"  # &nbsp; is not an XML entity; a comment follows the root, as caches add
    feed.write_text(rss(item("Undefined&nbsp;Entity", "entity")) + "\n<!-- served from cache -->\n", encoding="utf-8")
    report = run(newsletter, feed)
    assert report.sources[0].error is None
    assert "not well-formed" in report.sources[0].warnings[0].message
    assert by_status(report, "added") == ["Undefined Entity"]  # no-break space read as a space


def test_encodings_other_than_utf8(newsletter, tmp_path):
    atom = (FIXTURES / "atom.xml").read_text(encoding="utf-8").replace('encoding="utf-8"', 'encoding="utf-16"')
    (tmp_path / "utf16.xml").write_bytes(atom.encode("utf-16"))
    page = (FIXTURES / "page.txt").read_text(encoding="utf-8").replace("Robotics Daily", "Robótica Diária")
    (tmp_path / "cp1252.txt").write_bytes(page.replace("•", "-").encode("cp1252"))
    report = run(newsletter, tmp_path / "utf16.xml", tmp_path / "cp1252.txt")
    assert all(s.error is None for s in report.sources), [s.error for s in report.sources]
    assert "Windows-1252" in report.sources[1].warnings[0].message
    articles = loaded(newsletter)
    assert articles["Warehouse Robots Learn New Tricks"].source == "Robots & Rovers"
    assert articles["Robot Makers Bet on Foundation Models as Warehouse Demand Climbs"].source == "Robótica Diária"


def test_category_map_problems_name_the_file_and_key(tmp_path):
    (tmp_path / "broken.yaml").write_text("AI: [unclosed\n", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- AI\n", encoding="utf-8")
    (tmp_path / "nested.yaml").write_text("AI: {a: b}\n", encoding="utf-8")
    for name, field in (("broken.yaml", ""), ("list.yaml", ""), ("nested.yaml", "AI")):
        with pytest.raises(ContentError) as caught:
            load_category_map(tmp_path / name)
        assert caught.value.problems[0].path.endswith(name) and caught.value.problems[0].field == field
    assert load_category_map(FIXTURES / "categories.yaml")["open source"] == ()


# --- over HTTP, on 127.0.0.1 ---------------------------------------------------------------


@pytest.fixture
def feed_server() -> Iterator[SimpleNamespace]:
    """A local HTTP server: fixed routes, plus /hang (never answers), /drip (one byte at a time),
    /huge (announces 50 MB) and /endless (streams without a length)."""
    release = threading.Event()
    routes: dict[str, tuple[bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            try:
                if path == "/hang":
                    release.wait(10)
                elif path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    while not release.wait(0.05):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                elif path == "/huge":
                    self.send_response(200)
                    self.send_header("Content-Length", "50000000")
                    self.end_headers()
                    self.wfile.write(b"<rss>")
                elif path == "/endless":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    for _ in range(200):
                        self.wfile.write(b"<!-- padding -->" * 4096)
                elif path in routes:
                    body, ctype = routes[path]
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404, "Not Found")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", routes=routes)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_feeds_and_pages_over_http_with_timeout_and_size_limit(newsletter, feed_server):
    # No channel link: relative links resolve against the feed's own address.
    feed = rss(item("Served Story", "ignored"), title="Served").replace("<link>https://feed.example.com/</link>", "")
    feed = feed.replace("https://feed.example.com/ignored", "../stories/served")
    feed_server.routes["/feeds/main.xml"] = (feed.encode(), "application/rss+xml; charset=utf-8")
    feed_server.routes["/news/grid"] = ((FIXTURES / "page.html").read_bytes(), "text/html; charset=utf-8")
    url = feed_server.url
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    sources = [
        f"{url}/feeds/main.xml",
        f"{url}/hang",
        f"{url}/drip",
        f"{url}/huge",
        f"{url}/endless",
        f"{url}/missing.xml",
        f"http://127.0.0.1:{closed_port}/feed.xml",
        f"{url}/news/grid",
    ]
    started = time.monotonic()
    report = run(newsletter, *sources, timeout=0.5, max_bytes=1_000_000)
    assert time.monotonic() - started < 6

    errors = {s.source.removeprefix(url): s.error.message for s in report.sources if s.error}
    assert "did not answer within 0.5 seconds" in errors["/hang"]
    assert "did not answer within 0.5 seconds" in errors["/drip"]  # the total deadline, not just each read
    assert "50.0 MB" in errors["/huge"]
    assert "more than the limit of 1.0 MB" in errors["/endless"]
    assert "HTTP 404" in errors["/missing.xml"]
    assert "refused" in errors[f"http://127.0.0.1:{closed_port}/feed.xml"]

    articles = loaded(newsletter)
    assert articles["Served Story"].url == f"{url}/stories/served"
    assert articles["Grid Operators Warn of AI Data-Centre Load"].url.startswith("https://energywire.example.eu/")
    assert len(list((newsletter / "content" / "imported").rglob("*.yaml"))) == 4

    again = run(newsletter, f"{url}/feeds/main.xml", f"{url}/news/grid", timeout=2)
    assert again.counts()["added"] == 0 and again.counts()["duplicate"] == 4


def test_an_unknown_host_says_to_check_the_connection(newsletter, monkeypatch):
    def no_dns(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    report = run(newsletter, "https://feeds.example.invalid/rss")
    error = report.sources[0].error
    assert error is not None and "no such host" in error.message and "offline" in error.fix


def test_only_http_urls_and_files_are_sources(newsletter):
    report = run(newsletter, "file:///etc/passwd", "ftp://example.com/feed.xml", str(FIXTURES))
    assert [s.error.message for s in report.sources if s.error] == [
        "is neither an http(s) URL nor a file",
        "is neither an http(s) URL nor a file",
        "is a folder",
    ]


# --- the pieces ---------------------------------------------------------------------------


def test_html_to_text_uses_a_parser_and_drops_what_is_not_text():
    html = (
        '<p>One <b>bold</b> &amp; <a href="javascript:x()">linked</a> word.</p><script>alert("<p>x</p>")</script>'
        "<style>p{}</style><ul><li>First</li><li>Second</li></ul><p>Line<br>break</p><iframe src=x>frame</iframe>"
        "<p>5 < 6 and 7 > 3</p><svg><text>drawn</text></svg>"
    )
    assert html_to_text(html) == "One bold & linked word.\n\n- First\n- Second\n\nLine\nbreak\n\n5 < 6 and 7 > 3"
    assert (
        html_to_text("<p>*not emphasis* and [not](a link)</p>", markdown=True)
        == r"\*not emphasis\* and \[not\](a link)"
    )
    assert html_to_text("# not a heading\n\n1. not a list", markdown=True) == "\\# not a heading\n\n1\\. not a list"


def test_feed_dates_keep_their_offset():
    assert parse_feed_date("Tue, 24 Nov 2026 09:30:00 +0800") == datetime.fromisoformat("2026-11-24T09:30:00+08:00")
    assert parse_feed_date("Tue, 24 Nov 2026 09:30:00 GMT").utcoffset() == timedelta(0)
    assert parse_feed_date("2026-11-24T09:30:00Z") == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert parse_feed_date("2026-11-24T09:30:00.123-05:00").utcoffset() == timedelta(hours=-5)
    assert parse_feed_date("2026-11-24T09:30:00") == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert parse_feed_date("2026-11-24") == date(2026, 11, 24)
    assert parse_feed_date("2026-02-30") is None
    assert parse_feed_date("yesterday") is None


def test_slugs_and_category_lines():
    assert slugify("Alibaba's Chairman: Power & Open-Source!") == "alibaba-s-chairman-power-open-source"
    assert slugify("Ünïcödé Tïtle") == "unicode-title"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("人工智能") == ""
    assert len(slugify("word " * 50)) <= 60
    seed_line = Block("Industry NewsAlibabaArtificial IntelligenceChina Tech")
    assert split_category_line(seed_line) == ["Industry News", "Alibaba", "Artificial Intelligence", "China Tech"]
    assert split_category_line(Block("Industry NewsOpenAI"), ["OpenAI"]) == ["Industry News", "OpenAI"]
    assert split_category_line(Block("AI, Chips · Policy")) == ["AI", "Chips", "Policy"]
    assert split_category_line(Block("EnergyAI", segments=("Energy", "AI"))) == ["Energy", "AI"]


def test_sniffing_what_a_source_is():
    assert sniff(b'  {"version": "https://jsonfeed.org/version/1.1"}') == "json"
    assert sniff(b'<?xml version="1.0"?><!-- c --><rss version="2.0">') == "xml"
    assert sniff(b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="x">') == "xml"
    assert sniff(b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'>") == "xml"
    assert sniff(b"<!DOCTYPE html><html>") == "html"
    assert sniff(b"Back to List\nA title") == "text"


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli(newsletter, monkeypatch):
    from digest.cli import app

    monkeypatch.chdir(newsletter)
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, ["import", *args, "--today", "2026-11-28"])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


def test_cli_imports_into_the_content_folder_and_reports_json(cli, newsletter):
    args = [str(p) for p in fixtures(*FEEDS)] + ["--category-map", str(FIXTURES / "categories.yaml"), "--json"]
    result = cli(*args)
    assert result.exit_code == 1  # one entry has a javascript: link
    data = json.loads(result.stdout)
    assert data["counts"]["added"] == 10 and data["counts"]["failed"] == 1
    assert data["into"] == "content/imported"
    assert {i["status"] for i in data["items"]} == {"added", "duplicate", "failed"}
    again = json.loads(cli(*args).stdout)
    assert again["counts"]["added"] == 0
    loaded(newsletter)


def test_cli_table_dry_run_and_page_options(cli, newsletter):
    result = cli(
        str(FIXTURES / "page.txt"), "--dry-run", "--url", "https://roboticsdaily.example.com/a", "--date", "2026-11-26"
    )
    assert result.exit_code == 0, result.output
    assert "added" in result.stdout and "Robot Makers Bet" in result.stdout and "dry run" in result.stdout
    assert not (newsletter / "content" / "imported").exists()
    result = cli(str(FIXTURES / "page.txt"), "--into", "content/pages", "--url", "https://roboticsdaily.example.com/a")
    assert result.exit_code == 0, result.output
    assert len(list((newsletter / "content" / "pages").rglob("*.yaml"))) == 3


def test_cli_reports_a_failed_source_and_bad_options(cli):
    result = cli("missing.xml", str(FIXTURES / "rss1.rdf"))
    assert result.exit_code == 1
    assert "missing.xml" in result.stderr and "does not exist" in result.stderr
    assert "EU Publishes AI Act Guidance" in result.stdout
    assert cli("x.xml", "--since", "last week").exit_code == 2
    assert cli("x.xml", "--category-map", "nope.yaml").exit_code == 1


def test_cli_help_has_an_example():
    from digest.cli import app

    result = CliRunner().invoke(app, ["import", "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout and "--update" in result.stdout
