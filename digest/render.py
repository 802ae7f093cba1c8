"""Render a planned issue: view model → Jinja2 → MJML → HTML, plus text and web versions.

The view model is built once and handed to every template already selected,
ordered and formatted; templates hold layout only. Every template that
produces HTML or MJML autoescapes, so article text arrives as text.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from digest.errors import RenderError
from digest.model import Article, RichText

if TYPE_CHECKING:
    import jinja2

    from digest.build import Plan

BUNDLED_TEMPLATES = Path(__file__).parent / "templates"
TEXT_WIDTH = 76
GMAIL_CLIP_BYTES = 102 * 1024
RAIL_LINE_CHARS = 160


@dataclass
class RenderedIssue:
    """One built issue, as values: every output's text plus the manifest."""

    slug: str
    files: dict[str, bytes]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)  # the view model the templates saw


# --- view model -------------------------------------------------------------


def date_label(day: date) -> str:
    """`28 November 2026`: readable, and the same on every machine (no locale)."""
    return f"{day.day} {day:%B %Y}"


def one_line(text: str, limit: int = RAIL_LINE_CHARS) -> str:
    """The first sentence of `text`, cut at a word boundary to at most `limit` characters."""
    flat = " ".join(text.split())
    end = flat.find(". ")
    sentence = flat[: end + 1] if 0 < end < limit else flat
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def sanitised(html: str) -> Markup:
    """Mark HTML that `digest.markup` produced (Markdown rendered, then cleaned by nh3) as safe.

    Only such HTML skips Jinja2's escaping; every other value is escaped.
    """
    return Markup(html)  # noqa: S704 - cleaned by nh3 in digest.markup


def lead_view(article: Article, tz: Any) -> dict[str, Any]:
    day = article.local_date(tz)
    return {
        "id": article.id,
        "category": article.primary_category,
        "categories": list(article.categories),
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "author": article.author,
        "date_label": date_label(day),
        "date_iso": day.isoformat(),
        "summary_html": sanitised(article.summary.html),
        "summary_source": article.summary.source,
        "takeaways": [
            {"label": t.label, "html": sanitised(t.text.inline_html), "source": t.text.source}
            for t in article.key_takeaways
        ],
        "impact_html": sanitised(article.impact.html) if article.impact else "",
        "impact_source": article.impact.source if article.impact else "",
        "analysis": [{"heading": s.heading, "html": sanitised(s.body.html)} for s in article.analysis],
        "faq": [{"question": f.question, "html": sanitised(f.answer.html)} for f in article.faq],
        "image": {"src": article.image.src, "alt": article.image.alt} if article.image else None,
    }


def rail_view(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "category": article.primary_category,
        "title": article.title,
        "url": article.url,
        "line": one_line(article.summary.plain),
    }


def default_preheader(leads: list[dict[str, Any]], limit: int = 110) -> str:
    """The leads' titles joined, cut to what inboxes show beside the subject."""
    text = " · ".join(lead["title"] for lead in leads)
    return one_line(text, limit) if len(text) > limit else text


# Stand-ins for merge tags while the email goes through MJML and premailer, which
# would escape or URL-encode the tags themselves. `export` swaps them for the
# ESP's tags afterwards, byte for byte. They are plain URLs and words on purpose.
MERGE_TOKENS = {
    "unsubscribe": "https://merge.digest.invalid/unsubscribe",
    "preferences": "https://merge.digest.invalid/preferences",
    "view_online": "https://merge.digest.invalid/view-online",
    "first_name": "DIGESTMERGEFIRSTNAME",
}


