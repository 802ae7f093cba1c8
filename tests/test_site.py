"""`digest site`: the static web archive, its feed and sitemap, incremental writes, and the preview route."""

from __future__ import annotations

import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
import yaml
from conftest import http_get
from typer.testing import CliRunner

from digest.build import IssueRequest, build_issue
from digest.config import load_config
from digest.errors import ContentError, ExportError, RenderError, UsageError
from digest.preview import Previewer
from digest.site import MANIFEST_NAME, SiteReport, build_site, render_site, site_file

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 28)
SAMPLE_SLUGS = ["2026-w48", "2026-w47", "2026-w46"]  # newest first
BASE = "https://news.example.org/"
HOSTILE = '<script>alert(1)</script> & "quotes" ]]> {{ 7*7 }} \x01ctl'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
VAGUE_LINK_TEXT = {"here", "click here", "read more", "more", "link", "this"}


# --- reading what the build wrote ---------------------------------------------------


class Page(HTMLParser):
    """One HTML page: whether its tags nest, its headings, links, images, ids and meta tags."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.errors: list[str] = []
        self.stack: list[str] = []
        self.html_lang: str | None = None
        self.headings: list[int] = []
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.images: list[dict[str, str | None]] = []
        self.ids: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self._link_text: list[str] | None = None
        self._href = ""
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "html":
            self.html_lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "img":
            self.images.append(a)
        if tag == "meta" and (a.get("property") or a.get("name")):
            self.meta[str(a.get("property") or a.get("name"))] = str(a.get("content"))
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")
        if tag == "a":
            self._link_text, self._href = [], str(a.get("href"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag == "a" and self._link_text is not None:
            self.links.append((self._href, " ".join("".join(self._link_text).split())))
            self._link_text = None

    def handle_data(self, data: str) -> None:
        if self._link_text is not None:
            self._link_text.append(data)

    def hrefs(self) -> list[str]:
        return [href for href, _ in self.links] + [str(i["src"]) for i in self.images]


def html_files(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.html"))}


def resolve(out: Path, page: str, href: str) -> tuple[str, str] | None:
    """An internal link of `page` as (file relative to `out`, fragment); None for external links."""
    parts = urlsplit(href)
    if parts.scheme or href.startswith("//"):
        return None
    target = urlsplit(urljoin("http://site.invalid/" + page, href))
    path = target.path.lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return path, target.fragment


def url_to_file(base: str, url: str) -> str | None:
    """An absolute URL of the archive as the file that serves it; None when outside `base`."""
    if not url.startswith(base):
        return None
    rest = urlsplit(url[len(base) :]).path
    return rest + "index.html" if rest == "" or rest.endswith("/") else rest


def snapshot(out: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in out.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteReport, Path]:
    """The archive of the sample newsletter (seeds/ and issues/ of the repo), built once."""
    out = tmp_path_factory.mktemp("site")
    report = build_site(load_config(ROOT), out, today=TODAY)
    return report, out


def story(slug: str, day: str, categories: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "title": f"Story {slug}",
        "url": f"https://news.example.com/{slug}",
        "date": day,
        "source": "Example News",
        "categories": categories,
        "summary": f"Summary of {slug}, long enough to read like the summary of a story.",
        "key_takeaways": ["Point: something to know."],
        **fields,
    }


def write_newsletter(root: Path, view_online: str = BASE + "issues/{slug}/") -> Path:
    """A small newsletter: three weekly issues of three stories each, in tmp_path."""
    (root / "content").mkdir(parents=True)
    (root / "issues").mkdir()
    config = {
        "name": "Test Weekly",
        "tagline": "A week of tests",
        "content": "content",
        "links": {"website": BASE, "view_online": view_online},
    }
    (root / "digest.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    mondays = {46: 9, 47: 16, 48: 23}
    for week, monday in mondays.items():
        for i in range(3):
            day = f"2026-11-{monday + 1 + i}"
            cats = [["Policy"], ["Chips", "Policy"], ["Robotics"]][i]
            write_story(root, f"w{week}-{i}", story(f"w{week}-{i}", day, cats))
        definition = {"title": f"Week {week}", "number": week, "date": f"2026-11-{14 + 7 * (week - 46)}"}
        definition |= {"week": f"2026-W{week}", "leads": 2, "rail": 3, "intro": f"The *intro* of week {week}."}
        (root / "issues" / f"w{week}.yaml").write_text(yaml.safe_dump(definition), encoding="utf-8")
    return root


def write_story(root: Path, name: str, data: dict[str, Any]) -> None:
    (root / "content" / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    return write_newsletter(tmp_path / "news")


def build(root: Path, out: Path, base_url: str | None = None) -> SiteReport:
    return build_site(load_config(root), out, base_url, today=TODAY)


# --- the sample archive -------------------------------------------------------------


def test_the_sample_archive_has_every_issue_newest_first(sample):
    report, out = sample
    assert report.issues == SAMPLE_SLUGS
    assert report.problems == [] and report.warnings == []
    for slug in SAMPLE_SLUGS:
        assert (out / "issues" / slug / "index.html").is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    positions = [index.index(f'href="issues/{slug}/"') for slug in SAMPLE_SLUGS]
    assert positions == sorted(positions), "newest issue first"
    config = load_config(ROOT)
    for slug in SAMPLE_SLUGS:
        rendered = build_issue(config, IssueRequest(issue=slug, today=TODAY))
        manifest = rendered.manifest
        assert Page("index", index)  # parses
        assert manifest["title"].replace("'", "&#39;") in index
        day = date.fromisoformat(manifest["date"])
        assert f'datetime="{manifest["date"]}"' in index and f"{day.day} {day:%B %Y}" in index
        for article in manifest["articles"]:
            if article["role"] == "lead":
                assert f'href="issues/{slug}/#{article["id"]}"' in index, (slug, article["id"])


def test_every_page_parses_and_is_accessible(sample):
    _, out = sample
    pages = html_files(out)
    assert len(pages) >= 3 + 1 + 1 + 5  # issues, index, categories index, categories
    for name, text in pages.items():
        page = Page(name, text)
        assert page.errors == [], (name, page.errors[:5])
        assert page.html_lang == "en", name
        assert page.headings and page.headings[0] == 1 and page.headings.count(1) == 1, (name, page.headings)
        for before, after in zip(page.headings, page.headings[1:], strict=False):
            assert after <= before + 1, (name, "heading levels skip", page.headings)
        assert all(img.get("alt") for img in page.images), name
        assert len(page.ids) == len(set(page.ids)), (name, "duplicate ids")
        targets: dict[str, str] = {}
        for href, text_ in page.links:
            assert text_ and text_.casefold() not in VAGUE_LINK_TEXT, (name, href, text_)
            # The same link text never leads to two different places on one page.
            assert targets.setdefault(text_, href) == href, (name, text_, href, targets[text_])
        assert '<meta name="viewport"' in text and "prefers-color-scheme:dark" in text, name
        assert "<script" not in text, "the archive needs no JavaScript"


def test_every_internal_link_resolves_to_a_file_of_the_archive(sample):
    report, out = sample
    pages = html_files(out)
    checked = 0
    for name, text in pages.items():
        page = Page(name, text)
        for href in page.hrefs():
            found = resolve(out, name, href)
            if found is None:
                continue  # an article, or the newsletter's own preferences page
            path, fragment = found
            assert (out / path).is_file(), (name, href)
            if fragment:
                assert f'id="{fragment}"' in pages[path], (name, href)
            checked += 1
        for url in [page.canonical, page.meta.get("og:url")]:
            if url:
                assert (out / str(url_to_file(report.base_url, url))).is_file(), (name, url)
    assert checked > 100


def test_the_feed_parses_and_lists_every_issue(sample):
    report, out = sample
    parsed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "The AI Week"
    assert parsed.feed.links[0].href == report.base_url + "feed.xml"
    assert [e.link for e in parsed.entries] == [report.urls[slug] for slug in SAMPLE_SLUGS]
    config = load_config(ROOT)
    for entry, slug in zip(parsed.entries, SAMPLE_SLUGS, strict=True):
        manifest = build_issue(config, IssueRequest(issue=slug, today=TODAY)).manifest
        assert entry.title == manifest["title"]
        assert entry.id == report.urls[slug]
        assert entry.updated.startswith(manifest["date"])
        assert entry.summary == manifest["preheader"]
        leads = [a for a in manifest["articles"] if a["role"] == "lead"]
        assert all(lead["title"] in entry.content[0].value for lead in leads)


def test_the_sitemap_lists_every_page(sample):
    report, out = sample
    tree = ET.parse(out / "sitemap.xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in tree.getroot().findall("s:url/s:loc", ns)]
    files = {url_to_file(report.base_url, str(loc)) for loc in locs}
    assert files == set(html_files(out))
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(m.text)) for m in tree.getroot().findall("s:url/s:lastmod", ns))


@pytest.mark.parametrize("base_url", [None, "https://theaiweek.example"])
def test_the_emails_view_online_link_is_the_issue_pages_url(tmp_path, base_url):
    config = load_config(ROOT)
    report = build_site(config, tmp_path, base_url, today=TODAY)
    assert report.base_url == "https://theaiweek.example/" and report.warnings == []
    for slug in SAMPLE_SLUGS:
        rendered = build_issue(config, IssueRequest(issue=slug, today=TODAY))
        page = Page("email", rendered.files["email.html"].decode("utf-8"))
        view_online = [href for href, text in page.links if text == "View online"]
        assert view_online == [report.urls[slug]]
        assert report.urls[slug] in rendered.files["email.txt"].decode("utf-8")
        assert (tmp_path / str(url_to_file(report.base_url, view_online[0]))).is_file()
        canonical = Page(slug, (tmp_path / "issues" / slug / "index.html").read_text(encoding="utf-8")).canonical
        assert canonical == view_online[0]


def test_issue_pages_carry_open_graph_and_twitter_cards(sample):
    report, out = sample
    w48 = Page("w48", (out / "issues/2026-w48/index.html").read_text(encoding="utf-8"))
    manifest = build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY)).manifest
    assert w48.meta["og:type"] == "article"
    assert w48.meta["og:title"] == w48.meta["twitter:title"] == manifest["title"]
    assert w48.meta["og:description"] == w48.meta["twitter:description"] == manifest["preheader"]
    assert w48.meta["og:url"] == w48.canonical == report.urls["2026-w48"]
    assert w48.meta["og:image"].startswith("https://") and w48.meta["og:image:alt"]
    assert w48.meta["twitter:card"] == "summary_large_image"
    w46 = Page("w46", (out / "issues/2026-w46/index.html").read_text(encoding="utf-8"))
    assert w46.meta["twitter:card"] == "summary" and "og:image" not in w46.meta, "no lead image, no image card"


def test_an_issue_page_is_the_web_version_with_the_archives_navigation(sample):
    _, out = sample
    web = build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY)).files["web.html"].decode()
    page = (out / "issues/2026-w48/index.html").read_text(encoding="utf-8")
    for section in (
        "Key takeaways",
        "In-depth analysis",
        "Industry impact",
        "Frequently asked questions",
        "Related news",
    ):
        assert section in page
    story_links = [
        href for href, _ in Page("web", web).links if href.startswith("https://") and "theaiweek" not in href
    ]
    assert story_links and all(f'href="{href}"' in page for href in story_links)
    assert 'href="../../categories/policy/"' in page, "category labels link to their pages"
    assert 'rel="prev" href="../../issues/2026-w47/"' in page
    assert "Unsubscribe" not in page, "an archive page is public: no subscriber-only links"


def test_category_pages_list_the_stories_that_ran_under_them_across_issues(sample):
    report, out = sample
    config = load_config(ROOT)
    for slug in SAMPLE_SLUGS:
        plan_articles = build_issue(config, IssueRequest(issue=slug, today=TODAY)).manifest["articles"]
        for article in plan_articles:
            # Each story appears on the page of every one of its categories, linking to where it ran.
            pages_with_it = [
                name
                for name, text in html_files(out).items()
                if name.startswith("categories/") and f'href="../../issues/{slug}/#{article["id"]}"' in text
            ]
            assert pages_with_it, (slug, article["id"])
    ai = (out / "categories/artificial-intelligence/index.html").read_text(encoding="utf-8")
    assert all(f'href="../../issues/{slug}/"' in ai for slug in SAMPLE_SLUGS)
    listing = (out / "categories/index.html").read_text(encoding="utf-8")
    assert 'href="../categories/artificial-intelligence/"' in listing and "Chips &amp; Infrastructure" in listing


def test_categories_match_whatever_their_case(newsletter, tmp_path):
    write_story(newsletter, "w48-0", story("w48-0", "2026-11-24", ["POLICY"]))
    build(newsletter, tmp_path / "out")
    names = sorted(p.parent.name for p in (tmp_path / "out" / "categories").glob("*/index.html"))
    assert names == ["chips", "policy", "robotics"]


# --- escaping -------------------------------------------------------------------------------


def test_article_text_is_escaped_in_pages_feed_and_sitemap(newsletter, tmp_path):
    write_story(
        newsletter, "w48-0", story("w48-0", "2026-11-24", [HOSTILE], title=HOSTILE, summary=HOSTILE, priority=9)
    )
    out = tmp_path / "out"
    build(newsletter, out)
    for name, text in html_files(out).items():
        assert "<script>alert" not in text, name
        assert Page(name, text).errors == [], name
    feed = (out / "feed.xml").read_bytes()
    ET.fromstring(feed)  # well-formed XML: escaped, and the control character dropped
    ET.parse(out / "sitemap.xml")
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    content = parsed.entries[0].content[0].value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content and "<script>" not in content
    assert {t.term for t in parsed.entries[0].tags} >= {HOSTILE.replace("\x01", "")}


# --- incremental writes and removals ----------------------------------------------------------


def test_an_unchanged_archive_is_not_rewritten(newsletter, tmp_path):
    out = tmp_path / "out"
    first = build(newsletter, out)
    assert first.unchanged == [] and first.removed == [] and "issues/w48/index.html" in first.written
    before = snapshot(out)
    time.sleep(0.01)
    second = build(newsletter, out)
    assert second.written == [] and second.removed == []
    assert sorted(second.unchanged) == sorted(first.written)
    assert snapshot(out) == before, "same bytes, same mtimes"


def test_a_change_rewrites_only_the_pages_it_touches(newsletter, tmp_path):
    out = tmp_path / "out"
    build(newsletter, out)
    before = snapshot(out)
    write_story(newsletter, "w46-2", story("w46-2", "2026-11-12", ["Robotics"], summary="A corrected summary."))
    report = build(newsletter, out)
    assert "issues/w46/index.html" in report.written and "feed.xml" in report.written
    assert "categories/robotics/index.html" in report.written
    for untouched in ("issues/w47/index.html", "issues/w48/index.html", "categories/chips/index.html", "sitemap.xml"):
        assert untouched in report.unchanged
        assert snapshot(out)[untouched] == before[untouched]


def test_a_removed_issue_loses_its_pages_and_nothing_else_is_deleted(newsletter, tmp_path):
    out = tmp_path / "out"
    build(newsletter, out)
    (out / "CNAME").write_text("news.example.org\n")
    (out / "issues" / "notes.txt").write_text("the host's own file\n")
    (out / ".well-known").mkdir()
    (out / ".well-known" / "security.txt").write_text("Contact: mailto:sec@example.org\n")
    (newsletter / "issues" / "w46.yaml").unlink()
    report = build(newsletter, out)
    assert report.removed == ["issues/w46/index.html"]
    assert not (out / "issues" / "w46").exists(), "the emptied folder goes too"
    assert (out / "CNAME").is_file() and (out / "issues" / "notes.txt").is_file()
    assert (out / ".well-known" / "security.txt").is_file()
    assert "w46" not in (out / "index.html").read_text() and "w46" not in (out / "feed.xml").read_text()
    manifest = (out / MANIFEST_NAME).read_text()
    assert "issues/w46/index.html" not in manifest and "issues/w47/index.html" in manifest
    assert report.issues == ["w48", "w47"]


def test_a_manifest_cannot_make_the_build_delete_outside_its_files(newsletter, tmp_path):
    out = tmp_path / "out"
    build(newsletter, out)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (out / "mine.txt").write_text("keep me too")
    (out / "issues" / "w48" / "keep").mkdir()
    manifest = (out / MANIFEST_NAME).read_text()
    hostile = ["../outside.txt", str(outside), "issues/../mine.txt", "", "issues/w48/keep"]
    (out / MANIFEST_NAME).write_text(
        manifest.replace('"files": [', '"files": [' + ", ".join(f'"{h}"' for h in hostile) + ", ")
    )
    report = build(newsletter, out)
    assert outside.read_text() == "keep me" and (out / "mine.txt").is_file() and (out / "issues/w48/keep").is_dir()
    assert report.removed == []
    assert any("not a file of the archive" in w for w in report.warnings)


def test_the_build_never_writes_through_a_symbolic_link(newsletter, tmp_path):
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    os.symlink(elsewhere, out / "issues")
    with pytest.raises(ExportError, match="symbolic link"):
        build(newsletter, out)
    assert list(elsewhere.iterdir()) == []


def test_a_file_the_user_replaced_with_a_link_is_left_alone(newsletter, tmp_path):
    out = tmp_path / "out"
    build(newsletter, out)
    target = tmp_path / "target.html"
    target.write_text("the user's")
    (out / "issues/w46/index.html").unlink()
    os.symlink(target, out / "issues/w46/index.html")
    (newsletter / "issues" / "w46.yaml").unlink()
    report = build(newsletter, out)
    assert target.read_text() == "the user's" and (out / "issues/w46/index.html").is_symlink()
    assert report.removed == [] and any("left" in w for w in report.warnings)


def test_written_files_are_readable_by_a_web_server(newsletter, tmp_path):
    out = tmp_path / "out"
    build(newsletter, out)
    assert (out / "index.html").stat().st_mode & 0o044 == 0o044


# --- URLs and problems --------------------------------------------------------------------


def test_issue_pages_follow_a_view_online_pattern_under_the_base_url(tmp_path):
    root = write_newsletter(tmp_path / "news", view_online=BASE + "archive/{slug}.html")
    out = tmp_path / "out"
    report = build(root, out)
    assert report.warnings == []
    assert report.urls["w48"] == BASE + "archive/w48.html" and (out / "archive" / "w48.html").is_file()
    page = (out / "archive" / "w48.html").read_text()
    assert 'href="../categories/policy/"' in page and 'href="../"' in page
    for name, text in html_files(out).items():
        for href in Page(name, text).hrefs():
            found = resolve(out, name, href)
            assert found is None or (out / found[0]).is_file(), (name, href)


def test_a_view_online_link_outside_the_base_url_is_a_warning(newsletter, tmp_path):
    report = build(newsletter, tmp_path / "out", base_url="https://archive.example.net/news")
    assert report.base_url == "https://archive.example.net/news/"
    assert report.urls["w48"] == "https://archive.example.net/news/issues/w48/"
    assert len(report.warnings) == 1 and "not under the archive's base URL" in report.warnings[0]


@pytest.mark.parametrize(
    "url", ["ftp://example.org/", "example.org", "https://example.org/?a=1", "https://ex ample.org/"]
)
def test_a_base_url_that_is_not_http_is_a_usage_error(newsletter, tmp_path, url):
    with pytest.raises(UsageError):
        build(newsletter, tmp_path / "out", base_url=url)
    assert not (tmp_path / "out").exists()


def test_every_broken_issue_definition_is_reported_and_nothing_is_written(newsletter, tmp_path):
    (newsletter / "issues" / "w46.yaml").write_text("week: 2026-W99\n")
    (newsletter / "issues" / "w47.yaml").write_text("leads: [no-such-story]\nweek: 2026-W47\n")
    with pytest.raises(ContentError) as caught:
        build(newsletter, tmp_path / "out")
    assert {p.path for p in caught.value.problems} == {"issues/w46.yaml", "issues/w47.yaml"}
    assert not (tmp_path / "out").exists()


def test_an_issue_slug_that_would_overwrite_another_page_is_refused(tmp_path):
    root = write_newsletter(tmp_path / "news", view_online=BASE + "{slug}/")
    shutil.copy(root / "issues" / "w48.yaml", root / "issues" / "categories.yaml")
    with pytest.raises(RenderError, match="categories/index.html"):
        build(root, tmp_path / "out")


def test_an_archive_without_issues_is_empty_but_valid(tmp_path):
    root = write_newsletter(tmp_path / "news")
    for definition in (root / "issues").iterdir():
        definition.unlink()
    out = tmp_path / "out"
    report = build(root, out)
    assert report.issues == [] and "archive is empty" in report.warnings[0]
    assert "No issues yet" in (out / "index.html").read_text()
    parsed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not parsed.bozo and parsed.entries == []


# --- the command -------------------------------------------------------------------------------


def test_the_site_command_builds_then_reports_nothing_to_write(newsletter, tmp_path, monkeypatch):
    from digest.cli import app

    monkeypatch.chdir(newsletter)
    runner = CliRunner()
    out = tmp_path / "public"
    first = runner.invoke(app, ["site", "--out", str(out), "--base-url", BASE])
    assert first.exit_code == 0, first.output
    assert "3 issue" in first.stdout and (out / "issues" / "w48" / "index.html").is_file()
    second = runner.invoke(app, ["site", "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert "0 written" in second.stdout
    moved = runner.invoke(app, ["site", "--out", str(out), "--base-url", "https://elsewhere.example/"])
    assert moved.exit_code == 0 and "warning" in moved.stderr and "not under the archive's base URL" in moved.stderr


def test_the_site_command_defaults_to_the_output_folder(newsletter, monkeypatch):
    from digest.cli import app

    monkeypatch.chdir(newsletter)
    result = CliRunner().invoke(app, ["site"])
    assert result.exit_code == 0, result.output
    assert (newsletter / "build" / "_site" / "index.html").is_file()


def test_the_site_command_turns_problems_into_exit_codes(newsletter, tmp_path, monkeypatch):
    from digest.cli import app

    monkeypatch.chdir(newsletter)
    (newsletter / "issues" / "w46.yaml").write_text("week: nope\n")
    broken = CliRunner().invoke(app, ["site", "--out", str(tmp_path / "o")])
    assert broken.exit_code == 1 and "issues/w46.yaml" in broken.stderr
    usage = CliRunner().invoke(app, ["site", "--base-url", "ftp://x"])
    assert usage.exit_code == 2


# --- digest preview: /site/ ---------------------------------------------------------------------


@pytest.fixture
def server(newsletter: Path, preview_server) -> tuple[str, Previewer]:
    """A running preview server for the small newsletter, on a free loopback port."""
    host, port, previewer = preview_server(newsletter, IssueRequest(today=TODAY))
    return f"{host}:{port}", previewer


def test_the_preview_serves_the_archive(server):
    address, _ = server
    status, headers, body = http_get(address, "/site/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'href="issues/w48/"' in body
    status, _, page = http_get(address, "/site/issues/w48/")
    assert status == 200 and b"Week 48" in page
    status, headers, feed = http_get(address, "/site/feed.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    assert len(feedparser.parse(feed).entries) == 3
    assert http_get(address, "/site/categories/policy/")[0] == 200
    assert b"/site/" in http_get(address, "/")[2], "the preview's index links to the archive"
    status, _, dark = http_get(address, "/site/issues/w48/?scheme=dark")
    assert status == 200 and b"@media all" in dark


@pytest.mark.parametrize("path", ["/site", "/site/issues/w48", "/site/categories"])
def test_the_preview_redirects_folders_to_their_slash(server, path):
    address, _ = server
    status, headers, _ = http_get(address, path)
    assert status == 308 and headers["Location"] == path + "/"


@pytest.mark.parametrize(
    "path",
    [
        "/site/../digest.yaml",
        "/site/%2e%2e/digest.yaml",
        "/site/..%2fdigest.yaml",
        "/site/issues/../../digest.yaml",
        "/site/issues/%2e%2e%2f%2e%2e%2fdigest.yaml",
        "/site//etc/passwd",
        "/site/%2fetc%2fpasswd",
        "/site/..%5c..%5cdigest.yaml",
        "/site/issues/w48/index.html/..",
        "/site/./index.html",
        "/site/issues//w48/",
        "/site/" + MANIFEST_NAME,
        "/site/content/w48-0.yaml",
        "/site/issues/w48.yaml",
        "/site/%00index.html",
    ],
)
def test_nothing_outside_the_archive_is_reachable(server, path):
    address, _ = server
    status, _, body = http_get(address, path)
    assert status == 404, (path, body[:200])
    assert b"root:" not in body and b"content:" not in body and b"title:" not in body


def test_site_file_only_matches_names_the_build_produced():
    files = {"index.html": b"i", "issues/a/index.html": b"a", "feed.xml": b"f"}
    assert site_file(files, "") == ("index.html", b"i")
    assert site_file(files, "issues/a/") == ("issues/a/index.html", b"a")
    for bad in [
        "../index.html",
        "issues/../index.html",
        "/index.html",
        "issues//a/",
        "issues\\a\\index.html",
        "./index.html",
    ]:
        assert site_file(files, bad) is None, bad


def test_the_preview_rebuilds_the_archive_after_a_change(server, newsletter):
    address, previewer = server
    assert b"Week 48" in http_get(address, "/site/")[2]
    definition = yaml.safe_load((newsletter / "issues" / "w48.yaml").read_text())
    (newsletter / "issues" / "w48.yaml").write_text(yaml.safe_dump(definition | {"title": "Retitled week"}))
    previewer.rebuild_all()  # what the file watcher does on a save
    assert b"Retitled week" in http_get(address, "/site/")[2]


def test_the_preview_shows_why_the_archive_cannot_be_built(server, newsletter):
    address, previewer = server
    (newsletter / "issues" / "w46.yaml").write_text("week: nope\n")
    previewer.rebuild_all()
    status, _, body = http_get(address, "/site/")
    assert status == 500 and b"issues/w46.yaml" in body


# --- in a browser ---------------------------------------------------------------------------------

CONTRAST_SCRIPT = """() => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest('.vh')) continue;
    const [a, b] = [lum(parse(getComputedStyle(el).color)), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) low.push(el.tagName + '.' + el.className + ' ' + ratio.toFixed(2));
  }
  return low;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["index.html", "issues/2026-w48/index.html", "categories/policy/index.html"])
