"""The email itself: the sample issue's outputs, escaping, sizes, and the text version."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from digest.build import IssueRequest, build_issue, write_outputs
from digest.config import load_config
from digest.errors import RenderError

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 28)
HOSTILE_TITLE = "<script>alert(1)</script></mj-text><mj-raw><b>x</b></mj-raw> {{ 7*7 }} {% if 1 %}evaluated{% endif %}"


class Collector(HTMLParser):
    """Tags, attributes, link targets and visible text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def hrefs(self) -> list[str]:
        return [a["href"] for tag, a in self.tags if tag == "a" and a.get("href")]


def parse_html(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    return collector


def text_lines_ok(text: str, limit: int = 78) -> list[str]:
    """Lines over `limit` columns, except a reference line holding one unbreakable URL."""
    return [line for line in text.splitlines() if len(line) > limit and not re.fullmatch(r"\[\d+\] \S+", line)]


@pytest.fixture(scope="module")
def sample() -> dict[str, str]:
    rendered = build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY))
    return {name: data.decode("utf-8") for name, data in rendered.files.items()}


def make_newsletter(
    tmp_path: Path, articles: list[dict], issue: dict | None = None, config: dict | None = None
) -> Path:
    """A newsletter folder on disk: digest.yaml, content/ with the articles, issues/."""
    (tmp_path / "content").mkdir()
    (tmp_path / "issues").mkdir()
    base = {"name": "Test Weekly", "content": "content", "sender": {"name": "Test Weekly", "email": "news@example.org"}}
    (tmp_path / "digest.yaml").write_text(yaml.safe_dump(base | (config or {})), encoding="utf-8")
    for i, article in enumerate(articles):
        (tmp_path / "content" / f"a{i:03d}.yaml").write_text(
            yaml.safe_dump(article, allow_unicode=True), encoding="utf-8"
        )
    if issue is not None:
        (tmp_path / "issues" / "test.yaml").write_text(yaml.safe_dump(issue, allow_unicode=True), encoding="utf-8")
    return tmp_path


def article(i: int, **fields: object) -> dict:
    body = {
        "title": f"Story number {i} about chips and models",
        "url": f"https://news.example.com/story-{i}",
        "date": f"2026-11-{23 + i % 6:02d}",
        "source": "Example News",
        "categories": ["Artificial Intelligence", "Chips & Infrastructure"][: 1 + i % 2],
        "summary": "A summary of the story with enough words to look like a real news summary. " * 3,
        "key_takeaways": ["Point One: the first thing to know.", "Point Two: the second thing to know."],
        "impact": "What it means for the industry, in two sentences. It matters.",
    }
    body.update(fields)
    return body


# --- the sample issue ---------------------------------------------------------


def test_sample_has_every_output(sample: dict[str, str]) -> None:
    assert set(sample) == {"email.html", "email.txt", "email.mjml", "web.html", "email.eml", "manifest.json"}


def test_sample_matches_golden_files(sample: dict[str, str]) -> None:
    for name in ("email.txt", "email.mjml"):
        golden = (ROOT / "tests" / "golden" / "2026-w48" / name).read_text(encoding="utf-8")
        assert sample[name] == golden, f"{name} differs from tests/golden: run `make golden` and review the diff"


def test_html_keeps_what_mail_clients_need_after_inlining(sample: dict[str, str]) -> None:
    html = sample["email.html"]
    assert html.startswith("<!doctype html>")
    assert "<!--[if mso | IE]>" in html and "<![endif]-->" in html
    assert "<o:OfficeDocumentSettings>" in html
    doc = parse_html(html)
    css = "".join(doc.styles)
    assert "#outlook a" in css
    assert "fonts.googleapis.com" not in html, "no web font requests: system fonts only"
    assert re.search(r"@media only screen and \(max-width:480px\)", css)
    assert "@media (prefers-color-scheme:dark)" in css
    assert "!important" in css, "the dark palette must override inlined colours"
    assert len(css.encode()) < 16 * 1024, "Gmail drops <style> blocks over 16 KB"
    html_tag = next(a for tag, a in doc.tags if tag == "html")
    assert html_tag.get("lang") == "en"
    metas = {a.get("name"): a.get("content") for tag, a in doc.tags if tag == "meta"}
    assert metas.get("color-scheme") == "light dark"
    assert all(a.get("role") == "presentation" for tag, a in doc.tags if tag == "table")
    assert all(a.get("alt") for tag, a in doc.tags if tag == "img")
    headings = [tag for tag, _ in doc.tags if tag in ("h1", "h2", "h3")]
    assert headings[0] == "h1" and headings.count("h1") == 1 and "h2" in headings and "h3" in headings


