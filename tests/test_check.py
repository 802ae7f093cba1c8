"""`digest check` and `digest build --fit`: each rule broken on purpose, named with its place.

Every test builds a real newsletter folder (digest.yaml, articles, an issue
definition and, where a rule cannot be broken with content alone, a template
override as an editor would write one) and checks the issue built from it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from digest.build import IssueRequest, cut_plan, fit_cuts, fit_issue, plan_issue
from digest.check import (
    RULES,
    CheckOptions,
    CheckReport,
    Finding,
    SourcePlaces,
    caniemail,
    check_accessibility,
    check_clients,
    check_issue,
    check_links,
    check_rendered,
    check_text,
    link_problem,
    parse_css,
    parse_email,
)
from digest.config import load_config
from digest.render import GMAIL_CLIP_BYTES, render_issue

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 28)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --- fixtures: newsletter folders -----------------------------------------------------


def article(i: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": f"Story number {i} about chips and models",
        "url": f"https://news.example.com/story-{i}",
        "date": f"2026-11-{23 + i % 6:02d}",
        "source": "Example News",
        "categories": ["Artificial Intelligence"],
        "summary": "A summary of the story with enough words to look like a real news summary. " * 3,
        "key_takeaways": ["Point One: the first thing to know.", "Point Two: the second thing to know."],
    }
    body.update(fields)
    return body


def big_article(i: int) -> dict[str, Any]:
    """An article long enough that twenty of them cross Gmail's clipping line."""
    return article(
        i,
        title=f"Story {i}: a realistic headline of about this many words for a lead",
        summary="A long summary sentence that goes on about chips, models and power grids. " * 40,
        key_takeaways=[f"Point {k}: " + "a takeaway with quite a few words in it " * 6 for k in range(5)],
    )


def newsletter(
    root: Path,
    articles: list[dict[str, Any]] | None = None,
    issue: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    templates: dict[str, str] | None = None,
) -> Path:
    """A newsletter folder: digest.yaml, content/, issues/test.yaml and template overrides."""
    for folder in ("content", "issues", "templates"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    base = {
        "name": "Test Weekly",
        "content": "content",
        "sender": {"name": "Test Weekly", "email": "news@example.org"},
        "links": {
            "website": "https://example.org/",
            "view_online": "https://example.org/issues/{slug}/",
            "unsubscribe": "https://example.org/unsubscribe",
            "preferences": "https://example.org/preferences",
        },
    }
    (root / "digest.yaml").write_text(yaml.safe_dump(base | (config or {}), allow_unicode=True), encoding="utf-8")
    for i, data in enumerate(articles if articles is not None else [article(i) for i in range(5)]):
        (root / "content" / f"a{i:03d}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    spec = {"week": "2026-W48", "leads": 3, "rail": 2, "subject": "Chips, models and grids this week"} | (issue or {})
    (root / "issues" / "test.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    for name, text in (templates or {}).items():
        (root / "templates" / name).write_text(text, encoding="utf-8")
    return root


def check(root: Path, **options: Any) -> CheckReport:
    return check_issue(load_config(root), IssueRequest(issue="test", today=TODAY), CheckOptions(**options))


def found(report: CheckReport, rule: str, severity: str | None = None) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule and (severity is None or f.severity == severity)]


def only_rules(report: CheckReport, severity: str) -> set[str]:
    return {f.rule for f in report.findings if f.severity == severity}


LEAD_WITH = """\
    <mj-text>
      <p class="kk">{{{{ lead.category }}}}</p>
      <h2><a href="{{{{ lead.url }}}}">{{{{ lead.title }}}}</a></h2>
      {{{{ lead.summary_html }}}}
      {extra}
    </mj-text>
    <mj-button href="{{{{ lead.url }}}}">{button}</mj-button>
"""


def lead_template(extra: str = "", button: str = "Read more at {{ lead.source }}") -> str:
    """A `_lead.mjml.j2` override, as an editor would write one."""
    return LEAD_WITH.format(extra=extra, button=button)


@pytest.fixture(scope="module")
def sample_report() -> CheckReport:
    return check_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY))


# --- the sample issue -------------------------------------------------------------


