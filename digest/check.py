"""`digest check`: lint a built issue before it is sent.

`check_issue` builds the issue in memory and runs every rule on the result:
size (Gmail's clipping line and its <style> limit), client support (caniemail's
data for the clients in `digest/data/caniemail.json`), accessibility, links,
the plain-text version and a few spam heuristics. Each rule is a small function
returning `Finding`s; a rule id (`size.gmail-clip`, `a11y.alt-text`, ...) is a
stable string that scripts and CI can rely on.

Content problems (files that failed to load, config warnings) are carried
along as the `Problem`s they already are.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from digest.config import contrast_ratio
from digest.errors import Problem
from digest.render import GMAIL_CLIP_BYTES

if TYPE_CHECKING:
    from digest.build import IssueRequest, Plan
    from digest.config import Config
    from digest.render import RenderedIssue

GMAIL_STYLE_BYTES = 16 * 1024
DEFAULT_HEADROOM = 0.15
TEXT_LINE_LIMIT = 78
CONTRAST_MINIMUM = 4.5
DATA_FILE = Path(__file__).parent / "data" / "caniemail.json"
FEATURE_URL = "https://www.caniemail.com/features/{slug}/"

# Every rule id, with what it checks; the ids are stable (README: "Checking an issue").
RULES: dict[str, str] = {
    "size.gmail-clip": "email.html against Gmail's clipping line (102 KB), with headroom for ESP link rewriting",
    "size.style-block": "<style> bytes against Gmail's 16 KB limit",
    "size.breakdown": "what each part of the issue costs: head CSS, each lead, the rail, the rest",
    "client.gmail-web": "CSS and HTML features Gmail (web) does not support, or only partly",
    "client.gmail-ios": "the same for Gmail on iOS",
    "client.gmail-android": "the same for Gmail on Android",
    "client.outlook-windows": "the same for Outlook for Windows (Word engine)",
    "client.outlook-com": "the same for Outlook.com",
    "client.outlook-macos": "the same for Outlook for Mac",
    "client.apple-mail-macos": "the same for Apple Mail on macOS",
    "client.apple-mail-ios": "the same for Apple Mail on iOS",
    "client.yahoo": "the same for Yahoo Mail (web)",
    "a11y.lang": "a `lang` on <html>",
    "a11y.layout-table": 'role="presentation" on every layout table',
    "a11y.alt-text": 'an alt text on every image (alt="" for decoration), and not a file name',
    "a11y.heading-order": "one <h1>, headings that do not skip a level",
    "a11y.link-text": 'link text that makes sense on its own (no bare "click here", "read more")',
    "a11y.contrast": "the palette's text colours at 4.5:1 or more, light and dark",
    "links.malformed": "links that are well-formed absolute URLs",
    "links.https": "https rather than http",
    "links.merge-tag": "ESP merge tags in links complete, not cut or URL-encoded",
    "links.utm": "the same URL never with two different UTM sets",
    "links.online": "with --online: every link answers a HEAD request",
    "text.line-length": "plain-text lines of 78 characters at most (a `[n] URL` reference line is exempt)",
    "text.links": "every link of the HTML also in the plain text",
    "text.markup": "no HTML tags, entities or Markdown left in the plain text",
    "spam.all-caps": "the share of ALL-CAPS words in the subject and the body",
    "spam.exclamation": 'runs of "!!" in the subject, "!!!" in the body',
    "spam.image-ratio": "enough text for the images",
    "spam.text-part": "a plain-text part",
    "content.selection": "an issue with lead stories",
}


@dataclass(frozen=True)
class Finding:
    """One thing the check found: which rule, how bad, where, what, and how to fix it."""

    rule: str
    severity: str
    where: str
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "where": self.where,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class CheckOptions:
    """How strictly to check: the clipping line and headroom, the <style> limit, link checks online."""

    clip_bytes: int = GMAIL_CLIP_BYTES
    headroom: float = DEFAULT_HEADROOM
    style_bytes: int = GMAIL_STYLE_BYTES
    online: bool = False
    timeout: float = 10.0
    breakdown: bool = True
    esp: str | None = None  # check the export for this ESP profile (merge tags in place) instead of the build


@dataclass
class CheckReport:
    """The result of checking one issue: content problems, findings, and the figures behind them."""

    slug: str
    articles: int
    problems: list[Problem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def count(self, severity: str) -> int:
        return sum(1 for p in self.problems if p.severity == severity) + sum(
            1 for f in self.findings if f.severity == severity
        )

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def warnings(self) -> int:
        return self.count("warning")

    def failed(self, strict: bool = False) -> bool:
        """Errors fail a check; with `strict`, warnings too."""
        return self.errors > 0 or (strict and self.warnings > 0)

    def by_rule(self, severity: str) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in self.findings:
            if finding.severity == severity:
                grouped.setdefault(finding.rule, []).append(finding)
        return grouped

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "articles": self.articles,
            "errors": self.errors,
            "warnings": self.warnings,
            "problems": [p.to_dict() for p in self.problems],
            "findings": [f.to_dict() for f in self.findings],
            "figures": self.figures,
        }


# --- the entry points -----------------------------------------------------------


def check_issue(config: Config, request: IssueRequest, options: CheckOptions | None = None) -> CheckReport:
    """Build the issue in memory (as `digest.build.build_issue` does) and check content, email and text.

    With `options.esp`, the export for that ESP is checked instead: its merge tags in place.
    """
    from digest.build import plan_issue
    from digest.render import render_issue

    options = options or CheckOptions()
    # Every problem is reported, so a strict request does not stop at the first content problem.
    plan = plan_issue(config, replace(request, strict=False))
    if options.esp:
        from digest.export import export_issue

        rendered = export_issue(plan, options.esp)
    else:
        rendered = render_issue(plan)
    return check_rendered(plan, rendered, options)


def check_rendered(plan: Plan, rendered: RenderedIssue, options: CheckOptions | None = None) -> CheckReport:
    """Run every rule on an issue already rendered from `plan`."""
    options = options or CheckOptions()
    html = rendered.files.get("email.html", b"")
    text = rendered.files.get("email.txt", b"").decode("utf-8", errors="replace")
    doc = parse_email(html.decode("utf-8", errors="replace"))
    places = SourcePlaces.of(plan)
    findings: list[Finding] = []
    figures = size_figures(html, doc, options)
    findings += check_size(figures, options)
    if options.breakdown:
        figures["breakdown"] = size_breakdown(plan, rendered, doc)
        findings += check_breakdown(figures)
    findings += check_clients(doc)
    findings += check_accessibility(doc, places)
    findings += check_contrast(plan)
    findings += check_links(doc, places)
    if options.online:
        findings += check_links_online(doc, places, timeout=options.timeout)
    findings += check_text(text, doc)
    findings += check_spam(doc, rendered)
    findings += check_selection(plan)
    figures.update(
        links=len({a.href for a in doc.anchors if a.href}),
        images=len(doc.images),
        text_lines=len(text.splitlines()),
        caniemail=caniemail()["source"]["data_updated"],
    )
    return CheckReport(
        slug=rendered.slug,
        articles=len(plan.loaded.articles),
        problems=content_problems(plan),
        findings=findings,
        figures=figures,
    )


def content_problems(plan: Plan) -> list[Problem]:
    """The content's and the config's problems; contrast warnings are left to `a11y.contrast`."""
    config_warnings = [
        p for p in plan.config.warnings if not (p.field.startswith("colors.") and "contrast" in p.message)
    ]
    return config_warnings + list(plan.problems)


# --- parsing the email ------------------------------------------------------------

VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
}  # fmt: skip
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all", re.IGNORECASE)


@dataclass
class Element:
    """One start tag of the email, with where it sits."""

    tag: str
    attrs: dict[str, str]
    section: str  # the heading it follows, as a reader would find it
    outlook_hidden: bool  # inside <!--[if !mso]><!--> ... <!--<![endif]-->

    def describe(self, *keys: str) -> str:
        shown = [f'{k}="{shorten(self.attrs[k], 60)}"' for k in keys if k in self.attrs]
        return f"<{self.tag}{''.join(' ' + s for s in shown)}>"


@dataclass
class Anchor:
    href: str | None
    text: str
    label: str
    section: str


@dataclass
class StyleBlock:
    css: str
    number: int


class EmailDocument(HTMLParser):
    """What the rules need from email.html, collected in one pass of the stdlib HTML parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype: str | None = None
        self.html_attrs: dict[str, str] | None = None
        self.elements: list[Element] = []
        self.anchors: list[Anchor] = []
        self.images: list[Element] = []
        self.headings: list[tuple[int, str, str]] = []
        self.layout_tables: list[Element] = []
        self.styles: list[StyleBlock] = []
        self.comments: list[str] = []
        self.visible: list[str] = []
        self.preheader: list[str] = []
        self.section = "the top of the email"
        self._headings: dict[int, str] = {}  # the current heading of each level, for `section`
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self._outlook_hidden = False
        self._anchor: Anchor | None = None
        self._heading: tuple[int, list[str], int] | None = None  # level, text, anchors before it
        self._tables: list[tuple[Element, list[bool]]] = []
        self._style: list[str] | None = None

    # -- the parser's callbacks

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype"):
            self.doctype = decl

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)
        stripped = data.strip()
        if re.match(r"\[if\s+!mso", stripped) and stripped.endswith("<!"):
            self._outlook_hidden = True
        elif stripped == "<![endif]":
            self._outlook_hidden = False

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        element = Element(tag, values, self.section, self._outlook_hidden)
        self.elements.append(element)
        if tag == "html":
            self.html_attrs = values
        elif tag == "img":
            self.images.append(element)
            if self._anchor is not None:
                self._anchor.text += " " + values.get("alt", "")  # an image link is named by its alt text
        elif tag == "a":
            label = values.get("aria-label", "") or values.get("title", "")
            self._anchor = Anchor(values.get("href"), "", label, self.section)
            self.anchors.append(self._anchor)
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = (int(tag[1]), [], len(self.anchors))
        elif tag == "table":
            self._tables.append((element, [False]))
        elif tag in ("th", "caption", "thead") and self._tables:
            self._tables[-1][1][0] = True
        elif tag == "style":
            self._style = []
        if tag not in VOID_ELEMENTS:
            hides = tag in ("head", "title", "style", "script", "xml") or bool(
                HIDDEN_STYLE.search(values.get("style", ""))
            )
            self._stack.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._anchor = None
        elif self._heading is not None and tag == f"h{self._heading[0]}":
            level, parts, anchors_before = self._heading
            text = " ".join("".join(parts).split())
            self.headings.append((level, text, self.section))
            if text:
                # "Story title" › "Key takeaways": the story, then the part of it.
                self._headings = {n: t for n, t in self._headings.items() if n < level} | {
                    level: f'"{shorten(text, 50)}"'
                }
                self.section = " › ".join(
                    t for n, t in sorted(self._headings.items()) if n > 1 or len(self._headings) == 1
                )
                for anchor in self.anchors[anchors_before:]:
                    anchor.section = self.section  # a heading's own link belongs to it
            self._heading = None
        elif tag == "table" and self._tables:
            table, is_data = self._tables.pop()
            if not is_data[0]:
                self.layout_tables.append(table)
        elif tag == "style" and self._style is not None:
            self.styles.append(StyleBlock("".join(self._style), len(self.styles) + 1))
            self._style = None
        if tag in VOID_ELEMENTS:
            return
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._style is not None:
            self._style.append(data)
            return
        if any(hides for _, hides in self._stack):
            if not any(t in ("head", "title", "style", "script", "xml") for t, _ in self._stack):
                self.preheader.append(data)
            return
        self.visible.append(data)
        if self._anchor is not None:
            self._anchor.text += data
        if self._heading is not None:
            self._heading[1].append(data)

    # -- what the rules read

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.visible).split())

    def mso_only_html(self) -> list[str]:
        """The HTML inside `<!--[if mso]>` comments: what only Outlook for Windows renders."""
        return [c for c in self.comments if re.match(r"\s*\[if\s+[^\]!]*mso", c)]