def test_pages_fit_a_phone_and_read_at_4_5_to_1(sample, browser, name, scheme):
    _, out = sample
    page = browser.new_page(viewport={"width": 375, "height": 800}, color_scheme=scheme, java_script_enabled=True)
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_())
    page.goto((out / name).as_uri())
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 375 px"
    assert page.evaluate(CONTRAST_SCRIPT) == []
    page.close()


def test_the_archive_is_built_in_memory_without_writing(tmp_path):
    root = write_newsletter(tmp_path / "news")

    def listing() -> list[str]:  # the content cache (.cache/) may fill; nothing else may appear
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".cache" not in p.parts)

    before = listing()
    site = render_site(load_config(root), today=TODAY)
    assert "issues/w48/index.html" in site.files and "feed.xml" in site.files and MANIFEST_NAME not in site.files
    assert listing() == before
    assert {str(PurePosixPath(name).parent) for name in site.files} >= {"issues/w48", "categories/policy", "."}


def test_story_links_in_the_archive_carry_no_email_utm_tags(tmp_path):
    root = write_newsletter(tmp_path / "news")
    config = yaml.safe_load((root / "digest.yaml").read_text())
    (root / "digest.yaml").write_text(yaml.safe_dump(config | {"utm": {"source": "testweekly", "medium": "email"}}))
    email = build_issue(load_config(root), IssueRequest(issue="w48", today=TODAY)).files["web.html"]
    assert b"utm_medium=email" in email, "the email's own web version keeps them"
    out = tmp_path / "out"
    build(root, out)
    assert not [name for name, text in html_files(out).items() if "utm_" in text]
    assert b"utm_" not in (out / "feed.xml").read_bytes()


def test_strict_makes_a_broken_article_fatal_and_reports_it_once(newsletter, tmp_path):
    (newsletter / "content" / "broken.yaml").write_text("title: [unclosed\n")
    assert build(newsletter, tmp_path / "lenient").problems[0].path == "content/broken.yaml"
    with pytest.raises(ContentError) as caught:
        build_site(load_config(newsletter), tmp_path / "out", today=TODAY, strict=True)
    assert [p.path for p in caught.value.problems] == ["content/broken.yaml"]
    assert not (tmp_path / "out").exists()