def test_the_sample_issue_passes(sample_report: CheckReport) -> None:
    report = sample_report
    figures = report.figures
    print(
        f"\nsample: email.html {figures['email_html_bytes']:,} bytes = {figures['clip_share']:.1%} of the clip line "
        f"({figures['bytes_with_headroom']:,} with {figures['headroom']:.0%} headroom); "
        f"<style> {figures['style_bytes']:,} bytes in {figures['style_blocks']} blocks; "
        f"{report.count('info')} notes"
    )
    assert report.problems == []
    assert [f for f in report.findings if f.severity != "info"] == []
    assert not report.failed(strict=True)
    assert figures["email_html_bytes"] < GMAIL_CLIP_BYTES * 0.5
    assert figures["style_bytes"] < 16 * 1024


def test_sample_breakdown_adds_up_and_names_the_costliest_lead(sample_report: CheckReport) -> None:
    parts = sample_report.figures["breakdown"]
    total = parts["head"] + sum(lead["bytes"] for lead in parts["leads"]) + parts["rail"]["bytes"] + parts["rest"]
    assert total == sample_report.figures["email_html_bytes"]
    assert len(parts["leads"]) == 3 and all(lead["bytes"] > 1000 for lead in parts["leads"])
    assert parts["rail"]["items"] == 6 and parts["rail"]["bytes"] > 0
    (note,) = [f for f in sample_report.findings if f.rule == "size.breakdown"]
    largest = max(parts["leads"], key=lambda lead: lead["bytes"])
    assert largest["id"] in note.message and "rail of 6" in note.message


def test_client_notes_of_the_sample_skip_what_a_client_never_applies(sample_report: CheckReport) -> None:
    outlook = [f for f in sample_report.findings if f.rule == "client.outlook-windows"]
    assert any("@media is not supported" in f.message for f in outlook)
    # The Google Fonts <link> sits in <!--[if !mso]>: Outlook for Windows never sees it.
    assert not any("<link>" in f.message for f in outlook)
    assert all(f.severity == "info" for f in sample_report.findings if f.rule.startswith("client."))


def test_every_rule_id_is_documented(sample_report: CheckReport) -> None:
    clients = {f"client.{c['id']}" for c in caniemail()["clients"]}
    assert clients <= set(RULES)
    assert {f.rule for f in sample_report.findings} <= set(RULES)


# --- size -------------------------------------------------------------------------


def test_an_oversized_issue_fails_gmail_clip_with_the_bytes_over(tmp_path: Path) -> None:
    root = newsletter(tmp_path, [big_article(i) for i in range(40)], {"leads": 20, "rail": 20})
    report = check(root)
    (finding,) = found(report, "size.gmail-clip")
    assert finding.severity == "error" and finding.where == "email.html"
    over = report.figures["email_html_bytes"] - GMAIL_CLIP_BYTES
    assert f"by {over:,}" in finding.message and "--fit" in finding.fix
    assert report.failed()


def test_headroom_for_esp_link_rewriting_warns_before_the_line(tmp_path: Path) -> None:
    root = newsletter(tmp_path)
    assert found(check(root, breakdown=False), "size.gmail-clip") == []
    size = check(root, breakdown=False).figures["email_html_bytes"]
    report = check(root, breakdown=False, headroom=GMAIL_CLIP_BYTES / size)  # grown past the line, not there yet
    (finding,) = found(report, "size.gmail-clip")
    assert finding.severity == "warning" and "headroom" in finding.message
    assert not report.failed() and report.failed(strict=True)


def test_a_style_block_over_16kb_is_an_error(tmp_path: Path) -> None:
    rules = "\n".join(f".x{i} h2{{color:#1a1d21!important;font-size:{i % 30 + 10}px!important}}" for i in range(500))
    original = (ROOT / "digest" / "templates" / "_email_dark.css.j2").read_text(encoding="utf-8")
    root = newsletter(tmp_path, templates={"_email_dark.css.j2": original + rules})
    report = check(root, breakdown=False)
    (finding,) = found(report, "size.style-block")
    assert finding.severity == "error" and finding.where == "email.html <head>"
    assert report.figures["largest_style_block"] > 16 * 1024


# --- client support -----------------------------------------------------------------


