"""`digest site`: a static web archive of every issue, with category pages, an Atom feed and a sitemap.

Stages, in the direction data flows: plan and model every issue definition in
`issues/` (the same `plan_issue` and `view_model` as `digest build`), render
every page in memory (`render_site`), then write them (`write_site`).

Writing is incremental: a file whose bytes did not change is not touched (its
mtime stays), and a file that an earlier site build wrote but this one no
longer produces (a removed issue, an emptied category) is deleted. What a
build wrote is listed in `.digest-site.json` in the output folder; nothing
that is not on that list is ever deleted, so the archive can share its folder
with a `CNAME`, a `robots.txt` or anything else the host needs.

URL layout, relative to the base URL (the config's `links.website` unless
told otherwise):

    index.html                    every issue, newest first
    issues/<slug>/index.html      one page per issue (where "view online" points)
    categories/index.html         every category
    categories/<name>/index.html  the stories that ran under one category
    feed.xml                      Atom feed of the issues
    sitemap.xml

The issue pages follow `links.view_online` when it lies under the base URL
(`https://example.com/archive/{slug}.html` puts them at `archive/<slug>.html`),
so the email's "view online" link always lands on its page. Pages link to each
other with relative URLs: the archive works from any folder of any host.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from markupsafe import Markup

from digest.build import IssueRequest, Plan, issue_slug, plan_issue
from digest.config import Config
from digest.content import list_issue_files
from digest.errors import ContentError, DigestError, ExportError, Problem, UsageError, display_path
from digest.files import write_atomic
from digest.model import Article
from digest.render import date_label, environment, one_line, render_template, view_model

if TYPE_CHECKING:
    import jinja2

MANIFEST_NAME = ".digest-site.json"
DEFAULT_ISSUE_PATTERN = "issues/{slug}/"
SITE_FOLDER = "_site"  # under the output folder; `_` can never start an issue slug, so no build collides
FEED_NAME = "feed.xml"
SITEMAP_NAME = "sitemap.xml"
CATEGORIES_DIR = "categories/"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml; charset=utf-8"}
# Characters XML 1.0 forbids outright: a feed containing one does not parse at all.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# --- values -------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedIssue:
    """One issue as the archive shows it: where its page is, and its view model."""

    slug: str
    href: str  # the page's URL relative to the archive root: `issues/2026-w48/`
    path: str  # the file that holds it: `issues/2026-w48/index.html`
    url: str  # the absolute URL: the base URL plus `href`
    date: date
    number: int | None
    title: str
    model: dict[str, Any]
    plan: Plan

    @property
    def tz(self) -> tzinfo:
        return self.plan.tz


@dataclass(frozen=True)
class Category:
    """One category of the archive and every story that ran under it, newest issue first."""

    name: str
    slug: str
    stories: tuple[tuple[ArchivedIssue, Article, str], ...]  # (issue, article, "lead" | "rail")

    @property
    def href(self) -> str:
        return f"{CATEGORIES_DIR}{self.slug}/"

    @property
    def path(self) -> str:
        return self.href + "index.html"


@dataclass
class Site:
    """The whole archive in memory: every file's bytes by its path relative to the archive root."""

    base_url: str
    files: dict[str, bytes]
    issues: list[ArchivedIssue]
    categories: list[Category]
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def url_of(self, path: str) -> str:
        """The public URL of one file of the archive (`issues/x/index.html` → `https://…/issues/x/`)."""
        if path == "index.html" or path.endswith("/index.html"):
            path = path[: -len("index.html")]
        return self.base_url + path


