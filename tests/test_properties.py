"""Property-based tests (hypothesis): any article text, any issue definition, valid outputs."""

from __future__ import annotations

import email
import email.policy
import random
import re
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.content import parse_article
from digest.model import Article, IssueSpec, RichText
from digest.select import normalise_title, normalise_url, select_issue

# Text an article might carry, hostile parts included: markup, template syntax, bidi and zero-width
# characters, CR/LF, CJK and emoji.
SPICE = ["<script>alert(1)</script>", "</mj-text><mj-raw>", "{{ 7*7 }}", "{% if 1 %}", "]]><![CDATA[", "\u202e", "\u200b",
         "\r\nBcc: x@example.com", "阿里巴巴", "🚗", "&amp;", "javascript:alert(1)", "*emph*", "[l](https://e.example/x)"]  # fmt: skip
text = st.lists(st.one_of(st.sampled_from(SPICE), st.text(min_size=1, max_size=30)), min_size=1, max_size=6).map(
    "".join
)
words = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=12)
CATEGORIES = ["AI", "Chips", "Policy", "Robotics", "China Tech"]


@st.composite
def article_fields(draw: st.DrawFn) -> dict:
    day = draw(st.dates(min_value=date(2026, 11, 1), max_value=date(2026, 12, 10)))
    fields = {
        "title": draw(text),
        "url": f"https://news.example.com/{draw(st.integers(0, 10_000))}/{draw(words)}",
        "date": day.isoformat(),
        "source": draw(text),
        "categories": draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3)),
        "summary": draw(text),
    }
    if draw(st.booleans()):
        fields["key_takeaways"] = draw(st.lists(text, min_size=1, max_size=3))
    if draw(st.booleans()):
        fields["impact"] = draw(text)
    if draw(st.booleans()):
        fields["priority"] = draw(st.integers(-5, 9))
    return fields


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=article_fields())
def test_any_article_loads_or_is_reported_never_crashes(fields: dict) -> None:
    raw = yaml.safe_dump(fields, allow_unicode=True).encode("utf-8")
    from pathlib import Path

    article, problems = parse_article(raw, Path("story.yaml"), "story.yaml")
    assert article is not None or problems
    if article is not None:
        assert "\u202e" not in article.title and "\u200b" not in article.title
        assert "\n" not in article.title and "\r" not in article.title
        assert "<script" not in article.summary.html


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(article_fields(), min_size=1, max_size=8), leads=st.integers(0, 4), rail=st.integers(0, 6))
def test_any_issue_renders_valid_outputs(tmp_path_factory, batch: list[dict], leads: int, rail: int) -> None:
    from digest.build import IssueRequest, build_issue
    from digest.config import load_config

    root = tmp_path_factory.mktemp("news")
    (root / "content").mkdir()
    (root / "digest.yaml").write_text("name: Property Weekly\ncontent: content\ncache: off\n", encoding="utf-8")
    for i, fields in enumerate(batch):
        (root / "content" / f"a{i}.yaml").write_text(yaml.safe_dump(fields, allow_unicode=True), encoding="utf-8")
    subject = batch[0]["title"]
    request = IssueRequest(
        overrides={"since": "2026-11-01", "until": "2026-12-10", "leads": leads, "rail": rail, "subject": subject},
        today=date(2026, 12, 10),
    )
    rendered = build_issue(load_config(root), request)
    html = rendered.files["email.html"].decode()
    text = rendered.files["email.txt"].decode()
    parsed = Parsed()
    parsed.feed(html)
    assert "script" not in parsed.tags and "mj-raw" not in parsed.tags and "mj-text" not in parsed.tags
    references = set(re.findall(r"^\[\d+\] (\S+)$", text, re.MULTILINE))
    assert set(parsed.hrefs) <= references, "every link of the HTML is in the text version"
    msg = email.message_from_bytes(rendered.files["email.eml"], policy=email.policy.default)
    assert msg["Bcc"] is None and "\n" not in str(msg["Subject"])
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


# --- selection invariants --------------------------------------------------------------


@st.composite
def articles(draw: st.DrawFn) -> list[Article]:
    count = draw(st.integers(0, 25))
    out = []
    for i in range(count):
        when = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
        offset = draw(st.sampled_from([0, 8, -5]))
        out.append(
            Article(
                id=f"a{i:02d}",
                path=f"a{i:02d}.yaml",
                title=draw(st.sampled_from(["Chip news", "chip NEWS!", "Model release", f"Story {i}"])),
                url=draw(
                    st.sampled_from(
                        [f"https://x.example/{i}", "https://www.x.example/same/", "https://x.example/same?utm_source=a"]
                    )
                ),
                published=when.astimezone(timezone(timedelta(hours=offset))),
                source="S",
                categories=tuple(draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))),
                summary=RichText("s"),
                priority=draw(st.integers(0, 3)),
                pinned=draw(st.booleans()),
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(
    pool=articles(),
    categories=st.lists(st.sampled_from([c.lower() for c in CATEGORIES] + CATEGORIES), max_size=2),
    week=st.integers(45, 49),
    leads=st.integers(0, 5),
    rail=st.integers(0, 8),
    tzname=st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
    seed=st.integers(0, 1000),
)
def test_selection_invariants(
    pool: list[Article], categories: list[str], week: int, leads: int, rail: int, tzname: str, seed: int
) -> None:
    tz = ZoneInfo(tzname)
    spec = IssueSpec(week=(2026, week), categories=tuple(categories), leads=leads, rail=rail)
    selection = select_issue(pool, spec, today=date(2026, 12, 31), tz=tz)
    picked = selection.leads + selection.rail
    assert len(selection.leads) <= leads and len(selection.rail) <= rail
    wanted = {c.casefold() for c in categories}
    for article in picked:
        assert article.local_date(tz) in selection.window
        assert not wanted or article.category_keys & wanted
    assert len({a.id for a in picked}) == len(picked)
    assert len({normalise_url(a.url) for a in picked}) == len(picked)
    assert len({normalise_title(a.title) for a in picked}) == len(picked)
    shuffled = list(pool)
    random.Random(seed).shuffle(shuffled)
    assert select_issue(shuffled, spec, today=date(2026, 12, 31), tz=tz) == selection, "same input, same output"