def test_flexbox_and_webp_are_unsupported_in_outlook_for_windows(tmp_path: Path) -> None:
    extra = '<div style="display:flex;gap:8px"><span>one</span><span>two</span></div>'
    image = {"src": "https://img.example.com/chart.webp", "alt": "A bar chart of chip shipments"}
    extra += '{% if lead.image %}<img src="{{ lead.image.src }}" alt="{{ lead.image.alt }}" width="200">{% endif %}'
    root = newsletter(
        tmp_path, [article(0, image=image), article(1), article(2)], templates={"_lead.mjml.j2": lead_template(extra)}
    )
    report = check(root, breakdown=False)
    outlook = found(report, "client.outlook-windows", "warning")
    flex = [f for f in outlook if f.message.startswith("display:flex is not supported")]
    assert flex and "display:flex" in flex[0].where and 'under "Story number' in flex[0].where
    assert "caniemail.com/features/css-display-flex" in flex[0].fix
    webp = [f for f in outlook if "webP image format" in f.message]
    assert webp and "chart.webp" in webp[0].where
    assert report.warnings > 0 and not report.failed() and report.failed(strict=True)


def test_rules_inside_a_media_query_count_only_where_media_queries_work(tmp_path: Path) -> None:
    css = "@media (max-width:480px){.tx{display:flex!important}}"
    original = (ROOT / "digest" / "templates" / "_email_dark.css.j2").read_text(encoding="utf-8")
    root = newsletter(tmp_path, templates={"_email_dark.css.j2": original + css})
    report = check(root, breakdown=False)
    flex = [f for f in report.findings if "display:flex" in f.message]
    assert flex, "clients that apply @media are told about display:flex"
    assert not [f for f in flex if f.rule == "client.outlook-windows"], "Outlook for Windows ignores @media altogether"


def test_css_reader_keeps_at_rule_context_strings_and_important() -> None:
    sheet = parse_css(
        '/* c */ a{color:red} @media (prefers-color-scheme:dark){ .x{background:url("a;b.png") !important} } '
        "@import url(x.css); @font-face{font-family:X;src:url(x.woff)}"
    )
    assert sheet.comments == 1
    by_selector = {r.selector: r for r in sheet.rules}
    assert by_selector["a"].declarations[0].prop == "color"
    (decl,) = by_selector[".x"].declarations
    assert decl.value == 'url("a;b.png")' and decl.important
    assert by_selector[".x"].context == ("@media (prefers-color-scheme:dark)",)
    assert {a.name for a in sheet.at_rules} == {"media", "import", "font-face"}


def test_shipped_caniemail_data_is_small_and_says_where_it_comes_from() -> None:
    data = caniemail()
    path = ROOT / "digest" / "data" / "caniemail.json"
    assert path.stat().st_size < 80_000
    assert data["source"]["licence"] == "MIT" and "caniemail" in data["source"]["package"]
    assert re.match(r"\d{4}-\d{2}-\d{2}", data["source"]["data_updated"])
    assert [c["id"] for c in data["clients"]] == [
        "gmail-web", "gmail-ios", "gmail-android", "outlook-windows", "outlook-com", "outlook-macos",
        "apple-mail-macos", "apple-mail-ios", "yahoo",
    ]  # fmt: skip
    for slug, feature in data["features"].items():
        assert len(feature["support"].split()) == len(data["clients"]), slug


def test_generator_reproduces_the_shipped_file(tmp_path: Path) -> None:
    package = ROOT / "tools" / "caniemail" / "node_modules" / "caniemail"
    if not (package / "data" / "caniemail.json").is_file():
        from conftest import missing_tool

        missing_tool("npm package caniemail not installed: npm install --prefix tools/caniemail")
    import subprocess
    import sys

    out = tmp_path / "caniemail.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "caniemail_data.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == (ROOT / "digest" / "data" / "caniemail.json").read_bytes()


# --- accessibility ---------------------------------------------------------------------


def test_missing_lang_is_an_error(tmp_path: Path) -> None:
    report = check(newsletter(tmp_path, config={"lang": ""}), breakdown=False)
    (finding,) = found(report, "a11y.lang")
    assert finding.severity == "error" and finding.where == "email.html <html>"