@dataclass
class WriteResult:
    """Which files one write of the archive wrote, left alone (same bytes) or removed."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class SiteReport:
    """What `build_site` did: the issues archived and which files were written, left alone or removed."""

    out_dir: Path
    base_url: str
    issues: list[str]  # slugs, newest first
    urls: dict[str, str]  # slug → the issue page's public URL
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# --- the public functions --------------------------------------------------------


def default_site_dir(config: Config) -> Path:
    """Where `digest site` writes unless told otherwise: `<output>/_site/`."""
    return config.output_dir / SITE_FOLDER


def build_site(
    config: Config,
    out_dir: Path,
    base_url: str | None = None,
    *,
    today: date | None = None,
    strict: bool = False,
) -> SiteReport:
    """Build the archive of every issue in `issues/` into `out_dir`, writing only what changed.

    :param base_url: the archive's public address; default: the config's `links.website`.
    :param today: the date issues without a `date:` are dated by (default: the clock).
    :param strict: make any content problem fatal, as `digest build --strict` does.
    """
    # 1. Every page, the feed and the sitemap, in memory; a failure here writes nothing.
    site = render_site(config, base_url, today=today, strict=strict)
    # 2. Write what changed, remove what an earlier build wrote and this one did not.
    result = write_site(site.files, out_dir)
    return SiteReport(
        out_dir=Path(out_dir),
        base_url=site.base_url,
        issues=[issue.slug for issue in site.issues],
        urls={issue.slug: issue.url for issue in site.issues},
        written=result.written,
        unchanged=result.unchanged,
        removed=result.removed,
        warnings=site.warnings + result.warnings,
        problems=site.problems,
    )


def render_site(
    config: Config, base_url: str | None = None, *, today: date | None = None, strict: bool = False
) -> Site:
    """Render the whole archive in memory (what `digest preview` serves); no file of the archive is written."""
    base = normalise_base_url(base_url or config.website, "--base-url" if base_url else "links.website", config)
    pattern, warnings = issue_pattern(config.view_online, base)
    # 1. Plan and model every issue, reporting every broken definition together.
    issues, problems, plan_warnings = archived_issues(config, base, pattern, today=today, strict=strict)
    warnings += plan_warnings
    if not issues:
        warnings.append(
            f"no issue definitions in {display_path(config.issues_dir, config.root)}/: the archive is empty"
        )
    # 2. The categories, across issues.
    categories = archive_categories(issues)
    # 3. The pages, the feed and the sitemap.
    site = Site(base, {}, issues, categories, warnings, problems)
    env = environment(str(config.templates_dir), str(config.cache_dir) if config.cache_dir else None)
    pages = SitePages(config, site, env)
    outputs: list[tuple[str, Callable[[], bytes]]] = [
        ("index.html", pages.index_page),
        (CATEGORIES_DIR + "index.html", pages.categories_page),
        (FEED_NAME, pages.feed),
        (SITEMAP_NAME, pages.sitemap),
    ]
    for position, issue in enumerate(issues):
        newer = issues[position - 1] if position > 0 else None
        older = issues[position + 1] if position + 1 < len(issues) else None
        outputs.append((issue.path, partial(pages.issue_page, issue, newer, older)))
    outputs += [(category.path, partial(pages.category_page, category)) for category in categories]
    check_paths([name for name, _ in outputs])
    site.files = {name: render() for name, render in outputs}
    return site


# --- URLs ---------------------------------------------------------------------------


def normalise_base_url(url: str, source: str, config: Config) -> str:
    """An http(s) URL ending in `/`, so that relative paths join onto it; a UsageError otherwise."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or re.search(r"\s", url)
    ):
        where = (config.path or "digest.yaml") if source == "links.website" else "command line"
        raise UsageError(
            f"{url!r} is not a base URL for the archive",
            [
                Problem(
                    where,
                    source,
                    f"{url!r} is not an http(s) URL without ?query or #fragment",
                    "give e.g. https://example.com/",
                )
            ],
        )
    return url if url.endswith("/") else url + "/"


def issue_pattern(view_online: str, base_url: str) -> tuple[str, list[str]]:
    """Where issue pages go, relative to the archive root, and a warning when "view online" won't land there.

    The pattern is `links.view_online` with the base URL taken off, when it lies
    under the base URL and names a page (`…/{slug}/` or `…/{slug}.html`);
    otherwise the default `issues/{slug}/`.
    """
    default = DEFAULT_ISSUE_PATTERN
    if "{slug}" not in view_online:
        return default, [
            f'links.view_online ({view_online}) has no {{slug}}: every email\'s "view online" link goes to the same '
            f"page, not to its issue's page in the archive ({base_url}{default})"
        ]
    if not view_online.startswith(base_url):
        return default, [
            f"links.view_online ({view_online}) is not under the archive's base URL {base_url}: the emails' "
            f'"view online" links will not land on the archive\'s issue pages ({base_url}{default}); '
            "set links.view_online or --base-url so that one starts with the other"
        ]
    rest = view_online[len(base_url) :]
    segments = rest.replace("{slug}", "x").split("/")
    names_a_page = rest.endswith("/") or rest.endswith((".html", ".htm"))
    clean = (
        not any(ch in rest for ch in "?#%\\")
        and all(s not in (".", "..") for s in segments)
        and "" not in segments[:-1]
    )
    if rest.count("{slug}") != 1 or not names_a_page or not clean:
        return default, [
            f"links.view_online ({view_online}) is not a page path the archive can produce; its issue pages go to "
            f'{base_url}{default}, where the emails\' "view online" links will not land; end it with '
            "{slug}/ or {slug}.html"
        ]
    return rest, []


