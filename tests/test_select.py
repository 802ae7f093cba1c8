"""Selection rules: window, categories, lead order, rail, dedupe. `today` is always passed in."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from digest.errors import ContentError
from digest.model import IssueSpec, Window
from digest.select import dedupe, normalise_title, normalise_url, resolve_window, select_issue

UTC = ZoneInfo("UTC")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 28)
W48 = (2026, 48)  # Monday 2026-11-23 .. Sunday 2026-11-29


def pick(articles, tz=UTC, today=TODAY, **spec):
    spec.setdefault("week", W48)
    return select_issue(articles, IssueSpec(**spec), today=today, tz=tz)


def ids(articles) -> list[str]:
    return [a.id for a in articles]


def chosen(selection) -> list[str]:
    return ids(selection.leads + selection.rail)


# --- window ---------------------------------------------------------------


def test_window_edges_are_inclusive(make_article):
    articles = [
        make_article("sunday-before", published=date(2026, 11, 22)),
        make_article("monday", published=date(2026, 11, 23)),
        make_article("sunday", published=date(2026, 11, 29)),
        make_article("monday-after", published=date(2026, 11, 30)),
    ]
    selection = pick(articles, leads=10)
    assert sorted(chosen(selection)) == ["monday", "sunday"]
    assert selection.window == Window(date(2026, 11, 23), date(2026, 11, 29))


def test_window_edges_with_times_of_day(make_article):
    articles = [
        make_article("last-second-before", published=datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC)),
        make_article("first-second", published=datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC)),
        make_article("last-second", published=datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)),
        make_article("first-second-after", published=datetime(2026, 11, 30, 0, 0, 0, tzinfo=UTC)),
    ]
    assert sorted(chosen(pick(articles, leads=10))) == ["first-second", "last-second"]


def test_timezone_near_midnight_decides_the_day(make_article):
    # 00:30 on Monday in Shanghai is 16:30 on Sunday in UTC.
    early = make_article("early", published=datetime(2026, 11, 23, 0, 30, tzinfo=timezone(timedelta(hours=8))))
    assert chosen(pick([early], tz=UTC)) == []
    assert chosen(pick([early], tz=SHANGHAI)) == ["early"]


def test_naive_datetimes_count_as_local_time(make_article):
    monday = make_article("monday-0030", published=datetime(2026, 11, 23, 0, 30))
    sunday = make_article("sunday-2330", published=datetime(2026, 11, 22, 23, 30))
    for tz in (UTC, SHANGHAI):
        assert chosen(pick([monday, sunday], tz=tz)) == ["monday-0030"]


def test_since_and_until_window(make_article):
    articles = [make_article(f"d{day}", published=date(2026, 11, day)) for day in range(18, 27)]
    selection = pick(articles, week=None, since=date(2026, 11, 20), until=date(2026, 11, 24), leads=20)
    assert selection.window == Window(date(2026, 11, 20), date(2026, 11, 24))
    assert sorted(chosen(selection)) == ["d20", "d21", "d22", "d23", "d24"]


def test_since_alone_runs_to_today_and_until_alone_covers_seven_days():
    assert resolve_window(IssueSpec(since=date(2026, 11, 20)), [], TODAY, UTC) == Window(date(2026, 11, 20), TODAY)
    assert resolve_window(IssueSpec(until=date(2026, 11, 24)), [], TODAY, UTC) == Window(
        date(2026, 11, 18), date(2026, 11, 24)
    )


def test_default_window_is_the_iso_week_of_the_newest_article_not_after_today(make_article):
    articles = [
        make_article("w47", published=date(2026, 11, 18)),
        make_article("w48", published=date(2026, 11, 24)),
        make_article("future", published=date(2026, 12, 3)),  # after today: does not set the week
    ]
    selection = select_issue(articles, IssueSpec(), today=TODAY, tz=UTC)
    assert selection.window == Window(date(2026, 11, 23), date(2026, 11, 29))
    assert chosen(selection) == ["w48"]
    earlier = select_issue(articles, IssueSpec(), today=date(2026, 11, 20), tz=UTC)
    assert earlier.window == Window(date(2026, 11, 16), date(2026, 11, 22))


def test_default_window_without_articles_is_the_week_of_today():
    assert resolve_window(IssueSpec(), [], TODAY, UTC) == Window.iso_week(2026, 48)


def test_default_window_uses_the_issue_timezone(make_article):
    # Sunday 20:00 UTC is already Monday in Shanghai: a different ISO week.
    late = make_article("late", published=datetime(2026, 11, 29, 20, 0, tzinfo=UTC))
    assert resolve_window(IssueSpec(), [late], date(2026, 12, 5), UTC).label() == "2026-W48"
    assert resolve_window(IssueSpec(), [late], date(2026, 12, 5), SHANGHAI).label() == "2026-W49"


def test_window_label():
    assert Window.iso_week(2026, 48).label() == "2026-W48"
    assert Window(date(2026, 11, 20), date(2026, 11, 24)).label() == "2026-11-20..2026-11-24"


# --- categories -----------------------------------------------------------


def test_category_match_is_case_insensitive_on_any_category(make_article):
    articles = [
        make_article("primary", categories=["Artificial Intelligence", "Chips"]),
        make_article("secondary", categories=["Chips", "ARTIFICIAL intelligence"]),
        make_article("other", categories=["Robotics"]),
    ]
    selection = pick(articles, categories=("artificial intelligence",), leads=10)
    assert sorted(chosen(selection)) == ["primary", "secondary"]


def test_several_categories_match_any_of_them(make_article):
    articles = [
        make_article("ai", categories=["AI"]),
        make_article("robots", categories=["Robotics"]),
        make_article("policy", categories=["Policy"]),
    ]
    assert sorted(chosen(pick(articles, categories=("ai", "ROBOTICS"), leads=10))) == ["ai", "robots"]


def test_exclude_removes_articles_with_any_excluded_category(make_article):
    articles = [
        make_article("ai", categories=["AI"]),
        make_article("ai-security", categories=["AI", "Cybersecurity"]),
    ]
    assert chosen(pick(articles, categories=("ai",), exclude=("cybersecurity",), leads=10)) == ["ai"]
    assert chosen(pick(articles, exclude=("AI",), leads=10)) == []


# --- lead order -----------------------------------------------------------


def test_leads_are_pinned_then_priority_then_newest_then_id(make_article):
    articles = [
        make_article("newest", published=datetime(2026, 11, 28, 9, tzinfo=UTC)),
        make_article("important", priority=5, published=date(2026, 11, 23)),
        make_article("pinned-old", pinned=True, published=date(2026, 11, 23)),
        make_article("b-tie", published=datetime(2026, 11, 25, 9, tzinfo=UTC)),
        make_article("a-tie", published=datetime(2026, 11, 25, 9, tzinfo=UTC)),
        make_article("less-important", priority=1, published=date(2026, 11, 23)),
    ]
    selection = pick(articles, leads=6, rail=0)
    assert ids(selection.leads) == ["pinned-old", "important", "less-important", "newest", "a-tie", "b-tie"]


def test_lead_count_limits_the_leads_and_the_rest_go_to_the_rail(make_article):
    articles = [make_article(f"s{day}", published=date(2026, 11, day)) for day in range(23, 30)]
    selection = pick(articles, leads=2, rail=3)
    assert ids(selection.leads) == ["s29", "s28"]
    assert len(selection.rail) == 3
    assert not set(ids(selection.leads)) & set(ids(selection.rail))


def test_leads_given_as_ids_keep_their_order(make_article):
    articles = [make_article(f"s{day}", published=date(2026, 11, day)) for day in range(23, 30)]
    selection = pick(articles, leads=("s24", "s27", "s23"), rail=10)
    assert ids(selection.leads) == ["s24", "s27", "s23"]
    assert sorted(ids(selection.rail)) == ["s25", "s26", "s28", "s29"]


def test_lead_id_outside_the_window_is_kept_with_a_warning(make_article):
    articles = [make_article("old", published=date(2026, 11, 2)), make_article("new")]
    selection = pick(articles, leads=("old",))
    assert ids(selection.leads) == ["old"]
    assert any("old" in w and "2026-W48" in w for w in selection.warnings)


def test_unknown_lead_id_is_a_content_error_naming_leads(make_article):
    with pytest.raises(ContentError) as exc:
        pick([make_article("known")], leads=("known", "missing"), path="issues/2026-w48.yaml")
    [problem] = exc.value.problems
    assert problem.field == "leads"
    assert problem.path == "issues/2026-w48.yaml"
    assert "missing" in problem.message
    assert "known" in problem.fix


# --- rail -----------------------------------------------------------------


def test_rail_ranked_by_category_overlap_then_recency_then_id(make_article):
    articles = [
        make_article("lead", priority=9, categories=["AI", "Chips", "China Tech"]),
        make_article("two-shared-old", categories=["AI", "Chips"], published=date(2026, 11, 23)),
        make_article("one-shared-new", categories=["chips"], published=date(2026, 11, 28)),
        make_article("one-shared-older", categories=["China Tech", "Policy"], published=date(2026, 11, 25)),
        make_article("b-one-shared-same", categories=["AI"], published=date(2026, 11, 25)),
        make_article("none-shared-newest", categories=["Robotics"], published=date(2026, 11, 29)),
    ]
    selection = pick(articles, leads=1, rail=10)
    assert ids(selection.leads) == ["lead"]
    assert ids(selection.rail) == [
        "two-shared-old",
        "one-shared-new",
        "b-one-shared-same",
        "one-shared-older",
        "none-shared-newest",
    ]


def test_rail_count_limits_the_rail(make_article):
    articles = [make_article(f"s{day}", published=date(2026, 11, day)) for day in range(23, 30)]
    assert len(pick(articles, leads=1, rail=2).rail) == 2
    assert pick(articles, leads=1, rail=0).rail == ()


# --- no story twice -------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.news.example.com/story",
        "https://news.example.com/story/",
        "http://news.example.com/story",
        "https://NEWS.example.com/story#comments",
        "https://news.example.com/story?utm_source=x&utm_medium=email&utm_campaign=w48",
        "https://news.example.com:443/story?fbclid=abc",
        "http://www.news.example.com/story/?utm_source=feed#top",
    ],
)
def test_normalise_url_treats_variants_of_one_page_alike(variant):
    assert normalise_url(variant) == normalise_url("https://news.example.com/story")


@pytest.mark.parametrize(
    "other",
    [
        "https://news.example.com/story-2",
        "https://news.example.com/story?id=2",
        "https://other.example.com/story",
        "https://news.example.com:8443/story",
    ],
)
def test_normalise_url_keeps_different_pages_apart(other):
    assert normalise_url(other) != normalise_url("https://news.example.com/story")


def test_normalise_url_sorts_the_query():
    assert normalise_url("https://a.example/p?b=2&a=1") == normalise_url("https://a.example/p?a=1&b=2")


@pytest.mark.parametrize(
    "variant",
    [
        "nvidia unveils new chip",
        "NVIDIA Unveils New Chip!",
        "  Nvidia   unveils\tnew chip.  ",
        "Nvidia — Unveils: New Chip?",
    ],
)
def test_normalise_title_ignores_case_punctuation_and_whitespace(variant):
    assert normalise_title(variant) == "nvidia unveils new chip"


def test_normalise_title_keeps_different_titles_apart():
    assert normalise_title("Nvidia unveils new chip") != normalise_title("Nvidia unveils new chips")


def test_dedupe_keeps_the_first_and_reports_the_pairs(make_article):
    first = make_article("first", url="https://news.example.com/story")
    same_url = make_article("same-url", url="http://www.news.example.com/story/?utm_source=x")
    same_title = make_article("same-title", title="STORY first!!")
    different = make_article("different")
    kept, dropped = dedupe([first, same_url, same_title, different])
    assert ids(kept) == ["first", "different"]
    assert [(a.id, b.id) for a, b in dropped] == [("same-url", "first"), ("same-title", "first")]


def test_duplicates_keep_the_higher_ranked_article(make_article):
    articles = [
        make_article(
            "wire-copy", url="https://www.wire.example/ai-story/?utm_source=rss", published=date(2026, 11, 24)
        ),
        make_article("original", url="https://wire.example/ai-story", priority=2, published=date(2026, 11, 23)),
        make_article("retitled", title="Story ORIGINAL.", published=date(2026, 11, 27)),
        make_article("other", published=date(2026, 11, 25)),
    ]
    selection = pick(articles, leads=1, rail=10)
    assert ids(selection.leads) == ["original"]
    assert ids(selection.rail) == ["other"]
    assert sorted((a.id, b.id) for a, b in selection.duplicates) == [
        ("retitled", "original"),
        ("wire-copy", "original"),
    ]


def test_a_duplicate_never_fills_the_rail(make_article):
    lead = make_article("lead", priority=1, url="https://news.example.com/a")
    twin = make_article("twin", url="https://www.news.example.com/a/")
    selection = pick([lead, twin], leads=1, rail=5)
    assert chosen(selection) == ["lead"]


def test_pinned_lead_ids_win_over_their_duplicates(make_article):
    articles = [
        make_article("popular", priority=9, url="https://news.example.com/a"),
        make_article("chosen", url="https://news.example.com/a?utm_campaign=x"),
    ]
    selection = pick(articles, leads=("chosen",))
    assert chosen(selection) == ["chosen"]
    assert [(a.id, b.id) for a, b in selection.duplicates] == [("popular", "chosen")]


# --- empty and deterministic ----------------------------------------------


def test_empty_selection_gives_a_warning_and_no_leads(make_article):
    selection = pick([make_article("ai", categories=["AI"])], categories=("Robotics",))
    assert selection.leads == ()
    assert selection.rail == ()
    assert selection.warnings and "2026-W48" in selection.warnings[0]


def test_no_warning_when_there_are_leads(make_article):
    assert pick([make_article("ai")]).warnings == ()


def test_same_input_in_any_order_gives_the_same_selection(make_article):
    articles = [
        make_article(
            f"s{i:02d}",
            published=datetime(2026, 11, 23 + i % 7, (i * 5) % 24, tzinfo=UTC) if i % 3 else date(2026, 11, 23 + i % 7),
            categories=[["AI", "Chips"], ["Policy"], ["chips", "Robotics"], ["AI"]][i % 4],
            priority=i % 2,
            pinned=i == 7,
            url=f"https://news.example.com/{i % 25}",  # some share a URL: dedupe must be stable too
        )
        for i in range(30)
    ]
    reference = pick(articles, leads=3, rail=6)
    rng = random.Random(48)
    for _ in range(20):
        shuffled = articles[:]
        rng.shuffle(shuffled)
        again = pick(shuffled, leads=3, rail=6)
        assert chosen(again) == chosen(reference)
        assert again.duplicates == reference.duplicates
    assert len(chosen(reference)) == 9