def parse_email(html: str) -> EmailDocument:
    """Parse email.html with the stdlib HTML parser."""
    doc = EmailDocument()
    doc.feed(html)
    doc.close()
    return doc


def shorten(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- parsing CSS ------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    prop: str
    value: str
    important: bool


@dataclass(frozen=True)
class CssRule:
    selector: str
    declarations: tuple[Declaration, ...]
    context: tuple[str, ...]  # the enclosing at-rule preludes, outermost first: ("@media (prefers-color-scheme:dark)",)


@dataclass(frozen=True)
class AtRule:
    name: str
    prelude: str
    context: tuple[str, ...]


@dataclass
class StyleSheet:
    rules: list[CssRule] = field(default_factory=list)
    at_rules: list[AtRule] = field(default_factory=list)
    comments: int = 0


def _skip_string(css: str, i: int) -> int:
    """The index after the string starting at `css[i]` (a quote)."""
    quote, i = css[i], i + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _split_top(css: str, separator: str) -> list[str]:
    """Split on `separator` outside strings and parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(css):
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == separator and depth == 0:
            parts.append(css[start:i])
            start = i + 1
        i += 1
    parts.append(css[start:])
    return parts


def parse_declarations(css: str) -> list[Declaration]:
    """`a: b; c: d !important` to declarations (property names lower-cased)."""
    out = []
    for part in _split_top(css, ";"):
        prop, sep, value = part.partition(":")
        prop = prop.strip().lower()
        if not sep or not prop:
            continue
        value = value.strip()
        important = bool(re.search(r"!\s*important\s*$", value, re.IGNORECASE))
        if important:
            value = re.sub(r"\s*!\s*important\s*$", "", value, flags=re.IGNORECASE)
        out.append(Declaration(prop, value, important))
    return out


def parse_css(css: str) -> StyleSheet:
    """A small CSS reader: rules with their declarations and the at-rules around them."""
    sheet = StyleSheet()
    sheet.comments = len(re.findall(r"/\*.*?\*/", css, re.DOTALL))
    css = re.sub(r"/\*.*?\*/", " ", css, flags=re.DOTALL)
    _parse_block(css, 0, (), sheet)
    return sheet


def _block_end(css: str, i: int) -> int:
    """The index of the `}` closing the block whose content starts at `i`."""
    depth = 1
    while i < len(css):
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(css)


def _parse_block(css: str, i: int, context: tuple[str, ...], sheet: StyleSheet) -> int:
    start = i
    while i < len(css):
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
        elif ch == "(":
            depth = 1
            i += 1
            while i < len(css) and depth:
                depth += {"(": 1, ")": -1}.get(css[i], 0)
                i += 1
        elif ch == ";":
            statement = css[start:i].strip()
            if statement.startswith("@"):
                name, _, prelude = statement[1:].partition(" ")
                sheet.at_rules.append(AtRule(name.lower(), prelude.strip(), context))
            i += 1
            start = i
        elif ch == "{":
            prelude = css[start:i].strip()
            end = _block_end(css, i + 1)
            if prelude.startswith("@"):
                match = re.match(r"@([\w-]+)\s*(.*)", prelude, re.DOTALL)
                name, rest = (match.group(1).lower(), match.group(2).strip()) if match else ("", prelude)
                sheet.at_rules.append(AtRule(name, rest, context))
                inner = context + (prelude,)
                if name in ("font-face", "page", "viewport"):
                    sheet.rules.append(CssRule(prelude, tuple(parse_declarations(css[i + 1 : end])), inner))
                else:
                    _parse_block(css[:end], i + 1, inner, sheet)
            else:
                sheet.rules.append(
                    CssRule(" ".join(prelude.split()), tuple(parse_declarations(css[i + 1 : end])), context)
                )
            i = end + 1
            start = i
        elif ch == "}":
            return i + 1
        else:
            i += 1
    return i


# --- caniemail's data -------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    id: str
    name: str


@lru_cache(maxsize=1)
def caniemail() -> dict[str, Any]:
    """The shipped support data (generated by scripts/caniemail_data.py), with an index built from its `match` lists."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    index: dict[str, dict[str, str]] = defaultdict(dict)
    for slug, feature in data["features"].items():
        feature["tokens"] = feature["support"].split()
        for kind, names in feature["match"].items():
            for name in names:
                index[kind].setdefault(name, slug)
    data["index"] = dict(index)
    data["client_list"] = [Client(c["id"], c["name"]) for c in data["clients"]]
    return data


@dataclass(frozen=True)
class Usage:
    """One use of a caniemail feature in the email."""

    slug: str
    where: str
    context: tuple[str, ...] = ()  # enclosing at-rules: a client that ignores them never sees this use
    outlook_hidden: bool = False


def feature_uses(doc: EmailDocument) -> list[Usage]:
    """Every CSS property, value, at-rule and HTML element/attribute of the email that caniemail knows."""
    index = caniemail()["index"]
    uses: list[Usage] = []

    def add(kind: str, name: str, where: str, context: tuple[str, ...] = (), hidden: bool = False) -> None:
        slug = index.get(kind, {}).get(name)
        if slug:
            uses.append(Usage(slug, where, context, hidden))

    def declarations(decls: Iterable[Declaration], where: str, context: tuple[str, ...], hidden: bool) -> None:
        decls = list(decls)
        if any(d.prop == "display" and d.value.strip().lower() == "none" for d in decls):
            # What else a hidden element's style says matters only where display:none does not work.
            decls = [d for d in decls if d.prop == "display"]
        for d in decls:
            if d.value.strip().lower() in INITIAL_VALUES.get(d.prop, ()):
                continue
            place = where.format(f"{d.prop}:{shorten(d.value, 40)}")
            add("property", d.prop, place, context, hidden)
            add("value", f"{d.prop}:{d.value.strip().lower()}", place, context, hidden)
            if d.important:
                add("keyword", "!important", place + " !important", context, hidden)
            for word in re.findall(r"[a-z][a-z-]*", d.value.lower()):
                add("keyword", word, place, context, hidden)
            for function in re.findall(r"([a-zA-Z-]+)\(", d.value):
                add("function", function.lower(), place, context, hidden)
            for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", d.value):
                image_format(url, place, context, hidden)

    def image_format(src: str, where: str, context: tuple[str, ...] = (), hidden: bool = False) -> None:
        if src.startswith("data:"):
            add("image", "base64", where, context, hidden)
            return
        path = re.split(r"[?#]", src, maxsplit=1)[0].rsplit("/", 1)[-1]
        ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if ext:
            add("image", ext, where, context, hidden)

    if doc.doctype:
        add("special", "doctype", f"<!{doc.doctype}>")
    if doc.comments:
        add("special", "comment", f"<!--{shorten(doc.comments[0], 30)}-->")
    for block in doc.styles:
        sheet = parse_css(block.css)
        where = f"<style> #{block.number}"
        if sheet.comments:
            add("special", "css-comment", f"{where} /* … */")
        for at in sheet.at_rules:
            place = f"{where} @{at.name} {shorten(at.prelude, 50)}".rstrip()
            add("at-rule", at.name, place, at.context)
            if at.name == "media":
                for feature in re.findall(r"\(\s*([-a-z]+)", at.prelude.lower()):
                    name = re.sub(r"^(-webkit-)?(min-|max-)", r"\1", feature)
                    add("media-feature", name, place, at.context)
            if at.name == "import":
                image_format("", place, at.context)
        for rule in sheet.rules:
            selector = shorten(rule.selector, 50).replace("{", "{{").replace("}", "}}")
            declarations(rule.declarations, f"{where} {selector} {{{{{{}}}}}}", rule.context, False)
    for element in doc.elements:
        hidden = element.outlook_hidden
        tag = element.tag
        where = element.describe("class") + f" under {element.section}"
        name = tag
        if tag in ("input", "button"):
            name = f"{tag}[type={element.attrs.get('type', 'text' if tag == 'input' else 'submit').lower()}]"
        add("element", name, where, (), hidden)
        for attr in element.attrs:
            if attr == "style":
                continue
            add("attribute", attr, f"<{tag} {attr}=…> under {element.section}", (), hidden)
        if "style" in element.attrs:
            section = element.section.replace("{", "{{").replace("}", "}}")
            declarations(
                parse_declarations(element.attrs["style"]), f'<{tag} style="{{}}"> under {section}', (), hidden
            )
        if tag == "meta" and element.attrs.get("name", "").lower() == "color-scheme":
            add("special", "meta-color-scheme", element.describe("name", "content"), (), hidden)
        if tag == "a":
            href = element.attrs.get("href", "")
            if href.lower().startswith("mailto:"):
                add("special", "mailto-link", element.describe("href"), (), hidden)
            elif href.startswith("#") and len(href) > 1:
                add("special", "local-anchor", element.describe("href"), (), hidden)
        if tag == "img" and element.attrs.get("src"):
            image_format(element.attrs["src"], f"{element.describe('src')} under {element.section}", (), hidden)
    return uses


# Features a client may drop with the email still laid out and readable: the
# enhancements (responsive and dark-mode styles, web fonts) and the finishing
# touches (round corners, shadows, cursors, link targets...). That a client does
# not support one of them is a note (info); any other unsupported feature is a
# warning, and partial support is a note.
GRACEFUL = {
    "css-at-media", "css-at-media-prefers-color-scheme", "css-at-media-prefers-reduced-motion", "css-at-media-hover",
    "css-color-scheme", "html-meta-color-scheme", "css-at-import", "css-at-font-face", "html-link", "css-important",
    "css-border-radius", "css-box-shadow", "css-text-shadow", "css-cursor", "css-outline", "css-outline-offset",
    "css-transition", "css-animation", "css-at-keyframes", "css-word-spacing", "css-letter-spacing",
    "css-word-break", "css-word-wrap", "css-overflow-wrap", "css-hyphens", "css-text-decoration-color",
    "css-text-decoration-style", "css-text-decoration-thickness", "css-text-underline-offset", "css-font-kerning",
    "css-accent-color", "css-user-select", "css-comments",
    "html-doctype", "html-body", "html-comments", "html-target", "html-lang", "html-dir", "html-role",
    "html-aria-label", "html-aria-labelledby", "html-aria-describedby", "html-aria-hidden", "html-aria-live",
    "html-loading-attribute", "html-srcset",
}  # fmt: skip
# A declaration of a property's initial value changes nothing where a client drops it.
INITIAL_VALUES = {
    "height": {"auto"}, "width": {"auto"}, "min-height": {"0", "0px", "auto"}, "min-width": {"0", "0px", "auto"},
    "max-height": {"none"}, "max-width": {"none"}, "word-spacing": {"normal", "0", "0px"},
    "letter-spacing": {"normal"}, "cursor": {"auto"}, "opacity": {"1"}, "overflow": {"visible"},
    "border-spacing": {"0", "0px", "0 0", "0px 0px"}, "outline": {"none", "0"}, "word-break": {"normal"},
    "text-shadow": {"none"}, "box-shadow": {"none"}, "float": {"none"}, "position": {"static"},
}  # fmt: skip


def _applies(context: tuple[str, ...], client: int) -> bool:
    """False when the client ignores an at-rule around the use (it never applies what is inside)."""
    data = caniemail()
    index, features = data["index"], data["features"]
    for prelude in context:
        match = re.match(r"@([\w-]+)", prelude)
        slugs = [index.get("at-rule", {}).get(match.group(1).lower())] if match else []
        if match and match.group(1).lower() == "media":
            for feature in re.findall(r"\(\s*([-a-z]+)", prelude.lower()):
                slugs.append(index.get("media-feature", {}).get(re.sub(r"^(-webkit-)?(min-|max-)", r"\1", feature)))
        for slug in slugs:
            if slug and features[slug]["tokens"][client].startswith("n"):
                return False
    return True


def check_clients(doc: EmailDocument) -> list[Finding]:
    """Each feature the email uses that a client does not support (warning) or supports only partly (info)."""
    data = caniemail()
    features, clients = data["features"], data["client_list"]
    found: dict[tuple[int, str], list[str]] = {}
    for use in feature_uses(doc):
        tokens = features[use.slug]["tokens"]
        for i, client in enumerate(clients):
            if tokens[i][:1] not in ("a", "n"):
                continue
            if use.outlook_hidden and client.id == "outlook-windows":
                continue
            if not _applies(use.context, i):
                continue
            found.setdefault((i, use.slug), []).append(use.where)
    findings = []
    for (i, slug), places in sorted(found.items()):
        client, feature = clients[i], features[slug]
        token = feature["tokens"][i]
        notes = [feature.get("notes", {}).get(n, "") for n in re.findall(r"#(\d+)", token)]
        detail = " ".join(n for n in notes if n)
        unsupported = token.startswith("n")
        severity = "warning" if unsupported and slug not in GRACEFUL else "info"
        what = "not supported" if unsupported else "partly supported"
        where = "email.html " + places[0] + (f" (and {len(places) - 1} more)" if len(places) > 1 else "")
        url = FEATURE_URL.format(slug=slug)
        message = f"{feature['title']} is {what} in {client.name}" + (f": {detail}" if detail else "")
        fix = f"see {url}" if severity == "info" else f"give {client.name} a fallback or do without it; see {url}"
        findings.append(Finding(f"client.{client.id}", severity, where, message, fix))
    return findings


# --- size -------------------------------------------------------------------------


def size_figures(html: bytes, doc: EmailDocument, options: CheckOptions) -> dict[str, Any]:
    style_sizes = [len(block.css.encode("utf-8")) for block in doc.styles]
    return {
        "email_html_bytes": len(html),
        "clip_bytes": options.clip_bytes,
        "clip_share": round(len(html) / options.clip_bytes, 3),
        "headroom": options.headroom,
        "bytes_with_headroom": round(len(html) * (1 + options.headroom)),
        "style_bytes": sum(style_sizes),
        "style_blocks": len(style_sizes),
        "largest_style_block": max(style_sizes, default=0),
        "style_limit": options.style_bytes,
    }


def check_size(figures: dict[str, Any], options: CheckOptions) -> list[Finding]:
    """Gmail clips an email over 102 KB; links an ESP rewrites for tracking make it grow on the way."""
    findings = []
    size, clip = figures["email_html_bytes"], options.clip_bytes
    grown = figures["bytes_with_headroom"]
    fix = "run `digest build --fit` (drops rail items, then trims takeaways), or lower `rail:`/`leads:`"
    if size > clip:
        message = (
            f"{size:,} bytes is over Gmail's clipping line of {clip:,} bytes by {size - clip:,}: Gmail will clip it"
        )
        findings.append(Finding("size.gmail-clip", "error", "email.html", message, fix))
    elif grown > clip:
        message = (
            f"{size:,} bytes ({size / clip:.0%} of Gmail's clipping line) grows to about {grown:,} bytes "
            f"when an ESP rewrites the links ({options.headroom:.0%} headroom): Gmail may clip it"
        )
        findings.append(Finding("size.gmail-clip", "warning", "email.html", message, fix))
    style_fix = "keep the CSS in <style> short: move rules to inline styles or drop unused ones"
    if figures["largest_style_block"] > options.style_bytes:
        largest = figures["largest_style_block"]
        message = (
            f"a <style> block of {largest:,} bytes is over Gmail's limit of {options.style_bytes:,}: Gmail drops it"
        )
        findings.append(Finding("size.style-block", "error", "email.html <head>", message, style_fix))
    elif figures["style_bytes"] > options.style_bytes:
        total = figures["style_bytes"]
        message = (
            f"<style> blocks total {total:,} bytes, over Gmail's {options.style_bytes:,}: some Gmail apps drop them"
        )
        findings.append(Finding("size.style-block", "warning", "email.html <head>", message, style_fix))
    return findings


def size_breakdown(plan: Plan, rendered: RenderedIssue, doc: EmailDocument) -> dict[str, Any]:
    """What each part costs in email.html: the issue re-rendered without each lead, and without the rail."""
    from digest.render import render_issue

    html = rendered.files["email.html"]
    total = len(html)
    head_match = re.search(rb"<head\b.*?</head>", html, re.DOTALL | re.IGNORECASE)
    head = len(head_match.group(0)) if head_match else 0
    selection = plan.selection

    def without(**changes: Any) -> int:
        smaller = replace(plan, selection=replace(selection, **changes))
        return total - len(render_issue(smaller).files["email.html"])

    lead_bytes = [without(leads=selection.leads[:i] + selection.leads[i + 1 :]) for i in range(len(selection.leads))]
    leads = [{"id": a.id, "title": a.title, "bytes": n} for a, n in zip(selection.leads, lead_bytes, strict=True)]
    rail = without(rail=()) if selection.rail else 0
    rest = total - head - sum(lead_bytes) - rail
    return {
        "head": head,
        "style": sum(len(b.css.encode("utf-8")) for b in doc.styles),
        "leads": leads,
        "rail": {"items": len(selection.rail), "bytes": rail},
        "rest": rest,
    }


def check_breakdown(figures: dict[str, Any]) -> list[Finding]:
    """One note naming the parts that cost most."""
    parts = figures["breakdown"]
    total = figures["email_html_bytes"] or 1
    pieces = [("head and its CSS", parts["head"])]
    if parts["leads"]:
        largest = max(parts["leads"], key=lambda lead: lead["bytes"])
        lead_total = sum(lead["bytes"] for lead in parts["leads"])
        pieces.append((f"{len(parts['leads'])} leads", lead_total))
        biggest = f"; the largest lead is {largest['id']} ({largest['bytes']:,} bytes)"
    else:
        biggest = ""
    if parts["rail"]["items"]:
        per_item = parts["rail"]["bytes"] // parts["rail"]["items"]
        pieces.append((f"rail of {parts['rail']['items']} (~{per_item:,} each)", parts["rail"]["bytes"]))
    pieces.append(("header, footer and layout", parts["rest"]))
    pieces.sort(key=lambda p: -p[1])
    message = ", ".join(f"{name} {size:,} bytes ({size / total:.0%})" for name, size in pieces) + biggest
    return [Finding("size.breakdown", "info", "email.html", message)]


# --- accessibility ----------------------------------------------------------------

GENERIC_LINK_TEXT = {
    "click here", "click", "here", "read more", "more", "learn more", "link", "this link", "this", "go",
    "continue reading", "continue", "details", "more info", "more information", "see more", "view", "open",
}  # fmt: skip
FILE_NAME = re.compile(r"^[\w.-]+\.(png|jpe?g|gif|webp|svg|avif|bmp)$", re.IGNORECASE)
GENERIC_ALT = {"image", "img", "photo", "picture", "graphic", "pic", "spacer", "untitled"}


@dataclass
class SourcePlaces:
    """Where a link or an image of the email comes from: the article file to fix."""

    urls: dict[str, str]
    images: dict[str, str]

    @classmethod
    def of(cls, plan: Plan) -> SourcePlaces:
        from digest.select import normalise_url

        urls: dict[str, str] = {}
        images: dict[str, str] = {}
        for article in plan.selection.articles:
            urls.setdefault(normalise_url(article.url), f"{article.path} url")
            if article.image is not None:
                images.setdefault(article.image.src, f"{article.path} image")
        return cls(urls, images)

    def of_url(self, url: str) -> str:
        from digest.select import normalise_url

        try:
            source = self.urls.get(normalise_url(url))
        except ValueError:
            source = None
        return f" (from {source})" if source else ""


def check_accessibility(doc: EmailDocument, places: SourcePlaces) -> list[Finding]:
    return [
        *lint_lang(doc),
        *lint_layout_tables(doc),
        *lint_alt_text(doc, places),
        *lint_heading_order(doc),
        *lint_link_text(doc, places),
    ]


def lint_lang(doc: EmailDocument) -> Iterator[Finding]:
    lang = (doc.html_attrs or {}).get("lang", "").strip()
    if not lang or lang.lower() == "und":
        what = "has no lang" if not lang else 'has lang="und" (undetermined)'
        yield Finding(
            "a11y.lang",
            "error",
            "email.html <html>",
            f"{what}: screen readers guess the language",
            'set `lang:` in digest.yaml (e.g. en) and keep <mjml lang="{{ lang }}">',
        )


def lint_layout_tables(doc: EmailDocument) -> Iterator[Finding]:
    fix = 'add role="presentation" so that screen readers do not read the table as data'
    for table in doc.layout_tables:
        if table.attrs.get("role", "").lower() not in ("presentation", "none"):
            yield Finding(
                "a11y.layout-table",
                "error",
                f"email.html {table.describe('class', 'role')} under {table.section}",
                'layout table without role="presentation"',
                fix,
            )
    for html in doc.mso_only_html():
        for tag in re.findall(r"<table\b[^>]*>", html, re.IGNORECASE):
            if not re.search(r"\brole\s*=\s*['\"]?(presentation|none)", tag, re.IGNORECASE):
                yield Finding(
                    "a11y.layout-table",
                    "error",
                    f"email.html <!--[if mso]> {shorten(tag, 60)}",
                    'Outlook-only layout table without role="presentation"',
                    fix,
                )


def lint_alt_text(doc: EmailDocument, places: SourcePlaces) -> Iterator[Finding]:
    for image in doc.images:
        src = image.attrs.get("src", "")
        source = places.images.get(src)
        where = f"email.html {image.describe('src')} under {image.section}" + (f" (from {source})" if source else "")
        if "alt" not in image.attrs:
            fix = f"add `alt:` to the image in {source}" if source else 'add alt="…" (or alt="" for a decorative image)'
            yield Finding("a11y.alt-text", "error", where, "image without alt text", fix)
            continue
        alt = image.attrs["alt"].strip()
        if FILE_NAME.match(alt) or alt.lower() in GENERIC_ALT:
            yield Finding(
                "a11y.alt-text",
                "warning",
                where,
                f'alt text "{alt}" does not describe the image',
                "describe what the image shows",
            )


def lint_heading_order(doc: EmailDocument) -> Iterator[Finding]:
    previous = 0
    ones = 0
    for level, text, section in doc.headings:
        where = f'email.html <h{level}> "{shorten(text, 50)}" under {section}'
        if level == 1:
            ones += 1
            if ones == 2:
                yield Finding(
                    "a11y.heading-order",
                    "warning",
                    where,
                    "a second <h1>",
                    "keep one <h1> (the issue title); use <h2> below it",
                )
        if previous and level > previous + 1:
            yield Finding(
                "a11y.heading-order",
                "warning",
                where,
                f"<h{level}> follows <h{previous}>: a level is skipped",
                f"use <h{previous + 1}>",
            )
        elif not previous and level != 1:
            yield Finding(
                "a11y.heading-order",
                "warning",
                where,
                f"the first heading is <h{level}>, not <h1>",
                "start with the issue title as <h1>",
            )
        if not text:
            yield Finding("a11y.heading-order", "warning", where, "empty heading", "give it text or remove it")
        previous = level


def lint_link_text(doc: EmailDocument, places: SourcePlaces) -> Iterator[Finding]:
    for anchor in doc.anchors:
        if not anchor.href:
            continue
        text = " ".join(anchor.text.split())
        where = f'email.html <a href="{shorten(anchor.href, 60)}"> under {anchor.section}{places.of_url(anchor.href)}'
        if not text and not anchor.label.strip():
            yield Finding(
                "a11y.link-text",
                "error",
                where,
                "link without text (an image link needs an alt text)",
                "give the link words, or its image an alt text",
            )
            continue
        said = re.sub(r"[^\w\s]", "", (text or anchor.label).lower()).strip()
        if said in GENERIC_LINK_TEXT and not anchor.label.strip():
            yield Finding(
                "a11y.link-text",
                "warning",
                where,
                f'link text "{text}" says nothing out of context',
                'say where it goes, e.g. "Read the full story at <source>"',
            )


def check_contrast(plan: Plan) -> list[Finding]:
    """Every text colour of the configured palette against its background, light and dark."""
    findings = []
    config = plan.config
    shown = Path(config.path).name if config.path else "digest.yaml"  # the config sits at the newsletter's root
    for mode, palette in (("light", config.light), ("dark", config.dark)):
        for role, (fg, bg) in palette.contrast_pairs().items():
            ratio = contrast_ratio(fg, bg)
            if ratio < CONTRAST_MINIMUM:
                findings.append(
                    Finding(
                        "a11y.contrast",
                        "error",
                        f"{shown} colors.{mode}.{role}",
                        f"{fg} on {bg} has a contrast of {ratio:.2f}:1, below {CONTRAST_MINIMUM}:1 ({mode} mode)",
                        "pick a darker or lighter colour",
                    )
                )
    return findings


# --- links ------------------------------------------------------------------------

# Merge tags of the common ESPs, whole: Mailchimp *|UNSUB|*, Handlebars/Liquid/Go
# {{ unsubscribe_url }} and {{{unsubscribe}}}, Mailgun/Postmark %unsubscribe_url%,
# SendGrid/Campaign Monitor [unsubscribe] and <%asm_group_unsubscribe_raw_url%>,
# and digest's own stand-ins (export swaps them for the ESP's tags).
MERGE_TAG = re.compile(
    r"\*\|[A-Za-z0-9_:-]+(?:\s[^|*]*)?\|\*"
    r"|\{\{\{\s*[^{}]+?\s*\}\}\}"
    r"|\{\{\s*[^{}]+?\s*\}\}"
    r"|\{%\s*[^{}%]+?\s*%\}"
    r"|<%\s*[\w.]+\s*%>"
    r"|%(?![0-9A-Fa-f]{2}%)[A-Za-z_][\w.-]{2,}%"
    r"|^\[[A-Za-z_][\w-]*\]$"
    r"|https://merge\.digest\.invalid/[\w-]+"
)
HALF_TAG = re.compile(
    r"\*\||\|\*|\{|\}|<%|%>"
    r"|%7B%7B|%7D%7D|\*%7C|%7C\*|%2A%7C|%7C%2A|%7B%25|%25%7D",
    re.IGNORECASE,
)
LINK_SCHEMES = {"http", "https", "mailto", "tel", "sms"}


def link_problem(href: str) -> tuple[str, str, str] | None:
    """(rule, severity, message) for a link target that is broken, or None when it is fine."""
    url = href.strip()
    if not url:
        return ("links.malformed", "error", "empty link target")
    if url == "#":
        return ("links.malformed", "error", 'placeholder link "#"')
    tags = MERGE_TAG.findall(url)
    for tag in tags:
        if tag[:1] in "{*<[" and re.search(r"%[0-9A-Fa-f]{2}", tag):
            return ("links.merge-tag", "error", f"a URL-encoded merge tag {tag!r} (the ESP will not replace it)")
    rest = MERGE_TAG.sub("MERGETAG", url)
    half = HALF_TAG.search(rest)
    if half:
        encoded = "%" in half.group(0)
        what = (
            "a URL-encoded merge tag (the ESP will not replace it)"
            if encoded
            else f"a broken merge tag near {half.group(0)!r}"
        )
        return ("links.merge-tag", "error", what)
    if re.fullmatch(r"\[?[A-Za-z_][\w-]*\]?", rest) and (rest.startswith("[") or rest.endswith("]")):
        return ("links.merge-tag", "error", f"a broken merge tag {url!r}")
    if re.match(r"%[A-Za-z_]\w{2,}(?![\w%])", rest) or re.search(r"(?<![\w%])[A-Za-z_]\w{2,}%$", rest):
        return ("links.merge-tag", "error", f"a broken merge tag {url!r}")
    if tags and rest == "MERGETAG":
        return None  # the whole target is a merge tag: the ESP fills it in
    if url.startswith("#"):
        return ("links.malformed", "warning", "a link to an anchor inside the email: many clients ignore it")
    if re.search(r"\s", url):
        return ("links.malformed", "error", "the link contains spaces or line breaks")
    try:
        parts = urlsplit(rest)
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # an unreadable host ("[::1") or port ("99999")
        return ("links.malformed", "error", f"cannot be read as a URL: {exc}")
    scheme = parts.scheme.lower()
    if not scheme:
        return ("links.malformed", "error", "relative link: it has no meaning in an inbox")
    if scheme == "javascript":
        return ("links.malformed", "error", "javascript: link")
    if scheme not in LINK_SCHEMES:
        return ("links.malformed", "warning", f"unusual link scheme {scheme}:")
    if scheme in ("http", "https"):
        if not parts.netloc or not host:
            return ("links.malformed", "error", "no host name")
        if port == 0:
            return ("links.malformed", "error", "invalid port")
        if re.search(r"%(?![0-9A-Fa-f]{2})", rest):
            return ("links.malformed", "error", "a % that is not followed by two hex digits")
        if scheme == "http":
            return ("links.https", "warning", "plain http link")
    if scheme == "mailto" and not parts.path.strip():
        return ("links.malformed", "error", "mailto: link without an address")
    return None


def check_links(doc: EmailDocument, places: SourcePlaces) -> list[Finding]:
    findings = []
    seen: set[str] = set()
    for anchor in doc.anchors:
        if anchor.href is None or anchor.href in seen:
            continue
        seen.add(anchor.href)
        problem = link_problem(anchor.href)
        if problem is None:
            continue
        rule, severity, message = problem
        source = places.of_url(anchor.href)
        link = f'<a href="{shorten(anchor.href, 70)}"> "{shorten(anchor.text, 40)}"'
        where = f"email.html {link} under {anchor.section}{source}"
        fixes = {
            "links.https": "use the https:// address" + (" in the article's `url`" if source else ""),
            "links.merge-tag": "write the tag whole, as the ESP documents it (e.g. *|UNSUB|*, {{ unsubscribe_url }})",
            "links.malformed": "use a full https:// address",
        }
        findings.append(Finding(rule, severity, where, message, fixes[rule]))
    findings += lint_utm(doc)
    return findings


def lint_utm(doc: EmailDocument) -> Iterator[Finding]:
    """The same page linked with two different sets of UTM parameters splits its clicks in analytics."""
    variants: dict[str, dict[tuple[tuple[str, str], ...], str]] = defaultdict(dict)
    for anchor in doc.anchors:
        href = (anchor.href or "").strip()
        if not href.lower().startswith(("http://", "https://")) or MERGE_TAG.search(href):
            continue
        try:
            parts = urlsplit(href)
            host = (parts.hostname or "").lower()
        except ValueError:
            continue  # links.malformed reports it
        query = parse_qsl(parts.query, keep_blank_values=True)
        utm = tuple(sorted((k.lower(), v) for k, v in query if k.lower().startswith("utm_")))
        rest = sorted((k, v) for k, v in query if not k.lower().startswith("utm_"))
        key = f"{host}{parts.path.rstrip('/')}?{rest}"
        variants[key].setdefault(utm, href)
    for hrefs in variants.values():
        if len(hrefs) > 1:
            shown = "; ".join(
                ("&".join(f"{k}={v}" for k, v in utm) or "no UTM") + f" ({shorten(href, 60)})"
                for utm, href in hrefs.items()
            )
            first = next(iter(hrefs.values()))
            yield Finding(
                "links.utm",
                "warning",
                f'email.html <a href="{shorten(first, 70)}">',
                f"the same URL with {len(hrefs)} UTM sets: {shown}",
                "link it with one set of UTM parameters",
            )


def check_links_online(doc: EmailDocument, places: SourcePlaces, timeout: float = 10.0) -> list[Finding]:
    """HEAD every http(s) link (GET when HEAD is refused), a few at a time, each with a timeout."""
    from concurrent.futures import ThreadPoolExecutor

    urls = []
    for anchor in doc.anchors:
        href = (anchor.href or "").strip()
        if (
            href.lower().startswith(("http://", "https://"))
            and not MERGE_TAG.search(href)
            and href not in urls
            and link_problem(href) in (None, ("links.https", "warning", "plain http link"))
        ):
            urls.append(href)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda u: (u, probe(u, timeout)), urls))
    findings = []
    for url, (status, error) in results:
        where = f'email.html <a href="{shorten(url, 70)}">{places.of_url(url)}'
        if error is not None:
            findings.append(
                Finding(
                    "links.online",
                    "warning",
                    where,
                    f"did not answer: {error}",
                    "open it in a browser; fix or remove it if it is gone",
                )
            )
        elif status is not None and status >= 400:
            blocked = status in (401, 403, 429) or status >= 500
            severity = "warning" if blocked else "error"
            reason = "may refuse robots or be down for now" if blocked else "is broken"
            findings.append(
                Finding(
                    "links.online",
                    severity,
                    where,
                    f"answers HTTP {status}: the link {reason}",
                    "open it in a browser; fix the address or remove the link",
                )
            )
    return findings