def page_file(href: str) -> str:
    """The file that serves a page URL relative to the root: `issues/x/` → `issues/x/index.html`."""
    return href + "index.html" if href == "" or href.endswith("/") else href


def relative_root(path: str) -> str:
    """From the folder of file `path` back to the archive root: `issues/x/index.html` → `../../`."""
    return "../" * path.count("/")


def category_slug(name: str) -> str:
    """`Chips & Infrastructure` → `chips-infrastructure`; ASCII, so URLs need no escaping."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def check_paths(names: list[str]) -> None:
    """No two outputs may share a path, and none may be both a file and a folder; a RenderError names the clash.

    Issue pages follow `links.view_online`, so an issue slug can land on a
    path of its own (`categories`, `feed.xml`...) under some patterns.
    """
    from digest.errors import RenderError

    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RenderError(
                f"two pages of the archive would both be {name}; rename the issue or change links.view_online"
            )
        seen.add(name)
    for name in names:
        clash = next((str(p) for p in PurePosixPath(name).parents if str(p) in seen), None)
        if clash:
            raise RenderError(
                f"the archive would need {clash} to be both a file and a folder (for {name}); rename the issue"
            )


# --- issues and categories --------------------------------------------------------------


def archived_issues(
    config: Config, base_url: str, pattern: str, *, today: date | None, strict: bool
) -> tuple[list[ArchivedIssue], list[Problem], list[str]]:
    """Plan and model every issue definition, newest first; every broken definition is reported together."""
    issues: list[ArchivedIssue] = []
    errors: list[Problem] = []
    warnings: list[str] = []
    content_problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for definition in list_issue_files(config.issues_dir):
        shown = display_path(definition, config.root)
        if definition.stem in seen:
            fix = f"keep one of {display_path(seen[definition.stem], config.root)} and {shown}"
            errors.append(Problem(shown, "", f"defines issue {definition.stem!r} a second time", fix))
            continue
        seen[definition.stem] = definition
        try:
            plan = plan_issue(config, IssueRequest(issue=str(definition), strict=strict, today=today))
        except DigestError as exc:
            errors.extend(exc.problems or [Problem(shown, "", exc.message)])
            continue
        # Every plan loads the same content folder: report its problems once.
        content_problems = plan.problems
        slug = issue_slug(plan)
        # No UTM tags on the archive's story links: those readers did not come from the email.
        model = view_model(dataclasses.replace(plan, spec=dataclasses.replace(plan.spec, utm=False)), slug)
        href = pattern.replace("{slug}", slug)
        issues.append(
            ArchivedIssue(
                slug,
                href,
                page_file(href),
                base_url + href,
                model["date"],
                plan.spec.number,
                model["title"],
                model,
                plan,
            )
        )
        warnings += [f"{slug}: {warning}" for warning in plan.selection.warnings]
    if errors:
        # With --strict, every issue fails on the same content problems: report each once.
        errors = list(dict.fromkeys(errors))
        raise ContentError(f"{len(errors)} problem(s) in the issue definitions or content; nothing was written", errors)
    issues.sort(key=lambda i: (i.date, i.number if i.number is not None else -1, i.slug), reverse=True)
    return issues, list(content_problems), warnings


def archive_categories(issues: list[ArchivedIssue]) -> list[Category]:
    """Every category a published story carries, with its stories, newest issue first.

    Categories match case-insensitively, as in selection; a category is shown
    as first spelled in the newest issue that has it.
    """
    names: dict[str, str] = {}
    stories: dict[str, list[tuple[ArchivedIssue, Article, str]]] = {}
    for issue in issues:
        for role, articles in (("lead", issue.plan.selection.leads), ("rail", issue.plan.selection.rail)):
            for article in articles:
                for name in article.categories:
                    key = name.casefold()
                    names.setdefault(key, name)
                    stories.setdefault(key, []).append((issue, article, role))
    used: set[str] = set()
    categories = []
    for key in sorted(names):
        slug = category_slug(names[key])
        if not slug or slug in used:
            # Two names that spell the same ASCII slug (or none at all) keep apart by a hash of the name.
            import hashlib

            digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
            slug = f"{slug}-{digest}" if slug else f"category-{digest}"
        used.add(slug)
        categories.append(Category(names[key], slug, tuple(stories[key])))
    return sorted(categories, key=lambda c: c.name.casefold())


# --- rendering ----------------------------------------------------------------------


def count_label(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def issue_label(issue: ArchivedIssue) -> str:
    """`Issue 48 · 28 November 2026`, or just the date for an unnumbered issue."""
    label = issue.model["date_label"]
    return f"Issue {issue.number} · {label}" if issue.number else label


def xml_safe(value: Any) -> Any:
    """Drop the characters XML 1.0 forbids (control characters) from a value bound for a feed or sitemap."""
    if isinstance(value, Markup):
        return Markup(_XML_ILLEGAL.sub("", str(value)))  # noqa: S704 - safe markup, characters only removed
    if isinstance(value, str):
        return _XML_ILLEGAL.sub("", value)
    return value


@lru_cache(maxsize=8)
def xml_environment(env: jinja2.Environment) -> jinja2.Environment:
    """The same templates for XML: autoescaped (as every template but *.txt.j2) and with illegal characters dropped."""
    return env.overlay(finalize=xml_safe)


def atom_time(day: date, tz: tzinfo) -> str:
    """An RFC 3339 timestamp for an Atom feed: the start of `day` in the issue's time zone."""
    return datetime.combine(day, time(0), tzinfo=tz).isoformat()