def test_inlining_moved_the_template_css_into_attributes(sample: dict[str, str]) -> None:
    html = sample["email.html"]
    assert "digest:inline" not in html
    doc = parse_html(html)
    h2_styles = [a.get("style") or "" for tag, a in doc.tags if tag == "h2"]
    assert h2_styles and all("font-size:22px" in s.replace(" ", "") for s in h2_styles)


def test_sample_content_is_in_the_email(sample: dict[str, str]) -> None:
    html, text = sample["email.html"], sample["email.txt"]
    manifest = json.loads(sample["manifest.json"])
    ids = [a["id"] for a in manifest["articles"]]
    assert [a["role"] for a in manifest["articles"]] == ["lead"] * 3 + ["rail"] * 6
    assert "alibaba-power-grid-open-source" in ids
    for title in (a["title"] for a in manifest["articles"]):
        assert title.replace("'", "&#39;").replace('"', "&#34;") in html or title in html
        assert " ".join(title.split()[:3]) in text
    assert "<strong>Infrastructure Support:</strong>" in html
    assert "Key takeaways" in html and "Industry impact" in html
    assert "In-depth analysis" not in html, "analysis and FAQ belong to web.html only"
    assert "In-depth analysis" in sample["web.html"] and "Frequently asked questions" in sample["web.html"]


def test_preheader_is_hidden_in_html_and_absent_from_text(sample: dict[str, str]) -> None:
    issue = yaml.safe_load((ROOT / "issues" / "2026-w48.yaml").read_text(encoding="utf-8"))
    preheader = issue["preheader"]
    html = sample["email.html"]
    start = html.index("<body")
    hidden = re.search(r'<div style="display:none;[^"]*">([^<]*)</div>', html[start:])
    assert hidden and preheader.replace("'", "&#39;")[:30] in hidden.group(1) or preheader[:30] in hidden.group(1)
    assert preheader not in sample["email.txt"]


def test_text_version_has_every_link_and_short_lines(sample: dict[str, str]) -> None:
    text = sample["email.txt"]
    references = dict(re.findall(r"^\[(\d+)\] (\S+)$", text, re.MULTILINE))
    for href in set(parse_html(sample["email.html"]).hrefs()):
        assert href in references.values(), f"{href} missing from the text version"
    for number in references:
        assert text.count(f"[{number}]") >= 2, f"reference [{number}] is listed but never used"
    assert max(len(line) for line in text.splitlines()) <= 78
    assert "<" not in text.replace("<=", "") and "&amp;" not in text and "&#" not in text
    assert "\n- " in text, "takeaways are bullets"


def test_sizes_of_the_sample(sample: dict[str, str]) -> None:
    size = len(sample["email.html"].encode())
    print(f"\nsample email.html: {size:,} bytes")
    assert size < 40_000
    manifest = json.loads(sample["manifest.json"])
    assert manifest["sizes"]["email.html"] == size
    assert set(manifest["sizes"]) == {"email.html", "email.txt", "email.mjml", "web.html", "email.eml"}