def test_a_layout_table_without_role_presentation(tmp_path: Path) -> None:
    extra = '<table class="facts"><tr><td>Chips</td><td>12</td></tr></table>'
    report = check(newsletter(tmp_path, templates={"_lead.mjml.j2": lead_template(extra)}), breakdown=False)
    tables = found(report, "a11y.layout-table")
    assert tables and all(f.severity == "error" for f in tables)
    assert '<table class="facts">' in tables[0].where and 'under "Story number' in tables[0].where
    # A data table (with header cells) is not a layout table.
    extra = "<table><tr><th>Maker</th><th>Units</th></tr><tr><td>A</td><td>1</td></tr></table>"
    report = check(newsletter(tmp_path / "data", templates={"_lead.mjml.j2": lead_template(extra)}), breakdown=False)
    assert found(report, "a11y.layout-table") == []


def test_images_need_alt_text(tmp_path: Path) -> None:
    extra = (
        '<img src="https://img.example.com/no-alt.png" width="100">'
        '<img src="https://img.example.com/b.png" alt="b.png" width="100">'
    )
    report = check(newsletter(tmp_path, templates={"_lead.mjml.j2": lead_template(extra)}), breakdown=False)
    missing = found(report, "a11y.alt-text", "error")
    assert missing and "no-alt.png" in missing[0].where and 'under "Story number' in missing[0].where
    named = found(report, "a11y.alt-text", "warning")
    assert named and "b.png" in named[0].message


def test_headings_must_not_skip_a_level(tmp_path: Path) -> None:
    extra = "<h4>Why it matters</h4><p>Because.</p>"
    report = check(newsletter(tmp_path, templates={"_lead.mjml.j2": lead_template(extra)}), breakdown=False)
    skips = found(report, "a11y.heading-order")
    assert skips and "<h4> follows <h2>" in skips[0].message
    assert '<h4> "Why it matters"' in skips[0].where


def test_bare_read_more_link_text(tmp_path: Path) -> None:
    report = check(
        newsletter(tmp_path, templates={"_lead.mjml.j2": lead_template(button="Read more")}), breakdown=False
    )
    links = found(report, "a11y.link-text")
    assert links and links[0].severity == "warning" and '"Read more"' in links[0].message
    assert "https://news.example.com/story-" in links[0].where
    assert "(from content/a00" in links[0].where, "the article file to fix is named"
    # With context ("Read more at Example News") the same button is fine: it is the default template.
    assert found(check(newsletter(tmp_path / "ok"), breakdown=False), "a11y.link-text") == []


def test_palette_contrast_light_and_dark(tmp_path: Path) -> None:
    config = {"colors": {"light": {"muted": "#aaaaaa"}, "dark": {"accent": "#303840"}}}
    report = check(newsletter(tmp_path, config=config), breakdown=False)
    places = {f.where for f in found(report, "a11y.contrast", "error")}
    assert places == {"digest.yaml colors.light.muted", "digest.yaml colors.dark.accent"}
    assert not any("contrast" in p.message for p in report.problems), "reported once, as a11y.contrast"


# --- links -------------------------------------------------------------------------


def test_plain_http_article_link(tmp_path: Path) -> None:
    report = check(
        newsletter(tmp_path, [article(0, url="http://news.example.com/insecure"), article(1), article(2)]),
        breakdown=False,
    )
    (finding,) = found(report, "links.https")
    assert finding.severity == "warning" and "http://news.example.com/insecure" in finding.where
    assert "content/a000.yaml url" in finding.where


FOOTER_WITH = """\
    <mj-section css-class="fo">
      <mj-column>
        <mj-text css-class="ft">
          <p>{{{{ why }}}}</p>
          <p><a href="{{{{ unsubscribe }}}}">Unsubscribe</a> · <a href="{{{{ view_online }}}}">View online</a></p>
          {extra}
        </mj-text>
      </mj-column>
    </mj-section>
"""


def footer_template(extra: str) -> str:
    return FOOTER_WITH.format(extra=extra)