class SitePages:
    """Renders the archive's pages from the issues, categories and the newsletter's configuration."""

    def __init__(self, config: Config, site: Site, env: jinja2.Environment) -> None:
        self.config, self.site, self.env = config, site, env
        self.slugs = {category.name.casefold(): category for category in site.categories}

    def base(self, path: str, title: str, description: str, kind: str) -> dict[str, Any]:
        """What every page's template needs: the newsletter, colours, where the root is, this page's URL."""
        config, site = self.config, self.site
        root = relative_root(path)
        return {
            "lang": config.lang,
            "name": config.name,
            "tagline": config.tagline,
            "title": title,
            "preheader": description,
            "light": config.light,
            "dark": config.dark,
            "preferences": config.preferences,
            "postal_address": config.postal_address,
            "site": {
                "root": root,
                "home": root or "./",
                "categories": root + CATEGORIES_DIR,
                "feed": root + FEED_NAME,
                "feed_url": site.base_url + FEED_NAME,
                "base_url": site.base_url,
            },
            "page": {"kind": kind, "path": path, "url": site.url_of(path)},
        }

    def category_link(self, name: str, root: str) -> dict[str, str]:
        category = self.slugs[name.casefold()]
        return {"name": name, "href": root + category.href}

    def issue_summary(self, issue: ArchivedIssue, root: str) -> dict[str, Any]:
        """An issue as other pages list it: title, date, where it is, its lead headlines."""
        href = root + issue.href
        return {
            "slug": issue.slug,
            "title": issue.title,
            "href": href,
            "url": issue.url,
            "label": issue_label(issue),
            "date_iso": issue.model["date_iso"],
            "preheader": issue.model["preheader"],
            "leads": [{"title": lead["title"], "href": f"{href}#{lead['id']}"} for lead in issue.model["leads"]],
        }

    def issue_page(self, issue: ArchivedIssue, newer: ArchivedIssue | None, older: ArchivedIssue | None) -> bytes:
        """The issue's web version, with the archive's navigation, category links and social cards."""
        context = dict(issue.model)
        context.update(self.base(issue.path, issue.title, issue.model["preheader"], "issue"))
        root = context["site"]["root"]
        context["leads"] = [
            dict(lead, category_links=[self.category_link(c, root) for c in lead["categories"]])
            for lead in issue.model["leads"]
        ]
        context["rail"] = [
            dict(item, category_link=self.category_link(item["category"], root)) for item in issue.model["rail"]
        ]
        image = next((lead["image"] for lead in issue.model["leads"] if lead["image"]), None)
        context["card"] = {
            "image": image,
            "kind": "summary_large_image" if image else "summary",
            "published": atom_time(issue.date, issue.tz),
        }
        context["newer"] = self.issue_summary(newer, root) if newer else None
        context["older"] = self.issue_summary(older, root) if older else None
        return render_template(self.env, "site_issue.html.j2", context).encode("utf-8")

    def index_page(self) -> bytes:
        """Every issue, newest first, with its date, title and lead headlines; then the categories."""
        description = self.config.tagline or f"Every issue of {self.config.name}"
        context = self.base("index.html", "All issues", description, "index")
        context["issues"] = [self.issue_summary(issue, "") for issue in self.site.issues]
        context["categories"] = self.category_list("")
        return render_template(self.env, "site_index.html.j2", context).encode("utf-8")

    def category_list(self, root: str) -> list[dict[str, Any]]:
        return [
            {"name": c.name, "href": root + c.href, "count": count_label(len(c.stories), "story", "stories")}
            for c in self.site.categories
        ]

    def categories_page(self) -> bytes:
        path = CATEGORIES_DIR + "index.html"
        context = self.base(path, "Categories", f"Every category of {self.config.name}", "categories")
        context["categories"] = self.category_list(context["site"]["root"])
        return render_template(self.env, "site_categories.html.j2", context).encode("utf-8")

    def category_page(self, category: Category) -> bytes:
        """The stories that ran under one category, grouped by issue, newest first."""
        issues = list(dict.fromkeys(issue.slug for issue, _, _ in category.stories))
        description = (
            f"{count_label(len(category.stories), 'story', 'stories')} in {category.name} "
            f"from {count_label(len(issues), 'issue', 'issues')} of {self.config.name}"
        )
        context = self.base(category.path, category.name, description, "category")
        root = context["site"]["root"]
        groups: dict[str, dict[str, Any]] = {}
        for issue, article, role in category.stories:
            group = groups.setdefault(issue.slug, dict(self.issue_summary(issue, root), stories=[]))
            day = article.local_date(issue.tz)
            group["stories"].append(
                {
                    "id": article.id,
                    "title": article.title,
                    "href": f"{group['href']}#{article.id}",
                    "source": article.source,
                    "date_iso": day.isoformat(),
                    "date_label": date_label(day),
                    "line": one_line(article.summary.plain),
                    "role": "Lead story" if role == "lead" else "Related news",
                }
            )
        context["category"] = {"name": category.name, "count": description, "groups": list(groups.values())}
        return render_template(self.env, "site_category.html.j2", context).encode("utf-8")

    def feed(self) -> bytes:
        """An Atom feed with one entry per issue, newest first; the entry's content is the issue's stories."""
        config, site = self.config, self.site
        entries = []
        for issue in site.issues:
            # Rendered as HTML (autoescaped), then handed to the feed as text, which escapes it once more for XML.
            content_html = render_template(self.env, "feed_entry.html.j2", dict(issue.model, url=issue.url))
            categories = list(dict.fromkeys(c for lead in issue.model["leads"] for c in lead["categories"]))
            entries.append(
                {
                    "title": issue.title,
                    "url": issue.url,
                    "updated": atom_time(issue.date, issue.tz),
                    "summary": issue.model["preheader"],
                    "content_html": str(content_html),
                    "categories": categories,
                }
            )
        context = {
            "lang": config.lang,
            "name": config.name,
            "tagline": config.tagline,
            "author": config.sender_name,
            "home_url": site.base_url,
            "feed_url": site.base_url + FEED_NAME,
            "updated": entries[0]["updated"] if entries else "1970-01-01T00:00:00+00:00",
            "entries": entries,
        }
        return render_template(xml_environment(self.env), "feed.atom.j2", context).encode("utf-8")

    def sitemap(self) -> bytes:
        """Every page of the archive, with the date of the newest issue it shows."""
        site = self.site
        newest = site.issues[0].model["date_iso"] if site.issues else None
        urls = [{"loc": site.url_of("index.html"), "lastmod": newest}]
        urls += [{"loc": issue.url, "lastmod": issue.model["date_iso"]} for issue in site.issues]
        urls.append({"loc": site.url_of(CATEGORIES_DIR + "index.html"), "lastmod": newest})
        urls += [{"loc": site.url_of(c.path), "lastmod": c.stories[0][0].model["date_iso"]} for c in site.categories]
        return render_template(xml_environment(self.env), "site_sitemap.xml.j2", {"urls": urls}).encode("utf-8")