def test_eml_is_multipart_alternative_text_first(sample: dict[str, str]) -> None:
    msg = email.message_from_bytes(sample["email.eml"].encode("utf-8"), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    for header in ("Subject", "From", "Date", "Message-ID", "MIME-Version"):
        assert msg[header], header
    assert msg["From"].addresses[0].addr_spec == "editor@theaiweek.example"
    text_part = next(msg.iter_parts())
    assert text_part.get_content_charset() == "utf-8"
    assert text_part.get_content().replace("\r\n", "\n") == sample["email.txt"]


def test_build_is_deterministic() -> None:
    config = load_config(ROOT)
    first = build_issue(config, IssueRequest(issue="2026-w48", today=TODAY)).files
    second = build_issue(config, IssueRequest(issue="2026-w48", today=TODAY)).files
    assert first == second


# --- untrusted text -----------------------------------------------------------


def test_hostile_title_is_literal_text_everywhere(tmp_path: Path) -> None:
    hostile = article(0, title=HOSTILE_TITLE, summary="Body <iframe src=x></iframe> [x](javascript:alert(1))")
    root = make_newsletter(
        tmp_path, [hostile, article(1)], {"week": "2026-W48", "subject": "Hi\r\nBcc: victim@example.com"}
    )
    rendered = build_issue(load_config(root), IssueRequest(issue="test", today=TODAY))
    files = {k: v.decode() for k, v in rendered.files.items()}
    for name in ("email.html", "web.html", "email.mjml"):
        doc = parse_html(files[name])
        assert "script" not in [t for t, _ in doc.tags], name
        assert "iframe" not in [t for t, _ in doc.tags], name
        assert "mj-raw" not in [t for t, _ in doc.tags] or name == "email.mjml" and files[name].count("<mj-raw>") == 1
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in files[name], name
        assert "{{ 7*7 }}" in files[name] and "{% if 1 %}evaluated{% endif %}" in files[name], name
        assert "49" not in "".join(doc.text), name
        assert "javascript:" not in " ".join(doc.hrefs()), name
    assert "<script>alert(1)</script></mj-text><mj-raw><b>x</b></mj-raw> {{ 7*7 }}" in files["email.txt"]
    msg = email.message_from_bytes(rendered.files["email.eml"], policy=email.policy.default)
    assert msg["Bcc"] is None
    assert "\n" not in str(msg["Subject"]) and "Bcc: victim@example.com" in str(msg["Subject"])


def test_unicode_text_survives(tmp_path: Path) -> None:
    root = make_newsletter(
        tmp_path, [article(0, title="阿里巴巴 in Zürich 🚗", source="Société Générale")], {"week": "2026-W48"}
    )
    rendered = build_issue(load_config(root), IssueRequest(issue="test", today=TODAY))
    assert "阿里巴巴 in Zürich 🚗" in rendered.files["email.html"].decode()
    assert "阿里巴巴 in Zürich 🚗" in rendered.files["email.txt"].decode()
    msg = email.message_from_bytes(rendered.files["email.eml"], policy=email.policy.default)
    assert (
        "=?utf-8?" in rendered.files["email.eml"].split(b"\r\n\r\n")[0].decode("ascii").lower()
        or msg["Subject"].isascii()
    )


# --- size budget ----------------------------------------------------------------


def test_large_issue_stays_under_gmail_clipping(tmp_path: Path) -> None:
    articles = [
        article(i, title=f"Story {i}: a realistic headline of about this many words for a lead") for i in range(60)
    ]
    root = make_newsletter(tmp_path, articles, {"week": "2026-W48", "leads": 20, "rail": 40})
    rendered = build_issue(load_config(root), IssueRequest(issue="test", today=TODAY))
    size = len(rendered.files["email.html"])
    print(f"\n20 leads + 40 rail email.html: {size:,} bytes")
    assert len(rendered.manifest["articles"]) == 60
    assert size < 102_000


# --- writing ----------------------------------------------------------------------


def test_write_outputs_replaces_all_files_atomically(tmp_path: Path) -> None:
    rendered = build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY))
    out = tmp_path / "out"
    write_outputs(rendered, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(rendered.files)
    assert (out / "email.html").read_bytes() == rendered.files["email.html"]
    from digest.files import default_mode

    assert all((p.stat().st_mode & 0o777) == default_mode() for p in out.iterdir()), "readable like any new file"


def test_failed_write_keeps_the_previous_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up while the third file is written: no file of the previous build changes."""
    import os

    from digest.errors import ExportError

    rendered = build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY))
    out = tmp_path / "out"
    write_outputs(rendered, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    changed = type(rendered)(rendered.slug, {k: v + b"changed" for k, v in rendered.files.items()}, rendered.manifest)
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(ExportError, match="No space left"):
        write_outputs(changed, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "no temp file left, no file replaced"


# --- templates --------------------------------------------------------------------


def test_newsletter_templates_override_the_bundled_ones(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path, [article(0)], {"week": "2026-W48"})
    (root / "templates").mkdir()
    bundled = (ROOT / "digest" / "templates" / "_footer.mjml.j2").read_text(encoding="utf-8")
    (root / "templates" / "_footer.mjml.j2").write_text(
        bundled.replace("{{ why }}", "Custom footer: {{ why }}"), encoding="utf-8"
    )
    rendered = build_issue(load_config(root), IssueRequest(issue="test", today=TODAY))
    assert "Custom footer:" in rendered.files["email.html"].decode()


def test_template_error_names_the_template_and_line(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path, [article(0)], {"week": "2026-W48"})
    (root / "templates").mkdir()
    (root / "templates" / "_footer.mjml.j2").write_text("<mj-section>\n{% if %}\n</mj-section>\n", encoding="utf-8")
    with pytest.raises(RenderError) as info:
        build_issue(load_config(root), IssueRequest(issue="test", today=TODAY))
    assert "_footer.mjml.j2" in str(info.value) and "line 2" in str(info.value)


def test_logo_from_the_config_heads_the_email(tmp_path: Path) -> None:
    config = {
        "logo": {"src": "https://cdn.example.org/logo.png", "alt": "Test Weekly logo", "width": 120},
        "links": {"website": "https://example.org/"},
    }
    root = make_newsletter(tmp_path, [article(0)], {"week": "2026-W48"}, config=config)
    html = build_issue(load_config(root), IssueRequest(issue="test", today=TODAY)).files["email.html"].decode()
    [img] = [a for tag, a in parse_html(html).tags if tag == "img"]
    assert (
        img["src"] == "https://cdn.example.org/logo.png" and img["alt"] == "Test Weekly logo" and img["width"] == "120"
    )