def test_malformed_links(tmp_path: Path) -> None:
    extra = '<p><a href="/archive">Archive</a> <a href="#">Placeholder</a> <a href="https:///archive">No host</a></p>'
    report = check(newsletter(tmp_path, templates={"_footer.mjml.j2": footer_template(extra)}), breakdown=False)
    messages = {f.where.split('"')[1]: f.message for f in found(report, "links.malformed", "error")}
    assert "relative" in messages["/archive"]
    assert "placeholder" in messages["#"]
    assert "no host" in messages["https:///archive"]
    assert any(
        '<a href="/archive"> "Archive" under "Related news"' in f.where for f in found(report, "links.malformed")
    )


def test_broken_merge_tags_in_links(tmp_path: Path) -> None:
    # Written straight into a template, a tag with spaces comes out of CSS inlining URL-encoded
    # ({{%20unsubscribe_url%20}}): the ESP would not replace it.
    extra = (
        "{% raw %}<p>"
        '<a href="*|UNSUB|">Mailchimp, cut</a> <a href="{{ preferences_url }}">Curly, spaces</a> '
        '<a href="{{ unsubscribe_url }">Curly, cut</a> <a href="*|ARCHIVE|*">Archive</a> '
        '<a href="{{view_online_url}}">Curly, whole</a>'
        "</p>{% endraw %}"
    )
    report = check(newsletter(tmp_path, templates={"_footer.mjml.j2": footer_template(extra)}), breakdown=False)
    broken = {f.where.split('"')[1]: f.message for f in found(report, "links.merge-tag", "error")}
    assert set(broken) == {"*|UNSUB|", "{{%20preferences_url%20}}", "{{%20unsubscribe_url%20}"}
    assert "URL-encoded" in broken["{{%20preferences_url%20}}"]
    assert not [
        f
        for f in report.findings
        if ("*|ARCHIVE|*" in f.where or "{{view_online_url}}" in f.where) and f.rule.startswith("links.")
    ]


@pytest.mark.parametrize(
    "href",
    [
        "*|UNSUB|*", "*|ARCHIVE|*", "{{ unsubscribe_url }}", "{{unsubscribe_url}}", "{{{unsubscribe}}}",
        "%unsubscribe_url%", "%tag_unsubscribe_url%", "[unsubscribe]", "<%asm_group_unsubscribe_raw_url%>",
        "{{ UnsubscribeURL }}", "https://example.org/u?id=*|UNIQID|*", "https://example.org/%E2%80%99s",
        "mailto:editor@example.org", "https://merge.digest.invalid/unsubscribe",
    ],
)  # fmt: skip
def test_common_esp_merge_tags_are_valid_link_targets(href: str) -> None:
    assert link_problem(href) is None


@pytest.mark.parametrize(
    "href",
    ["*|UNSUB|", "|UNSUB|*", "{{ unsubscribe_url }", "{ unsubscribe_url }}", "{{{unsubscribe}}", "%unsubscribe_url",
     "unsubscribe_url%", "[unsubscribe", "unsubscribe]", "%7B%7B%20unsubscribe_url%20%7D%7D", "*%7CUNSUB%7C*"],
)  # fmt: skip
def test_half_merge_tags_are_flagged(href: str) -> None:
    problem = link_problem(href)
    assert problem is not None and problem[0] == "links.merge-tag", problem


@pytest.mark.parametrize(
    ("href", "rule"),
    [
        ("/archive", "links.malformed"), ("#", "links.malformed"), ("", "links.malformed"),
        ("javascript:alert(1)", "links.malformed"), ("http://[::1", "links.malformed"),
        ("https://news.example.com:99999/", "links.malformed"), ("https://news.example.com/%zz", "links.malformed"),
        ("https:///path", "links.malformed"), ("mailto:", "links.malformed"),
        ("http://news.example.com/", "links.https"),
    ],
)  # fmt: skip
def test_link_problems(href: str, rule: str) -> None:
    problem = link_problem(href)
    assert problem is not None and problem[0] == rule, problem


def test_rules_read_broken_html_without_crashing() -> None:
    html = (
        '<html><head><style>a{color:red</style></head><body><h3>Unclosed <a href="http://[::1">x'
        '<img src="http://[::1/a.png"><table><tr><td>1</table><p style="color:;;display">'
        '<a href="https://[zz]/?utm_source=a">y</a><a>no href</a></h5>'
    )
    doc = parse_email(html)
    places = SourcePlaces({}, {})
    findings = check_clients(doc) + check_accessibility(doc, places) + check_links(doc, places) + check_text("", doc)
    rules = {f.rule for f in findings}
    assert {"a11y.lang", "a11y.alt-text", "a11y.layout-table", "links.malformed", "text.links"} <= rules