# --- writing ---------------------------------------------------------------------------


def safe_relative(name: str) -> PurePosixPath | None:
    """`name` as a path inside the archive, or None when it could point anywhere else."""
    if not name or "\\" in name or "\x00" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return path


def symlink_on_the_way(root: Path, relative: PurePosixPath) -> Path | None:
    """The first existing symlink between `root` and `root/relative` (the file itself included), if any."""
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def read_manifest(out_dir: Path) -> tuple[set[str], list[str]]:
    """The files an earlier site build wrote into `out_dir`; entries that could point outside it are ignored."""
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return set(), []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = data["files"] if isinstance(data, dict) else None
        if not isinstance(names, list):
            raise ValueError("no list of files")
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        return set(), [f"{display_path(path)} cannot be read ({exc}); files of earlier builds are not removed"]
    kept = {n for n in names if isinstance(n, str) and safe_relative(n) is not None and n != MANIFEST_NAME}
    ignored = [n for n in names if n not in kept]
    warnings = [f"{display_path(path)} lists {n!r}, which is not a file of the archive; ignored" for n in ignored]
    return kept, warnings


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(target: Path, data: bytes, mode: int) -> None:
    """Write atomically: a host serving the folder never sees half a page."""
    write_atomic(target, data, mode=mode)


def manifest_bytes(names: set[str]) -> bytes:
    data = {
        "generator": "digest site",
        "note": "files this site build wrote; only these are ever removed",
        "files": sorted(names),
    }
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def write_site(files: Mapping[str, bytes], out_dir: Path) -> WriteResult:
    """Write the archive into `out_dir`: changed files only, then remove the files earlier builds left behind.

    A file whose bytes are already on disk is not rewritten, so its mtime stays.
    Only files listed in the folder's manifest are ever removed. Before any file
    is written the manifest lists it too, so a build that fails half-way still
    knows, next time, every file it may have created.
    """
    out_dir = Path(out_dir)
    report = WriteResult()
    try:
        if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
            raise ExportError(f"{display_path(out_dir)} is not a folder; give --out a folder")
        out_dir.mkdir(parents=True, exist_ok=True)
        root = out_dir.resolve()
        previous, report.warnings = read_manifest(out_dir)
        mode = 0o666 & ~current_umask()
        manifest = root / MANIFEST_NAME
        # 1. Record every file this build may create before creating any.
        planned = previous | set(files)
        if planned != previous or not manifest.exists():
            write_file(manifest, manifest_bytes(planned), mode)
        # 2. Write what changed; leave identical files (and their mtime) alone.
        for name in sorted(files):
            relative = safe_relative(name)
            if relative is None:
                raise ExportError(f"refusing to write {name!r}: it is not a path inside the archive")
            link = symlink_on_the_way(root, relative)
            if link is not None:
                raise ExportError(
                    f"{display_path(link)} is a symbolic link; the archive never writes through links. "
                    "Remove it and build again"
                )
            target = root / relative
            if target.is_file() and target.read_bytes() == files[name]:
                report.unchanged.append(name)
                continue
            if target.exists() and name not in previous:
                report.warnings.append(f"replaced {display_path(target)}, which no earlier site build wrote")
            target.parent.mkdir(parents=True, exist_ok=True)
            write_file(target, files[name], mode)
            report.written.append(name)
        # 3. Remove what earlier builds wrote and this one did not, then the folders that leaves empty.
        for name in sorted(previous - set(files)):
            relative = PurePosixPath(name)
            link = symlink_on_the_way(root, relative)
            target = root / relative
            if link is not None or (target.exists() and not target.is_file()):
                report.warnings.append(
                    f"left {display_path(target)} in place: it is no longer a file the site build wrote"
                )
                continue
            if target.exists():
                target.unlink()
                report.removed.append(name)
            remove_empty_folders(root, relative.parent)
        # 4. The manifest now lists exactly this build's files.
        final = manifest_bytes(set(files))
        if manifest.read_bytes() != final:
            write_file(manifest, final, mode)
    except OSError as exc:
        where = display_path(exc.filename) if exc.filename else display_path(out_dir)
        raise ExportError(f"cannot write the archive: {where}: {exc.strerror}") from None
    return report


def remove_empty_folders(root: Path, folder: PurePosixPath) -> None:
    """Remove `folder` and its parents below `root` while they are empty (a removed issue's folder)."""
    while str(folder) not in ("", "."):
        path = root / folder
        if path.is_symlink() or not path.is_dir() or any(path.iterdir()):
            return
        path.rmdir()
        folder = folder.parent


# --- serving from memory (digest preview) ----------------------------------------------------


def site_file(files: Mapping[str, bytes], request_path: str) -> tuple[str, bytes] | None:
    """The file a request path (already percent-decoded, relative to the archive) names, or None.

    Only names the build produced can match: `..`, empty or `.` segments,
    backslashes and NUL never do, and nothing is read from disk.
    """
    name = page_file(request_path)
    if safe_relative(name) is None:
        return None
    data = files.get(name)
    return (name, data) if data is not None else None


def content_type(name: str) -> str:
    if name == FEED_NAME:
        return "application/atom+xml; charset=utf-8"
    return CONTENT_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