def probe(url: str, timeout: float) -> tuple[int | None, str | None]:
    """(HTTP status, None) or (None, what went wrong) for one URL; HEAD first, GET if HEAD is not allowed."""
    import urllib.error
    import urllib.request

    from digest import __version__

    class KeepMethod(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            if new is not None:
                new.method = req.get_method()
            return new

    opener = urllib.request.build_opener(KeepMethod)
    headers = {"User-Agent": f"digest/{__version__} (link check)"}
    status: int | None = None
    for method in ("HEAD", "GET"):
        # Only http(s) URLs get here (see check_links_online), never file: or custom schemes.
        request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
        try:
            with opener.open(request, timeout=timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return None, f"{reason}" if str(reason) else type(exc).__name__
        if status not in (405, 501):
            break
    return status, None


# --- the plain-text version -------------------------------------------------------

REFERENCE_LINE = re.compile(r"\[\d+\] \S+")
TEXT_URL = re.compile(r"(?:https?://|mailto:)[^\s<>\]\[]+")
LEFTOVER_MARKUP = [
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), "an HTML tag"),
    (re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,7}|#\d{1,6}|#x[0-9A-Fa-f]{1,6});"), "an HTML entity"),
    (re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"), "Markdown emphasis"),
    (re.compile(r"\]\((?:https?|mailto):"), "a Markdown link"),
]


def check_text(text: str, doc: EmailDocument) -> list[Finding]:
    findings = []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if len(line) > TEXT_LINE_LIMIT and not REFERENCE_LINE.fullmatch(line):
            findings.append(
                Finding(
                    "text.line-length",
                    "warning",
                    f"email.txt line {number}",
                    f"{len(line)} characters, over {TEXT_LINE_LIMIT}: {shorten(line, 50)}",
                    "wrap it (the `wrap` filter of the text template)",
                )
            )
        for pattern, what in LEFTOVER_MARKUP:
            match = pattern.search(MERGE_TAG.sub(" ", line))
            if match:
                findings.append(
                    Finding(
                        "text.markup",
                        "error",
                        f"email.txt line {number}",
                        f"{what} left in the text: {shorten(match.group(0), 40)}",
                        "render the field as text (the `md_text` filter), not as HTML",
                    )
                )
    findings += lint_text_links(text, doc)
    return findings


def lint_text_links(text: str, doc: EmailDocument) -> Iterator[Finding]:
    from urllib.parse import unquote

    from digest.select import normalise_url

    def same(url: str) -> str | None:
        # CSS inlining percent-encodes non-ASCII in hrefs (ª becomes %C2%AA); the text keeps it as written.
        try:
            return normalise_url(unquote(url))
        except ValueError:
            return None

    present = set(TEXT_URL.findall(text)) | {m.group(1) for m in re.finditer(r"^\[\d+\] (\S+)$", text, re.MULTILINE)}
    normalised = {same(url) for url in present} - {None}
    seen: set[str] = set()
    for anchor in doc.anchors:
        href = (anchor.href or "").strip()
        if not href or href in seen or href.startswith("#"):
            continue
        seen.add(href)
        if not (href.lower().startswith(("http://", "https://", "mailto:")) or MERGE_TAG.fullmatch(href)):
            continue
        if href in present or href in text:
            continue
        if href.lower().startswith("http") and same(href) in normalised:
            continue
        yield Finding(
            "text.links",
            "error",
            f'email.txt (the HTML links "{shorten(anchor.text, 40)}" under {anchor.section})',
            f"{shorten(href, 80)} is not in the plain text",
            "add it to the text template as a reference (`ref(url)`)",
        )


# --- spam heuristics --------------------------------------------------------------

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
BODY_CAPS_SHARE = 0.10
SUBJECT_CAPS_SHARE = 0.30
TEXT_PER_IMAGE = 400


def caps_share(text: str) -> tuple[float, list[str]]:
    """The share of words (of 2 letters or more) written in capitals, and those words."""
    words = [w for w in WORD.findall(text) if len(w) >= 2]
    caps = [w for w in words if w.isupper() and len(w) >= 4]
    return (len(caps) / len(words) if words else 0.0), caps


def check_spam(doc: EmailDocument, rendered: RenderedIssue) -> list[Finding]:
    findings = []
    subject = str(rendered.manifest.get("subject") or "")
    body = doc.visible_text
    share, caps = caps_share(subject)
    if share > SUBJECT_CAPS_SHARE and caps:
        findings.append(
            Finding(
                "spam.all-caps",
                "warning",
                "subject",
                f"{share:.0%} of the words are in capitals ({', '.join(caps[:5])})",
                "write the subject in sentence case",
            )
        )
    share, caps = caps_share(body)
    if share > BODY_CAPS_SHARE:
        findings.append(
            Finding(
                "spam.all-caps",
                "warning",
                "email.html body",
                f"{share:.0%} of the words are in capitals (e.g. {', '.join(dict.fromkeys(caps[:8]))})",
                "use capitals for acronyms only",
            )
        )
    if re.search(r"!{2,}", subject):
        findings.append(
            Finding(
                "spam.exclamation",
                "warning",
                "subject",
                f'"{shorten(subject, 60)}" has a run of exclamation marks',
                "one ! at most",
            )
        )
    for match in re.finditer(r"!{3,}", body):
        context = body[max(0, match.start() - 30) : match.end()]
        findings.append(
            Finding(
                "spam.exclamation",
                "warning",
                "email.html body",
                f'a run of exclamation marks: "…{context}"',
                "one ! at most",
            )
        )
        break
    images = [
        img
        for img in doc.images
        if not (
            img.attrs.get("width", "").strip() in ("0", "1", "2")
            or img.attrs.get("height", "").strip() in ("0", "1", "2")
        )
    ]
    if images:
        per_image = len(body) / len(images)
        if per_image < TEXT_PER_IMAGE:
            findings.append(
                Finding(
                    "spam.image-ratio",
                    "warning",
                    "email.html",
                    f"{len(images)} images for {len(body):,} characters of text "
                    f"({per_image:.0f} per image, under {TEXT_PER_IMAGE})",
                    "add text or drop images: mostly-image emails look like spam",
                )
            )
    text = rendered.files.get("email.txt", b"").strip()
    eml = rendered.files.get("email.eml", b"")
    if not text:
        findings.append(
            Finding(
                "spam.text-part",
                "error",
                "email.txt",
                "the issue has no plain-text version",
                "keep the text template (email.txt.j2) rendering the issue",
            )
        )
    elif eml and b"text/plain" not in eml:
        findings.append(
            Finding(
                "spam.text-part",
                "error",
                "email.eml",
                "the message has no text/plain part",
                "send multipart/alternative with the text first",
            )
        )
    return findings


def check_selection(plan: Plan) -> list[Finding]:
    findings = []
    if not plan.selection.leads:
        findings.append(
            Finding(
                "content.selection",
                "error",
                plan.spec.path or "issue",
                "the issue has no lead stories",
                "widen the window or the categories, or add articles",
            )
        )
    for warning in plan.selection.warnings:
        if plan.selection.leads:
            findings.append(Finding("content.selection", "warning", plan.spec.path or "issue", warning))
    return findings