@pytest.mark.parametrize("esp", ["generic", "mailchimp", "listmonk", "buttondown", "sendgrid"])
def test_every_export_profile_passes_the_link_and_text_rules(esp: str) -> None:
    report = check_issue(
        load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY), CheckOptions(esp=esp, breakdown=False)
    )
    assert [f for f in report.findings if f.severity != "info"] == []


def test_the_same_url_with_two_utm_sets(tmp_path: Path) -> None:
    summary = "Also see [the chip story](https://news.example.com/story-1?utm_source=twitter) from Monday."
    articles = [article(0, summary=summary), article(1), article(2)]
    report = check(
        newsletter(tmp_path, articles, config={"utm": {"source": "newsletter", "medium": "email"}}), breakdown=False
    )
    (finding,) = found(report, "links.utm")
    assert finding.severity == "warning"
    assert "utm_source=twitter" in finding.message and "utm_medium=email&utm_source=newsletter" in finding.message
    assert "news.example.com/story-1" in finding.where


class LinkHandler(BaseHTTPRequestHandler):
    """/ok answers 200, /gone 404, /no-head refuses HEAD (405) but answers GET, /slow too late."""

    def _answer(self, head: bool) -> None:
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        status = {"/gone": 404, "/no-head": 405 if head else 200}.get(self.path, 200)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def link_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LinkHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_online_link_check_against_a_local_server(tmp_path: Path, link_server: str) -> None:
    paths = ["/ok", "/gone", "/no-head", "/slow"]
    articles = [article(i, url=link_server + path) for i, path in enumerate(paths)]
    root = newsletter(tmp_path, articles, {"leads": 4, "rail": 0}, config={"links": {
        "website": link_server + "/ok", "view_online": link_server + "/ok?issue={slug}",
        "unsubscribe": link_server + "/ok?u", "preferences": link_server + "/ok?p",
    }})  # fmt: skip
    offline = check(root, breakdown=False)
    assert found(offline, "links.online") == []
    report = check(root, breakdown=False, online=True, timeout=0.5)
    online = {f.where.split('"')[1].removeprefix(link_server): f for f in found(report, "links.online")}
    assert set(online) == {"/gone", "/slow"}
    assert online["/gone"].severity == "error" and "HTTP 404" in online["/gone"].message
    assert online["/slow"].severity == "warning" and "did not answer" in online["/slow"].message


# --- the plain-text version --------------------------------------------------------------


def test_a_long_unbreakable_word_breaks_the_line_length(tmp_path: Path) -> None:
    word = "Hyper" + "scale" * 17
    report = check(newsletter(tmp_path, [article(0, title=f"{word} arrives"), article(1), article(2)]), breakdown=False)
    lines = found(report, "text.line-length", "warning")
    assert lines and lines[0].where.startswith("email.txt line ")
    text = render_issue(plan_issue(load_config(tmp_path), IssueRequest(issue="test", today=TODAY))).files["email.txt"]
    number = int(lines[0].where.rsplit(" ", 1)[1])
    assert word in text.decode().splitlines()[number - 1]


def test_reference_lines_holding_one_url_are_exempt(tmp_path: Path) -> None:
    url = "https://news.example.com/" + "very-long-path-segment/" * 5
    report = check(newsletter(tmp_path, [article(0, url=url), article(1), article(2)]), breakdown=False)
    assert found(report, "text.line-length") == []


def test_a_link_missing_from_the_text_version(tmp_path: Path) -> None:
    extra = '<p><a href="https://sponsor.example.com/offer">Our sponsor</a></p>'
    report = check(newsletter(tmp_path, templates={"_footer.mjml.j2": footer_template(extra)}), breakdown=False)
    (finding,) = found(report, "text.links")
    assert finding.severity == "error" and "https://sponsor.example.com/offer" in finding.message
    assert '"Our sponsor"' in finding.where


