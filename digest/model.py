"""The values every stage passes along: articles, issue definitions, windows.

Nothing here reads files or the clock; `content` builds these values from files
once, and later stages never re-parse strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property


@dataclass(frozen=True)
class RichText:
    """A text field as the editor wrote it (Markdown), rendered on demand.

    `html` is sanitised HTML safe to place in an email or page; `plain` is the
    text without markup, for the text email and for subject-like uses.
    """

    source: str

    @cached_property
    def html(self) -> str:
        from digest import markup

        return markup.to_html(self.source)

    @cached_property
    def inline_html(self) -> str:
        from digest import markup

        return markup.to_inline_html(self.source)

    @cached_property
    def plain(self) -> str:
        from digest import markup

        return markup.to_plain(self.source)

    def __bool__(self) -> bool:
        return bool(self.source.strip())

    # Pickled (in the content cache) as its source only: rendered HTML is never kept
    # across versions of the renderer or the sanitiser.
    def __getstate__(self) -> dict[str, str]:
        return {"source": self.source}

    def __setstate__(self, state: dict[str, str]) -> None:
        object.__setattr__(self, "source", state["source"])


@dataclass(frozen=True)
class Takeaway:
    """One key takeaway; `label` is the bold lead-in of "Label: text", if any."""

    text: RichText
    label: str | None = None


@dataclass(frozen=True)
class AnalysisSection:
    heading: str
    body: RichText


@dataclass(frozen=True)
class FaqItem:
    question: str
    answer: RichText


@dataclass(frozen=True)
class Image:
    src: str
    alt: str


@dataclass(frozen=True)
class Article:
    """One news story, validated and normalised."""

    id: str
    path: str
    title: str
    url: str
    published: date | datetime
    source: str
    categories: tuple[str, ...]
    summary: RichText
    key_takeaways: tuple[Takeaway, ...] = ()
    analysis: tuple[AnalysisSection, ...] = ()
    impact: RichText | None = None
    faq: tuple[FaqItem, ...] = ()
    image: Image | None = None
    author: str | None = None
    priority: int = 0
    pinned: bool = False
    related_to: str | None = None

    @property
    def primary_category(self) -> str:
        return self.categories[0]

    @cached_property
    def category_keys(self) -> frozenset[str]:
        return frozenset(c.casefold() for c in self.categories)

    def moment(self, tz: tzinfo) -> datetime:
        """When the story was published, as an aware datetime in `tz`.

        A plain date counts as the start of that day and a naive datetime as a
        local time, both in `tz`.
        """
        if isinstance(self.published, datetime):
            if self.published.tzinfo is None:
                return self.published.replace(tzinfo=tz)
            return self.published.astimezone(tz)
        return datetime.combine(self.published, time(0), tzinfo=tz)

    def local_date(self, tz: tzinfo) -> date:
        """The calendar day of publication in `tz`: what a window compares."""
        return self.moment(tz).date()


@dataclass(frozen=True)
class Window:
    """An inclusive range of days."""

    since: date
    until: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.since <= day <= self.until

    @classmethod
    def iso_week(cls, year: int, week: int) -> Window:
        monday = date.fromisocalendar(year, week, 1)
        return cls(monday, monday + timedelta(days=6))

    def label(self) -> str:
        """`2026-W48` for a whole ISO week, else `since..until`."""
        year, week, weekday = self.since.isocalendar()
        if weekday == 1 and self.until == self.since + timedelta(days=6):
            return f"{year}-W{week:02d}"
        return f"{self.since.isoformat()}..{self.until.isoformat()}"


# IssueSpec has a field named `date`, which shadows the type inside its class body.
_Date = date


@dataclass(frozen=True)
class IssueSpec:
    """What one issue asks for: an issue definition merged with CLI overrides.

    `week`, `since` and `until` stay unresolved here; `select.resolve_window`
    turns them (or the content, when all are empty) into a `Window`.
    """

    slug: str | None = None
    path: str | None = None
    title: str | None = None
    number: int | None = None
    date: _Date | None = None
    week: tuple[int, int] | None = None
    since: _Date | None = None
    until: _Date | None = None
    categories: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    leads: int | tuple[str, ...] = 3
    rail: int = 6
    intro: RichText | None = None
    preheader: str | None = None
    subject: str | None = None
    timezone: str | None = None
    utm: bool = True


@dataclass(frozen=True)
class Selection:
    """What goes into one issue, in order, and what was left out as a duplicate."""

    window: Window
    leads: tuple[Article, ...]
    rail: tuple[Article, ...]
    duplicates: tuple[tuple[Article, Article], ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def articles(self) -> tuple[Article, ...]:
        return self.leads + self.rail