def add_utm(url: str, params: dict[str, str]) -> str:
    """`url` with UTM parameters added; its own query (UTM included) and fragment are kept."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not params or parts.scheme not in ("http", "https") or parts.hostname == "merge.digest.invalid":
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    extra = [(f"utm_{k}", v) for k, v in params.items() if f"utm_{k}" not in present]
    if not extra:
        return url
    joined = parts.query + ("&" if parts.query else "") + urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def utm_params(plan: Plan, slug: str) -> dict[str, str]:
    """The UTM parameters of this issue: from the config, `{slug}` filled in; none when switched off."""
    if not plan.config.utm or not plan.spec.utm:
        return {}
    return {k: v.replace("{slug}", slug) for k, v in plan.config.utm.items()}


def view_model(plan: Plan, slug: str, *, merge_tags: bool = False) -> dict[str, Any]:
    """Everything the templates need, already selected, ordered and formatted.

    With `merge_tags`, the unsubscribe, preferences and view-online links and a
    greeting hold `MERGE_TOKENS`, for `export` to replace with an ESP's tags.
    """
    config, spec, selection = plan.config, plan.spec, plan.selection
    tz = plan.tz
    utm = utm_params(plan, slug)
    leads = [lead_view(a, tz) for a in selection.leads]
    rail = [rail_view(a) for a in selection.rail]
    for item in leads + rail:
        item["url"] = add_utm(item["url"], utm)
    view_online = config.view_online.replace("{slug}", slug)
    issue_date = spec.date or min(selection.window.until, max(plan.today, selection.window.since))
    title = spec.title or f"{config.name}: {selection.window.label()}"
    intro: RichText | None = spec.intro
    return {
        "slug": slug,
        "lang": config.lang,
        "timezone": spec.timezone or config.timezone,
        "name": config.name,
        "title": title,
        "subject": spec.subject or title,
        "preheader": spec.preheader or default_preheader(leads),
        "number": spec.number,
        "date": issue_date,
        "date_label": date_label(issue_date),
        "date_iso": issue_date.isoformat(),
        "window": {"since": selection.window.since.isoformat(), "until": selection.window.until.isoformat()},
        "intro_html": sanitised(intro.html) if intro else "",
        "intro_source": intro.source if intro else "",
        "leads": leads,
        "rail": rail,
        "view_online": MERGE_TOKENS["view_online"] if merge_tags else view_online,
        "view_online_url": view_online,
        "unsubscribe": MERGE_TOKENS["unsubscribe"] if merge_tags else config.unsubscribe,
        "preferences": MERGE_TOKENS["preferences"] if merge_tags else config.preferences,
        "greeting": config.greeting.replace("{first_name}", MERGE_TOKENS["first_name"])
        if merge_tags and config.greeting
        else "",
        "list_unsubscribe": [config.unsubscribe_mailto, config.unsubscribe],
        "why": config.why,
        "postal_address": config.postal_address,
        "logo": {"src": config.logo.src, "alt": config.logo.alt, "width": config.logo.width} if config.logo else None,
        "website": config.website,
        "light": config.light,
        "dark": config.dark,
        "sender_name": config.sender_name,
        "sender_email": config.sender_email,
        "reply_to": config.reply_to,
    }


# --- templates --------------------------------------------------------------


class References:
    """Numbered link references for the text email, in order of first use."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def ref(self, url: str) -> str:
        number = self.numbers.setdefault(url, len(self.numbers) + 1)
        return f"[{number}]"

    def items(self) -> list[tuple[int, str]]:
        return [(n, url) for url, n in self.numbers.items()]


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", subsequent: str = "") -> str:
    """Wrap each paragraph of `text` to `width` columns; words are never split."""
    out = []
    for paragraph in str(text).split("\n"):
        if not paragraph.strip():
            out.append("")
            continue
        lead = indent
        follow = subsequent
        if paragraph.startswith("- ") and not indent:
            lead, follow, paragraph = "- ", "  ", paragraph[2:]
        out.append(
            textwrap.fill(
                paragraph,
                width=width,
                initial_indent=lead,
                subsequent_indent=follow,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def _autoescape(name: str | None) -> bool:
    return bool(name) and not str(name).endswith(".txt.j2")


def environment(override_dir: str | None, cache_dir: str | None = None) -> jinja2.Environment:
    """The Jinja2 environment: the newsletter's templates first, then the bundled ones.

    With `cache_dir`, compiled templates are kept there between runs. The
    environment is kept per set of override files: Jinja2 notices an edited
    template by itself, but not a new override hiding a bundled one (the
    preview loop adds and removes them while it runs).
    """
    import os

    try:
        overrides = tuple(sorted(os.listdir(override_dir))) if override_dir else ()
    except OSError:
        overrides = ()
    return _environment(override_dir, cache_dir, overrides)


@lru_cache(maxsize=8)
def _environment(override_dir: str | None, cache_dir: str | None, overrides: tuple[str, ...]) -> jinja2.Environment:
    """The environment for one set of override files (see `environment`)."""
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if override_dir:  # even if it does not exist yet: the preview may see it created
        loaders.append(jinja2.FileSystemLoader(override_dir))
    loaders.append(jinja2.FileSystemLoader(str(BUNDLED_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=_autoescape,  # noqa: S701 - on for every template but the .txt.j2 ones
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
        bytecode_cache=_bytecode_cache(cache_dir),
    )
    env.filters["wrap"] = wrap

    return env


def _bytecode_cache(cache_dir: str | None) -> jinja2.BytecodeCache | None:
    import jinja2

    if not cache_dir:
        return None
    folder = Path(cache_dir) / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; template mistakes become a RenderError naming the template and line."""
    import jinja2

    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {exc.filename or exc.name or name}, line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        line = _template_line(exc)
        raise RenderError(f"template {line or name}: {exc}") from None


def _template_line(exc: BaseException) -> str | None:
    """`file.j2, line N` of the innermost template frame in a traceback, if any."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{Path(filename).name}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


def text_view(model: dict[str, Any]) -> dict[str, Any]:
    """The text email's blocks, wrapped and with links numbered in reading order.

    Built from the same view model as the HTML; every link (Markdown links in
    the text included) becomes a reference `[n]`, listed at the end.
    """
    from digest.markup import to_text

    refs = References()

    def md(source: str) -> str:
        return to_text(source, lambda url: " " + refs.ref(url))

    view_online = refs.ref(model["view_online"])
    intro = wrap(md(model["intro_source"])) if model["intro_source"] else ""
    leads = []
    for lead in model["leads"]:
        title = wrap(f"{lead['title']} {refs.ref(lead['url'])}")
        summary = wrap(md(lead["summary_source"]))
        takeaways = [
            wrap((f"{t['label']}: " if t["label"] else "") + md(t["source"]), indent="- ", subsequent="  ")
            for t in lead["takeaways"]
        ]
        impact = wrap(md(lead["impact_source"])) if lead["impact_source"] else ""
        leads.append(
            {
                "category": lead["category"].upper(),
                "title": title,
                "byline": f"{lead['source']} · {lead['date_label']}",
                "summary": summary,
                "takeaways": takeaways,
                "impact": impact,
                "source": lead["source"],
                "ref": refs.ref(lead["url"]),
            }
        )
    rail = [
        {
            "headline": wrap(
                f"{item['category']}: {item['title']} {refs.ref(item['url'])}", indent="- ", subsequent="  "
            ),
            "line": wrap(item["line"], indent="  ", subsequent="  "),
        }
        for item in model["rail"]
    ]
    issue = f" · Issue {model['number']}" if model["number"] else ""
    return {
        "masthead": f"{model['name']}{issue} · {model['date_label']}",
        "view_online": view_online,
        "title": wrap(model["title"]),
        "underline": "=" * min(len(model["title"]), TEXT_WIDTH),
        "greeting": model["greeting"],
        "intro": intro,
        "leads": leads,
        "rail": rail,
        "why": wrap(model["why"]),
        "unsubscribe": refs.ref(model["unsubscribe"]),
        "preferences": refs.ref(model["preferences"]),
        "postal_address": wrap(model["postal_address"]) if model["postal_address"] else "",
        "references": refs.items(),
    }


def render_text(env: jinja2.Environment, model: dict[str, Any]) -> str:
    text = render_template(env, "email.txt.j2", dict(model, text=text_view(model)))
    lines = [line.rstrip() for line in text.splitlines()]
    # Collapse runs of blank lines left by optional blocks to at most two.
    out: list[str] = []
    for line in lines:
        if not line and len(out) >= 2 and not out[-1] and not out[-2]:
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def compile_mjml(mjml_source: str) -> str:
    """MJML to HTML with mjml-python."""
    from mjml import mjml2html

    try:
        return str(mjml2html(mjml_source))
    except Exception as exc:  # mjml-python raises plain exceptions on bad MJML
        raise RenderError(f"MJML could not be compiled: {exc}") from None


# --- the stage --------------------------------------------------------------


def render_issue(plan: Plan, *, merge_tags: bool = False) -> RenderedIssue:
    """Render every output of one issue in memory (with merge-tag stand-ins when `merge_tags`)."""
    from digest.inline import inline_css
    from digest.message import build_message
    from digest.select import issue_slug

    slug = issue_slug(plan.spec, plan.selection.window)
    model = view_model(plan, slug, merge_tags=merge_tags)
    cache_dir = plan.config.cache_dir
    env = environment(str(plan.config.templates_dir), str(cache_dir) if cache_dir else None)
    # 1. Jinja2 → MJML → HTML → inlined CSS.
    mjml_source = render_template(env, "email.mjml.j2", model)
    html = inline_css(compile_mjml(mjml_source))
    # 2. The text version, from the same view model.
    text = render_text(env, model)
    # 3. The browser version.
    web = render_template(env, "web.html.j2", model)
    # 4. The RFC 5322 message.
    eml = build_message(model, html=html, text=text)
    files = {
        "email.html": html.encode("utf-8"),
        "email.txt": text.encode("utf-8"),
        "email.mjml": mjml_source.encode("utf-8"),
        "web.html": web.encode("utf-8"),
        "email.eml": eml,
    }
    warnings = list(plan.selection.warnings) + size_warnings(files["email.html"])
    manifest = build_manifest(plan, model, files, warnings)
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return RenderedIssue(slug, files, manifest, warnings, model)


def size_warnings(html: bytes) -> list[str]:
    share = len(html) / GMAIL_CLIP_BYTES
    if share >= 1:
        return [f"email.html is {len(html):,} bytes: Gmail clips messages over {GMAIL_CLIP_BYTES:,} bytes"]
    if share >= 0.75:
        return [f"email.html is {share:.0%} of Gmail's clipping size ({len(html):,} of {GMAIL_CLIP_BYTES:,} bytes)"]
    return []


def build_manifest(plan: Plan, model: dict[str, Any], files: dict[str, bytes], warnings: list[str]) -> dict[str, Any]:
    selection = plan.selection
    return {
        "slug": model["slug"],
        "title": model["title"],
        "subject": model["subject"],
        "preheader": model["preheader"],
        "number": model["number"],
        "date": model["date_iso"],
        "window": model["window"],
        "view_online": model["view_online_url"],
        "utm": utm_params(plan, model["slug"]),
        "articles": [{"id": a.id, "role": "lead", "title": a.title, "url": a.url} for a in selection.leads]
        + [{"id": a.id, "role": "rail", "title": a.title, "url": a.url} for a in selection.rail],
        "duplicates": [{"id": dropped.id, "same_as": kept.id} for dropped, kept in selection.duplicates],
        "dropped": list(plan.dropped),
        "sizes": {name: len(data) for name, data in files.items()},
        "gmail_clip_bytes": GMAIL_CLIP_BYTES,
        "gmail_clip_share": round(len(files["email.html"]) / GMAIL_CLIP_BYTES, 3),
        "content_hash": hashlib.sha256(files["email.mjml"]).hexdigest()[:16],
        "warnings": warnings,
        "problems": [p.to_dict() for p in plan.problems],
    }