TEXT_WITH_HTML = """\
{{ title }}
{% for lead in leads %}

{{ lead.summary_html }}
{% endfor %}
{% for lead in text.leads %}
{{ lead.title }}
{% endfor %}
{% for item in text.rail %}
{{ item.headline }}
{% endfor %}
Unsubscribe: {{ text.unsubscribe }} View online: {{ text.view_online }} {{ text.preferences }}

{% for number, url in text.references %}
[{{ number }}] {{ url }}
{% endfor %}
"""


def test_html_left_in_the_text_version(tmp_path: Path) -> None:
    articles = [article(0, summary="Chips **and** models & more."), article(1), article(2)]
    report = check(newsletter(tmp_path, articles, templates={"email.txt.j2": TEXT_WITH_HTML}), breakdown=False)
    markup = found(report, "text.markup", "error")
    assert markup and all(f.where.startswith("email.txt line ") for f in markup)
    assert any("HTML tag" in f.message for f in markup) and any("entity" in f.message for f in markup)


# --- spam heuristics ---------------------------------------------------------------------


def test_shouting_subject_and_exclamation_marks(tmp_path: Path) -> None:
    report = check(newsletter(tmp_path, issue={"subject": "HUGE CHIP NEWS THIS WEEK!!"}), breakdown=False)
    assert [f.where for f in found(report, "spam.all-caps")] == ["subject"]
    assert [f.where for f in found(report, "spam.exclamation")] == ["subject"]


def test_a_shouting_body(tmp_path: Path) -> None:
    shout = "THIS CHANGES EVERYTHING ABOUT CHIPS AND MODELS FOREVER!!! " * 4
    report = check(newsletter(tmp_path, [article(i, summary=shout) for i in range(3)]), breakdown=False)
    assert [f.where for f in found(report, "spam.all-caps")] == ["email.html body"]
    assert [f.where for f in found(report, "spam.exclamation")] == ["email.html body"]


def test_mostly_images(tmp_path: Path) -> None:
    images = "".join(f'<img src="https://img.example.com/{i}.png" alt="Picture {i}" width="100">' for i in range(12))
    articles = [article(i, summary="Short.", key_takeaways=[]) for i in range(3)]
    report = check(
        newsletter(tmp_path, articles, templates={"_footer.mjml.j2": footer_template(images)}), breakdown=False
    )
    (finding,) = found(report, "spam.image-ratio")
    assert finding.severity == "warning" and "12 images" in finding.message


def test_no_text_part(tmp_path: Path) -> None:
    report = check(newsletter(tmp_path, templates={"email.txt.j2": "\n"}), breakdown=False)
    (finding,) = found(report, "spam.text-part")
    assert finding.severity == "error" and finding.where == "email.txt"


def test_an_issue_without_stories(tmp_path: Path) -> None:
    report = check(newsletter(tmp_path, issue={"week": "2026-W40"}), breakdown=False)
    (finding,) = found(report, "content.selection", "error")
    assert "no lead stories" in finding.message and finding.where == "issues/test.yaml"


# --- --fit --------------------------------------------------------------------------------


def test_fit_cuts_the_rail_from_the_end_then_takeaways_evenly(tmp_path: Path) -> None:
    articles = [
        article(i, key_takeaways=[f"Point {k}: text {k}." for k in range(n)]) for i, n in enumerate([1, 3, 3, 0, 0])
    ]
    plan = plan_issue(
        load_config(newsletter(tmp_path, articles, {"leads": ["a000", "a001", "a002"], "rail": 2})),
        IssueRequest(issue="test", today=TODAY),
    )
    leads = [a.id for a in plan.selection.leads]
    assert leads == ["a000", "a001", "a002"]
    rail = [a.id for a in plan.selection.rail]
    cuts = fit_cuts(plan.selection)
    smaller = cut_plan(plan, cuts)
    order = [(d["role"], d["id"], d.get("index")) for d in smaller.dropped]
    assert order == [
        ("rail", rail[1], None), ("rail", rail[0], None),
        ("takeaway", "a002", 2), ("takeaway", "a001", 2), ("takeaway", "a002", 1), ("takeaway", "a001", 1),
        ("takeaway", "a002", 0), ("takeaway", "a001", 0), ("takeaway", "a000", 0),
    ]  # fmt: skip
    assert smaller.selection.rail == () and all(not a.key_takeaways for a in smaller.selection.leads)


