"""Loading and validating articles and issue definitions from real files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.content import (
    find_issue_file,
    load_articles,
    load_issue_spec,
    markdown_sections,
    parse_article,
    parse_when,
    split_front_matter,
)
from digest.errors import ContentError, Problem


def where(problems: list[Problem]) -> set[tuple[str, str]]:
    """(file name, field) of each problem: what a reader needs to find it."""
    return {(Path(p.path).name, p.field) for p in problems}


def links_in(html: str) -> list[str]:
    """The href of every real <a> element (escaped text that merely looks like one does not count)."""
    hrefs: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "a":
                hrefs.append(dict(attrs).get("href") or "")

    Links().feed(html)
    return hrefs


def only_article(folder: Path):
    result = load_articles(folder)
    assert result.problems == []
    assert len(result.articles) == 1
    return result.articles[0]


# --- YAML and Markdown ----------------------------------------------------


def test_yaml_article_is_loaded_and_normalised(tmp_path, write_article):
    write_article(
        tmp_path,
        "packaging",
        title="  Chip   Maker Expands\nPackaging  ",
        categories=["Chips", "chips", "Artificial Intelligence"],
        priority=3,
        pinned=True,
        author="A. Writer",
    )
    article = only_article(tmp_path)
    assert article.id == "packaging"
    assert article.title == "Chip Maker Expands Packaging"
    assert article.url == "https://news.example.com/packaging"
    assert article.published == date(2026, 11, 24)
    assert article.categories == ("Chips", "Artificial Intelligence")  # duplicates dropped, any case
    assert article.primary_category == "Chips"
    assert (article.priority, article.pinned, article.author) == (3, True, "A. Writer")


def test_explicit_id_overrides_the_file_stem(tmp_path, write_article):
    write_article(tmp_path, "file-name", id="chosen-id")
    assert only_article(tmp_path).id == "chosen-id"


def test_markdown_front_matter_and_body_become_analysis_sections(tmp_path, write_markdown):
    body = "Opening paragraph.\n\n## Why it matters\n\nBecause **packaging** is scarce.\n\n## What next\n\nMore fabs.\n"
    write_markdown(tmp_path, "packaging", body)
    article = only_article(tmp_path)
    assert [s.heading for s in article.analysis] == ["", "Why it matters", "What next"]
    assert [s.body.source for s in article.analysis] == [
        "Opening paragraph.",
        "Because **packaging** is scarce.",
        "More fabs.",
    ]
    assert "<strong>packaging</strong>" in article.analysis[1].body.html


def test_markdown_body_and_analysis_field_together_warn_and_keep_the_field(tmp_path, write_markdown):
    write_markdown(tmp_path, "both", "## Body heading\n\ntext\n", analysis=[{"heading": "Field", "body": "kept"}])
    result = load_articles(tmp_path)
    assert [s.heading for s in result.articles[0].analysis] == ["Field"]
    assert [(p.field, p.severity) for p in result.problems] == [("analysis", "warning")]


def test_markdown_with_windows_line_endings_loads(tmp_path, write_markdown):
    path = write_markdown(tmp_path, "crlf", "Intro.\n\n## Heading\n\nBody text.\n")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    article = only_article(tmp_path)
    assert [(s.heading, s.body.source) for s in article.analysis] == [("", "Intro."), ("Heading", "Body text.")]


def test_markdown_without_front_matter_is_a_problem(tmp_path):
    (tmp_path / "plain.md").write_text("# Just a note\n\nNo fields here.\n", encoding="utf-8")
    result = load_articles(tmp_path)
    assert result.articles == []
    assert len(result.errors) == 1
    assert "front matter" in result.errors[0].message


def test_split_front_matter():
    assert split_front_matter("---\ntitle: x\n---\n\nBody\n") == ("title: x\n", "Body\n")
    assert split_front_matter("---\ntitle: x\n...\nBody") == ("title: x\n", "Body")
    assert split_front_matter("title: x\n---\nBody") is None
    assert split_front_matter("---\ntitle: x\nnever closed\n") is None


def test_markdown_sections_ignore_headings_inside_code_fences():
    body = "## Setup\n\n```\n## not a heading\n```\n\n## Result\n\nDone.\n"
    sections = markdown_sections(body)
    assert [s["heading"] for s in sections] == ["Setup", "Result"]
    assert "## not a heading" in sections[0]["body"]


def test_markdown_sections_keep_smaller_headings_in_the_body():
    sections = markdown_sections("## Context\n\nIntro.\n\n### Detail\n\nMore.\n")
    assert [s["heading"] for s in sections] == ["Context"]
    assert sections[0]["body"] == "Intro.\n\n### Detail\n\nMore."


# --- discovery ------------------------------------------------------------


def test_discovery_is_recursive_over_yaml_yml_and_md(tmp_path, write_article, write_markdown):
    write_article(tmp_path, "top.yaml")
    write_article(tmp_path / "2026" / "w48", "nested.yml")
    write_markdown(tmp_path / "2026", "story.md", "Body.\n")
    write_article(tmp_path, "notes.txt")
    write_article(tmp_path, "data.json")
    result = load_articles(tmp_path)
    assert result.problems == []
    assert sorted(a.id for a in result.articles) == ["nested", "story", "top"]


def test_hidden_and_underscore_files_and_folders_are_skipped(tmp_path, write_article):
    write_article(tmp_path, "visible")
    write_article(tmp_path, ".hidden")
    write_article(tmp_path, "_draft")
    write_article(tmp_path / ".git", "inside-git")
    write_article(tmp_path / "_drafts", "inside-drafts")
    write_article(tmp_path / "_drafts", "broken", omit=["title"])  # would be a problem if read
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["visible"]
    assert result.problems == []


def test_missing_content_folder_is_a_content_error(tmp_path):
    with pytest.raises(ContentError) as exc:
        load_articles(tmp_path / "nowhere")
    assert "nowhere" in exc.value.message


# --- required fields and field shapes ---------------------------------------


@pytest.mark.parametrize("field", ["title", "url", "date", "source", "categories", "summary"])
def test_each_missing_required_field_is_a_problem_naming_file_and_field(tmp_path, write_article, field):
    write_article(tmp_path, "incomplete", omit=[field])
    write_article(tmp_path, "complete")
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["complete"]
    assert where(result.errors) == {("incomplete.yaml", field)}


@pytest.mark.parametrize("field", ["title", "source", "summary"])
def test_blank_required_text_is_a_problem(tmp_path, write_article, field):
    write_article(tmp_path, "blank", **{field: "   "})
    assert where(load_articles(tmp_path).errors) == {("blank.yaml", field)}


def test_impossible_date_is_a_problem_on_date_not_a_yaml_error(tmp_path):
    (tmp_path / "feb.yaml").write_text(
        "title: T\nurl: https://news.example.com/t\ndate: 2026-02-30\nsource: S\ncategories: [AI]\nsummary: s\n",
        encoding="utf-8",
    )
    result = load_articles(tmp_path)
    assert result.articles == []
    assert where(result.errors) == {("feb.yaml", "date")}
    assert "YAML" not in result.errors[0].message
    assert "2026-02-30" in result.errors[0].message


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "24/11/2026", 20261124, ["2026-11-24"]])
def test_unreadable_dates_are_problems_on_date(tmp_path, write_article, value):
    write_article(tmp_path, "when", date=value)
    assert where(load_articles(tmp_path).errors) == {("when.yaml", "date")}


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.com/story.txt",
        "javascript:alert(1)",
        "mailto:editor@example.com",
        "news.example.com/story",
        "https://",
        "https://news.example.com/a story",
        "https://news.example.com:99999/story",
        "https://news.example.com:port/story",
    ],
)
def test_non_http_url_is_a_problem_on_url(tmp_path, write_article, url):
    write_article(tmp_path, "link", url=url)
    assert where(load_articles(tmp_path).errors) == {("link.yaml", "url")}


@pytest.mark.parametrize("categories", [[], {"primary": "AI"}, 7, [""], [["nested"]]])
def test_categories_empty_or_not_a_list_is_a_problem(tmp_path, write_article, categories):
    write_article(tmp_path, "cats", categories=categories)
    assert where(load_articles(tmp_path).errors) == {("cats.yaml", "categories")}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"key_takeaways": "Just one string"}, "key_takeaways"),
        ({"key_takeaways": ["fine", 42]}, "key_takeaways[1]"),
        ({"key_takeaways": [{"label": "No text"}]}, "key_takeaways[0]"),
        ({"analysis": {"heading": "H", "body": "B"}}, "analysis"),
        ({"analysis": ["a string, not a section"]}, "analysis[0]"),
        ({"analysis": [{"heading": "H"}]}, "analysis[0].body"),
        ({"faq": "What? This."}, "faq"),
        ({"faq": ["question only"]}, "faq[0]"),
        ({"faq": [{"question": "Why?"}]}, "faq[0].answer"),
        ({"faq": [{"answer": "Because."}]}, "faq[0].question"),
        ({"image": "https://img.example.com/a.png"}, "image"),
        ({"image": {"src": "https://img.example.com/a.png"}}, "image.alt"),
        ({"image": {"src": "data:image/png;base64,AAAA", "alt": "x"}}, "image.src"),
        ({"key_takeaways": [{"label": ["x"], "text": "t"}]}, "key_takeaways[0].label"),
        ({"key_takeaways": [{"label": "L", "text": {"a": "b"}}]}, "key_takeaways[0].text"),
        ({"analysis": [{"heading": ["H"], "body": "B"}]}, "analysis[0].heading"),
        ({"analysis": [{"heading": "H", "body": ["B"]}]}, "analysis[0].body"),
        ({"faq": [{"question": ["Why?"], "answer": "Because."}]}, "faq[0].question"),
        ({"faq": [{"question": "Why?", "answer": {"a": "b"}}]}, "faq[0].answer"),
        ({"image": {"src": "https://img.example.com/a.png", "alt": ["x"]}}, "image.alt"),
        ({"image": {"src": "https://img.example.com:70000/a.png", "alt": "x"}}, "image.src"),
        ({"priority": "high"}, "priority"),
        ({"pinned": "yes please"}, "pinned"),
    ],
)
def test_bad_optional_field_shapes_are_problems(tmp_path, write_article, fields, field):
    write_article(tmp_path, "shape", **fields)
    result = load_articles(tmp_path)
    assert result.articles == []
    assert where(result.errors) == {("shape.yaml", field)}


def test_all_problems_of_one_file_are_reported_together(tmp_path, write_article):
    write_article(tmp_path, "many", omit=["title", "source"], url="ftp://x.example.com/", date="2026-02-30")
    assert where(load_articles(tmp_path).errors) == {
        ("many.yaml", "title"),
        ("many.yaml", "source"),
        ("many.yaml", "url"),
        ("many.yaml", "date"),
    }


def test_optional_fields_are_parsed(tmp_path, write_article):
    write_article(
        tmp_path,
        "full",
        analysis=[{"heading": "Context", "body": "Some *context*."}],
        impact="Big **impact**.",
        faq=[{"question": "Why now?", "answer": "Because of demand."}],
        image={"src": "https://img.example.com/chip.png", "alt": "A chip"},
    )
    article = only_article(tmp_path)
    assert article.analysis[0].heading == "Context"
    assert article.analysis[0].body.html == "<p>Some <em>context</em>.</p>"
    assert article.impact is not None and "<strong>impact</strong>" in article.impact.html
    assert (article.faq[0].question, article.faq[0].answer.source) == ("Why now?", "Because of demand.")
    assert (article.image.src, article.image.alt) == ("https://img.example.com/chip.png", "A chip")


# --- key takeaways --------------------------------------------------------


def test_takeaways_label_text_strings_and_mapping_form(tmp_path, write_article):
    write_article(
        tmp_path,
        "takeaways",
        key_takeaways=[
            "Lowered Barriers: Open-source models make AI development more accessible.",
            {"label": "Data Abundance", "text": "Industry generates **data**."},
            "A plain takeaway without any label",
            "This sentence is far too long to be a label before its colon: so it stays whole",
        ],
    )
    takeaways = only_article(tmp_path).key_takeaways
    assert [(t.label, t.text.source) for t in takeaways] == [
        ("Lowered Barriers", "Open-source models make AI development more accessible."),
        ("Data Abundance", "Industry generates **data**."),
        (None, "A plain takeaway without any label"),
        (None, "This sentence is far too long to be a label before its colon: so it stays whole"),
    ]
    assert "<strong>data</strong>" in takeaways[1].text.html


# --- dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24", date(2026, 11, 24)),
        ("2026-11-24T09:30:00", datetime(2026, 11, 24, 9, 30)),
        ("2026-11-24 09:30", datetime(2026, 11, 24, 9, 30)),
        ("2026-11-24T09:30:00Z", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
        ("2026-11-24T09:30:00+08:00", datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=8)))),
    ],
)
def test_dates_with_and_without_time_and_timezone(tmp_path, text, expected):
    # Written unquoted, as an editor would, so YAML's own timestamp parsing would kick in if enabled.
    (tmp_path / "dated.yaml").write_text(
        f"title: T\nurl: https://news.example.com/t\ndate: {text}\nsource: S\ncategories: [AI]\nsummary: s\n",
        encoding="utf-8",
    )
    published = only_article(tmp_path).published
    assert published == expected
    assert type(published) is type(expected)
    if isinstance(expected, datetime):
        assert published.utcoffset() == expected.utcoffset()


def test_parse_when_accepts_date_values_as_they_are():
    assert parse_when(date(2026, 11, 24), "date") == date(2026, 11, 24)
    assert parse_when(" 2026-11-24T00:30:00+08:00 ", "date").utcoffset() == timedelta(hours=8)


# --- unreadable files -----------------------------------------------------


def test_malformed_yaml_reports_its_line(tmp_path, write_article):
    (tmp_path / "bad.yaml").write_text("title: T\nsource: S\n  indented: wrongly\nsummary: s\n", encoding="utf-8")
    write_article(tmp_path, "good")
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["good"]
    assert where(result.errors) == {("bad.yaml", "line 3")}
    assert "YAML" in result.errors[0].message


def test_yaml_that_is_not_a_mapping_is_a_problem(tmp_path):
    (tmp_path / "list.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    result = load_articles(tmp_path)
    assert result.articles == []
    assert "mapping" in result.errors[0].message


def test_non_utf8_file_is_a_problem_and_others_still_load(tmp_path, write_article):
    (tmp_path / "latin1.yaml").write_bytes("title: Café\nsummary: déjà vu\n".encode("latin-1"))
    write_article(tmp_path, "good")
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["good"]
    assert len(result.errors) == 1
    assert Path(result.errors[0].path).name == "latin1.yaml"
    assert "UTF-8" in result.errors[0].message


def test_binary_files_are_problems(tmp_path, write_article):
    (tmp_path / "image.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "zeros.md").write_bytes(b"---\ntitle: x\x00\x00\x00\n---\n")
    write_article(tmp_path, "good")
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["good"]
    assert {Path(p.path).name for p in result.errors} == {"image.yaml", "zeros.md"}


def test_utf8_with_bom_loads(tmp_path):
    text = "title: Café\nurl: https://news.example.com/c\ndate: 2026-11-24\nsource: S\ncategories: [AI]\nsummary: s\n"
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert only_article(tmp_path).title == "Café"


# --- ids and paths --------------------------------------------------------


def test_duplicate_id_is_reported_with_both_paths_and_the_second_skipped(tmp_path, write_article):
    first = write_article(tmp_path / "a", "same", title="First")
    second = write_article(tmp_path / "b", "same", title="Second")
    result = load_articles(tmp_path)
    assert [a.title for a in result.articles] == ["First"]
    [problem] = result.errors
    assert problem.field == "id"
    assert problem.path == second.as_posix()
    assert first.as_posix() in problem.message + problem.fix


def test_explicit_id_colliding_with_a_file_stem_is_a_duplicate(tmp_path, write_article):
    write_article(tmp_path, "alpha")
    write_article(tmp_path, "beta", id="alpha")
    result = load_articles(tmp_path)
    assert [Path(a.path).name for a in result.articles] == ["alpha.yaml"]
    assert where(result.errors) == {("beta.yaml", "id")}


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "..", ".hidden", "with space", "-dash-first"])
def test_unsafe_ids_are_rejected(tmp_path, write_article, bad_id):
    write_article(tmp_path, "story", id=bad_id)
    result = load_articles(tmp_path)
    assert result.articles == []
    assert where(result.errors) == {("story.yaml", "id")}


def test_file_stem_that_is_not_a_valid_id_is_a_problem(tmp_path, write_article):
    write_article(tmp_path, "has space.yaml", url="https://news.example.com/has-space")
    assert where(load_articles(tmp_path).errors) == {("has space.yaml", "id")}


def test_symlink_pointing_outside_the_folder_is_skipped_with_a_problem(tmp_path, write_article):
    outside = write_article(tmp_path / "elsewhere", "secret")
    content = tmp_path / "content"
    write_article(content, "inside")
    (content / "link.yaml").symlink_to(outside)
    result = load_articles(content)
    assert [a.id for a in result.articles] == ["inside"]
    assert [Path(p.path).name for p in result.errors] == ["link.yaml"]
    assert "outside" in result.errors[0].message


def test_symlink_within_the_folder_is_followed(tmp_path, write_article):
    content = tmp_path / "content"
    target = write_article(content / "archive", "original")
    (content / "alias.yaml").symlink_to(target)
    result = load_articles(content)
    assert sorted(a.id for a in result.articles) == ["alias", "original"]


# --- warnings and Markdown ------------------------------------------------


def test_unknown_field_is_a_warning_with_did_you_mean(tmp_path, write_article):
    write_article(tmp_path, "typo", catgories=["AI"])
    result = load_articles(tmp_path)
    assert [a.id for a in result.articles] == ["typo"]  # still loads: only a warning
    assert result.errors == []
    [warning] = result.problems
    assert (warning.field, warning.severity) == ("catgories", "warning")
    assert "did you mean `categories`" in warning.fix


def test_summary_markdown_is_rendered_and_sanitised(tmp_path, write_article):
    write_article(
        tmp_path,
        "md",
        summary=(
            "**Bold** and [a link](https://example.com/x).\n\n"
            "<script>alert('x')</script> and [click](javascript:alert(1)) "
            'and <a href="javascript:alert(2)">raw</a>'
        ),
    )
    html = only_article(tmp_path).summary.html
    assert "<strong>Bold</strong>" in html
    assert '<a href="https://example.com/x">a link</a>' in html
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert links_in(html) == ["https://example.com/x"]  # the javascript: ones are not links


def test_invisible_characters_are_removed_from_fields(tmp_path, write_article):
    write_article(tmp_path, "bidi", title="Open\u202eAI\u200b Launch", categories=["A\u200bI"])
    article = only_article(tmp_path)
    assert article.title == "OpenAI Launch"
    assert article.categories == ("AI",)


def test_parse_article_reads_bytes_without_touching_the_disk(tmp_path):
    raw = b"title: T\nurl: https://news.example.com/t\ndate: 2026-11-24\nsource: S\ncategories: [AI]\nsummary: s\n"
    article, problems = parse_article(raw, tmp_path / "never-created.yaml", "shown/name.yaml")
    assert problems == []
    assert (article.id, article.path) == ("never-created", "shown/name.yaml")
    assert not (tmp_path / "never-created.yaml").exists()


def test_loading_never_writes_into_the_folder(tmp_path, write_article, write_markdown, snapshot):
    write_article(tmp_path, "good")
    write_article(tmp_path / "sub", "no-title", omit=["title"])
    write_markdown(tmp_path, "story", "## Heading\n\nBody\n")
    (tmp_path / "broken.yaml").write_text("title: [\n", encoding="utf-8")
    (tmp_path / "latin1.yaml").write_bytes("title: Café".encode("latin-1"))
    before = snapshot(tmp_path)
    load_articles(tmp_path)
    load_articles(tmp_path, root=tmp_path)
    assert snapshot(tmp_path) == before


# --- acceptance -----------------------------------------------------------


def test_hundred_valid_articles_and_four_broken_files(bad_folder):
    result = load_articles(bad_folder.folder)
    assert len(result.articles) == 100
    assert {a.id for a in result.articles} == bad_folder.valid_ids
    assert len(result.problems) == len(result.errors) == 4
    found = {(Path(p.path).name, p.field.split(" ")[0]) for p in result.errors}
    assert found == set(bad_folder.bad.items())


# --- issue definitions ----------------------------------------------------


def test_issue_definition_is_loaded(tmp_path):
    issues = tmp_path / "issues"
    issues.mkdir()
    (issues / "2026-w48.yaml").write_text(
        "title: AI Weekly\nnumber: 48\ndate: 2026-11-27\nweek: 2026-W48\n"
        "categories: [Artificial Intelligence]\nexclude: [Cybersecurity]\nleads: [a, b]\nrail: 4\n"
        "intro: Hello **readers**\ntimezone: Asia/Shanghai\n",
        encoding="utf-8",
    )
    spec = load_issue_spec(find_issue_file("2026-w48", issues))
    assert spec.slug == "2026-w48"
    assert (spec.title, spec.number, spec.date) == ("AI Weekly", 48, date(2026, 11, 27))
    assert spec.week == (2026, 48)
    assert spec.categories == ("Artificial Intelligence",)
    assert spec.exclude == ("Cybersecurity",)
    assert spec.leads == ("a", "b")
    assert spec.rail == 4
    assert spec.intro is not None and "<strong>readers</strong>" in spec.intro.html
    assert spec.timezone == "Asia/Shanghai"


def test_issue_file_found_by_path(tmp_path):
    path = tmp_path / "special.yml"
    path.write_text("title: Special\n", encoding="utf-8")
    assert find_issue_file(str(path), tmp_path / "issues") == path


def test_unknown_issue_slug_names_the_known_ones(tmp_path):
    issues = tmp_path / "issues"
    issues.mkdir()
    for slug in ("2026-w47", "2026-w48"):
        (issues / f"{slug}.yaml").write_text("title: x\n", encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        find_issue_file("2026-w49", issues)
    text = " ".join(str(p) for p in exc.value.problems)
    assert "2026-w47" in text and "2026-w48" in text


def test_issue_definition_problems_are_all_reported(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("week: 2026-W99\nleads: -1\nrail: lots\ntimezone: Mars/Olympus\nsubjet: typo\n", encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_issue_spec(path)
    fields = {p.field for p in exc.value.problems if p.severity == "error"}
    assert fields == {"week", "leads", "rail", "timezone"}
    assert any(p.field == "subjet" and p.severity == "warning" for p in exc.value.problems)


def test_issue_definition_with_week_and_dates_is_a_problem(tmp_path):
    path = tmp_path / "both.yaml"
    path.write_text("week: 2026-W48\nsince: 2026-11-20\n", encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_issue_spec(path)
    assert [p.field for p in exc.value.problems] == ["week"]


def test_issue_definition_since_after_until_is_a_problem(tmp_path):
    path = tmp_path / "backwards.yaml"
    path.write_text("since: 2026-11-30\nuntil: 2026-11-20\n", encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_issue_spec(path)
    assert [p.field for p in exc.value.problems] == ["since"]
