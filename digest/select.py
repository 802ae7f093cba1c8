"""Pick the stories of one issue: window, categories, leads, rail, dedupe.

Pure functions: the articles, the issue spec, `today` and the time zone come
in as arguments; nothing here reads files or the clock. The same input always
gives the same selection.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, timedelta, tzinfo
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from digest.errors import ContentError, Problem
from digest.model import Article, IssueSpec, Selection, Window

# Query parameters that say where a click came from, not what the page is.
TRACKING_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|igshid|spm)$", re.IGNORECASE)


def normalise_url(url: str) -> str:
    """The form two links to the same page share.

    Scheme and `www.` dropped, host lower-cased, default port, fragment,
    tracking parameters and trailing slash removed, query sorted.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k))
    return urlunsplit(("", host, path, urlencode(query), ""))


def normalise_title(title: str) -> str:
    """Case, accents' width forms, punctuation and spacing removed: `NVIDIA unveils!` == `Nvidia Unveils`."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


def issue_slug(spec: IssueSpec, window: Window) -> str:
    """The issue's name in paths and URLs: its definition's slug, else its window (`2026-w48`)."""
    return spec.slug or window.label().lower().replace("..", "_")


def resolve_window(spec: IssueSpec, articles: Iterable[Article], today: date, tz: tzinfo) -> Window:
    """The days an issue covers: its week, its since/until, or the newest week of the content.

    With neither, the window is the ISO week of the newest article not dated
    after `today` (or of `today` when there is none).
    """
    if spec.week is not None:
        return Window.iso_week(*spec.week)
    if spec.since is not None or spec.until is not None:
        since = spec.since or (spec.until - timedelta(days=6) if spec.until else today)
        until = spec.until or max(today, since)
        return Window(since, until)
    days = [d for d in (a.local_date(tz) for a in articles) if d <= today]
    year, week, _ = (max(days) if days else today).isocalendar()
    return Window.iso_week(year, week)


def lead_order(article: Article, tz: tzinfo) -> tuple[bool, int, float, str]:
    """Sort key of the leads: pinned first, then priority, then newest, then id."""
    return (not article.pinned, -article.priority, -article.moment(tz).timestamp(), article.id)


def in_scope(article: Article, window: Window, spec: IssueSpec, tz: tzinfo) -> bool:
    """Inside the window, in one of the categories (if any), in none of the excluded ones."""
    if article.local_date(tz) not in window:
        return False
    if spec.categories and not article.category_keys & {c.casefold() for c in spec.categories}:
        return False
    return not (spec.exclude and article.category_keys & {c.casefold() for c in spec.exclude})


def dedupe(ranked: Sequence[Article]) -> tuple[list[Article], list[tuple[Article, Article]]]:
    """Keep the first of each story (same normalised URL or title); return kept and (dropped, kept) pairs."""
    kept: list[Article] = []
    dropped: list[tuple[Article, Article]] = []
    by_url: dict[str, Article] = {}
    by_title: dict[str, Article] = {}
    for article in ranked:
        url_key, title_key = normalise_url(article.url), normalise_title(article.title)
        twin = by_url.get(url_key) or (by_title.get(title_key) if title_key else None)
        if twin is not None:
            dropped.append((article, twin))
            continue
        by_url[url_key] = article
        if title_key:
            by_title[title_key] = article
        kept.append(article)
    return kept, dropped


def select_issue(articles: Sequence[Article], spec: IssueSpec, *, today: date, tz: tzinfo) -> Selection:
    """Choose the lead stories and the related rail of one issue."""
    window = resolve_window(spec, articles, today, tz)
    ranked = sorted((a for a in articles if in_scope(a, window, spec, tz)), key=lambda a: lead_order(a, tz))
    warnings: list[str] = []
    if isinstance(spec.leads, tuple):
        by_id = {a.id: a for a in articles}
        missing = [i for i in spec.leads if i not in by_id]
        if missing:
            known = ", ".join(a.id for a in ranked[:8])
            problem = Problem(
                spec.path or "issue",
                "leads",
                f"no article with id {', '.join(missing)}",
                f"ids in this window: {known}",
            )
            raise ContentError(f"unknown lead id {', '.join(missing)}", [problem])
        chosen = [by_id[i] for i in spec.leads]
        for article in chosen:
            if article.local_date(tz) not in window:
                warnings.append(f"lead {article.id} is dated {article.local_date(tz)}, outside {window.label()}")
        chosen_ids = {a.id for a in chosen}
        pool, duplicates = dedupe(chosen + [a for a in ranked if a.id not in chosen_ids])
        leads = [a for a in pool if a.id in chosen_ids]
    else:
        pool, duplicates = dedupe(ranked)
        leads = pool[: spec.leads]
    lead_ids = {a.id for a in leads}
    lead_categories: frozenset[str] = frozenset().union(*(a.category_keys for a in leads))
    rest = [a for a in pool if a.id not in lead_ids]
    rest.sort(key=lambda a: (-len(a.category_keys & lead_categories), -a.moment(tz).timestamp(), a.id))
    rail = rest[: spec.rail]
    if not leads:
        warnings.append(f"no articles in {window.label()} match this issue")
    return Selection(window, tuple(leads), tuple(rail), tuple(duplicates), tuple(warnings))