def test_fit_brings_an_oversized_issue_under_the_line(tmp_path: Path) -> None:
    root = newsletter(tmp_path, [big_article(i) for i in range(40)], {"leads": 20, "rail": 20})
    plan = plan_issue(load_config(root), IssueRequest(issue="test", today=TODAY))
    assert len(render_issue(plan).files["email.html"]) > GMAIL_CLIP_BYTES
    rendered, dropped = fit_issue(plan)
    size = len(rendered.files["email.html"])
    print(f"\n--fit: {len(dropped)} cuts, email.html {size:,} bytes")
    assert size <= GMAIL_CLIP_BYTES
    assert dropped and dropped[0]["role"] == "rail" and dropped[0]["id"] == plan.selection.rail[-1].id
    assert rendered.manifest["dropped"] == dropped
    assert json.loads(rendered.files["manifest.json"])["dropped"] == dropped
    kept = {a["id"] for a in rendered.manifest["articles"]}
    assert not kept & {d["id"] for d in dropped if d["role"] == "rail"}
    # The fewest cuts: one cut fewer does not fit.
    fewer = render_issue(cut_plan(plan, fit_cuts(plan.selection)[: len(dropped) - 1]))
    assert len(fewer.files["email.html"]) > GMAIL_CLIP_BYTES
    assert check_rendered(plan, rendered, CheckOptions(breakdown=False)).figures["email_html_bytes"] == size


def test_fit_leaves_an_issue_that_fits_alone(tmp_path: Path) -> None:
    plan = plan_issue(load_config(newsletter(tmp_path)), IssueRequest(issue="test", today=TODAY))
    rendered, dropped = fit_issue(plan)
    assert dropped == [] and rendered.manifest["dropped"] == []
    assert rendered.files == render_issue(plan).files


# --- the command line ---------------------------------------------------------------------


def test_cli_check_sample_is_ok(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = run("check", "2026-w48", "--today", "2026-11-28", "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok:")
    assert "of Gmail's clipping line" in result.stdout


def test_cli_check_names_rule_and_place_and_exits_1(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = '<img src="https://img.example.com/no-alt.png" width="100">'
    newsletter(tmp_path, templates={"_lead.mjml.j2": lead_template(extra, button="Click here")})
    monkeypatch.chdir(tmp_path)
    result = run("check", "test", "--today", "2026-11-28")
    assert result.exit_code == 1
    report = ANSI.sub("", result.stderr)
    assert "a11y.alt-text" in report and "no-alt.png" in report
    assert "a11y.link-text" in report and '"Click here"' in report
    assert ANSI.sub("", result.stdout).startswith("failed:")
    data = json.loads(run("check", "test", "--today", "2026-11-28", "--json").stdout)
    assert data["problems"] == [] and data["errors"] >= 1
    assert any(f["rule"] == "a11y.alt-text" and "no-alt.png" in f["where"] for f in data["findings"])


def test_cli_check_strict_fails_on_warnings(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    newsletter(tmp_path, templates={"_lead.mjml.j2": lead_template(button="Read more")})
    monkeypatch.chdir(tmp_path)
    assert run("check", "test", "--today", "2026-11-28").exit_code == 0
    assert run("check", "test", "--today", "2026-11-28", "--strict").exit_code == 1


def test_cli_build_says_when_the_issue_crosses_the_line_and_fit_fixes_it(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newsletter(tmp_path, [big_article(i) for i in range(40)], {"leads": 20, "rail": 20})
    monkeypatch.chdir(tmp_path)
    result = run("build", "test", "--today", "2026-11-28")
    assert result.exit_code == 0, result.output
    said = ANSI.sub("", result.stderr)
    assert "over Gmail's clipping line" in said and "--fit" in said
    result = run("build", "test", "--today", "2026-11-28", "--fit")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "build" / "test" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sizes"]["email.html"] <= GMAIL_CLIP_BYTES
    assert manifest["dropped"] and manifest["dropped"][0]["role"] == "rail"
    said = ANSI.sub("", result.stderr)
    assert "dropped" in said and manifest["dropped"][0]["id"] in said
    assert "over Gmail's clipping line" not in said
