"""The newsletter's configuration: `digest.yaml`, or `[tool.digest]` in pyproject.toml.

It names the newsletter and its sender, holds the colours, logo, postal
address and links, and says where content, issues and builds live. Every key
is validated like content: file, field, what is wrong, how to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from digest.errors import ConfigError, Problem, display_path

CONFIG_NAME = "digest.yaml"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Palette:
    """The colours of one mode; every text colour must read on its background at >= 4.5:1."""

    background: str  # around the email
    surface: str  # behind the content
    text: str
    muted: str  # dates, sources, footer
    accent: str  # links, category labels
    button: str  # button background
    button_text: str
    border: str

    def contrast_pairs(self) -> dict[str, tuple[str, str]]:
        """The foreground/background pairs a reader has to read."""
        return {
            "text": (self.text, self.surface),
            "muted": (self.muted, self.surface),
            "accent": (self.accent, self.surface),
            "button_text": (self.button_text, self.button),
        }


LIGHT = Palette("#eef1f5", "#ffffff", "#1a1d21", "#535b66", "#0b57b7", "#0b57b7", "#ffffff", "#d9dee5")
DARK = Palette("#0f1115", "#1b1f26", "#e8eaed", "#aab2bd", "#7ab7ff", "#7ab7ff", "#0f1115", "#323945")


@dataclass(frozen=True)
class Logo:
    src: str
    alt: str
    width: int = 160


@dataclass(frozen=True)
class Config:
    """Everything about the newsletter that is not one issue."""

    root: Path = field(default_factory=Path.cwd)
    path: str | None = None
    name: str = "Weekly Digest"
    tagline: str = ""
    lang: str = "en"
    timezone: str = "UTC"
    content: str = "seeds"
    issues: str = "issues"
    output: str = "build"
    templates: str = "templates"
    cache: str = ".cache/digest"
    sender_name: str = "Weekly Digest"
    sender_email: str = "newsletter@example.com"
    reply_to: str | None = None
    website: str = "https://example.com/"
    view_online: str = "https://example.com/issues/{slug}/"
    unsubscribe: str = "https://example.com/unsubscribe"
    preferences: str = "https://example.com/preferences"
    postal_address: str = ""
    why: str = "You are receiving this email because you subscribed to our newsletter."
    logo: Logo | None = None
    light: Palette = LIGHT
    dark: Palette = DARK
    greeting: str = "Hi {first_name},"
    first_name_fallback: str = "there"
    list_unsubscribe_mailto: str | None = None
    utm: dict[str, str] = field(default_factory=dict)
    esp_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    smtp: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[Problem, ...] = ()

    @property
    def sender_domain(self) -> str:
        return self.sender_email.rpartition("@")[2]

    @property
    def unsubscribe_mailto(self) -> str:
        """The mailto: address of the List-Unsubscribe header."""
        return self.list_unsubscribe_mailto or f"mailto:unsubscribe@{self.sender_domain}?subject=unsubscribe"

    @property
    def content_dir(self) -> Path:
        return self.root / self.content

    @property
    def issues_dir(self) -> Path:
        return self.root / self.issues

    @property
    def output_dir(self) -> Path:
        return self.root / self.output

    @property
    def cache_dir(self) -> Path | None:
        """Where parsed articles are kept between runs; None when switched off (`cache: off` or DIGEST_NO_CACHE=1)."""
        import os

        if self.cache.lower() in ("", "off", "none", "false") or os.environ.get("DIGEST_NO_CACHE"):
            return None
        return self.root / self.cache

    @property
    def templates_dir(self) -> Path:
        return self.root / self.templates

    def tz(self) -> Any:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours (1.0 to 21.0)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def find_config(start: Path) -> tuple[Path | None, dict[str, Any]]:
    """The nearest `digest.yaml` (or pyproject.toml with `[tool.digest]`) at or above `start`."""
    for folder in [start, *start.parents]:
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate, {}
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            import tomllib

            try:
                table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("digest")
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                table = None
            if isinstance(table, dict):
                return pyproject, table
    return None, {}


def load_config(start: Path | None = None) -> Config:
    """Find and validate the configuration; defaults where there is none."""
    start = (start or Path.cwd()).resolve()
    path, table = find_config(start)
    if path is None:
        return Config(root=start)
    shown = display_path(path)
    if path.name == CONFIG_NAME:
        from digest.content import read_yaml

        try:
            data = read_yaml(path.read_text(encoding="utf-8-sig")) or {}
        except Exception as exc:  # YAML or decoding errors alike
            reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(
                f"{shown} cannot be read", [Problem(shown, "", f"is not valid YAML: {reason}", "fix the syntax")]
            ) from None
    else:
        data = table
    if not isinstance(data, dict):
        raise ConfigError(
            f"{shown} is not a mapping", [Problem(shown, "", "is not a mapping of settings", "write `name: ...`")]
        )
    return parse_config(data, path.parent, shown)


def parse_config(data: dict[str, Any], root: Path, shown: str) -> Config:
    """Validate a configuration mapping; raises ConfigError listing every problem."""
    problems: list[Problem] = []
    values: dict[str, Any] = {"root": root, "path": shown}
    simple = {
        "name", "tagline", "lang", "timezone", "content", "issues", "output", "templates", "reply_to",
        "postal_address", "why", "greeting", "first_name_fallback", "list_unsubscribe_mailto", "cache",
    }  # fmt: skip
    nested = {"sender", "links", "logo", "colors", "utm", "esp_profiles", "smtp"}
    for key, value in data.items():
        key = str(key)
        if key == "cache" and value is False:  # `cache: off` reads as false in YAML
            value = "off"
        if key in simple:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                problems.append(Problem(shown, key, "must be text", f"write `{key}: ...`"))
            else:
                values[key] = " ".join(str(value).split()) if key != "postal_address" else str(value).strip()
        elif key not in nested:
            problems.append(Problem(shown, key, "is not a known setting", "remove it", severity="warning"))
    sender = data.get("sender")
    if isinstance(sender, dict):
        values["sender_name"] = str(sender.get("name", values.get("name", Config.sender_name)))
        values["sender_email"] = str(sender.get("email", Config.sender_email))
    elif sender is not None:
        problems.append(Problem(shown, "sender", "must be {name, email}", "write `sender: {name: ..., email: ...}`"))
    elif "name" in values:
        values["sender_name"] = values["name"]
    links = data.get("links") or {}
    if not isinstance(links, dict):
        problems.append(Problem(shown, "links", "must be a mapping", "write `links: {unsubscribe: https://...}`"))
        links = {}
    for key in ("website", "view_online", "unsubscribe", "preferences"):
        if key in links:
            values[key] = str(links[key]).strip()
    for key in ("website", "view_online", "unsubscribe", "preferences"):
        url = values.get(key, getattr(Config, key))
        # No quotes or angle brackets: the link goes into href="…" and into List-Unsubscribe: <…>.
        if not re.match(r"^https?://[^\s<>\"]+$", url) and not (
            key in ("unsubscribe", "preferences") and re.match(r"^mailto:[^\s<>\"]+$", url)
        ):
            problems.append(
                Problem(shown, f"links.{key}", f"{url!r} is not an http(s) URL", "use a full https:// address")
            )
    for key in ("sender_email", "reply_to"):
        if values.get(key) and not EMAIL.match(values[key]):
            field_name = "sender.email" if key == "sender_email" else key
            problems.append(Problem(shown, field_name, f"{values[key]!r} is not an email address", "write name@domain"))
    for key in ("sender_name", "name"):
        if key in values and any(ch in values[key] for ch in "\r\n"):
            field_name = "sender.name" if key == "sender_name" else key
            problems.append(Problem(shown, field_name, "contains a line break", "write it on one line"))
    utm = data.get("utm")
    if utm is not None:
        known_utm = {"source", "medium", "campaign", "content", "term"}
        if not isinstance(utm, dict) or not all(isinstance(v, str) and v.strip() for v in utm.values()):
            problems.append(
                Problem(
                    shown,
                    "utm",
                    "must map source/medium/campaign to text",
                    "write `utm: {source: newsletter, medium: email}`",
                )
            )
        else:
            for key in utm:
                if key not in known_utm:
                    problems.append(
                        Problem(
                            shown,
                            f"utm.{key}",
                            "is not a UTM parameter",
                            "use source, medium, campaign, content or term",
                        )
                    )
            values["utm"] = {str(k): str(v).strip() for k, v in utm.items() if k in known_utm}
    profiles = data.get("esp_profiles")
    if profiles is not None:
        tag_keys = {"unsubscribe", "preferences", "view_online", "first_name"}
        if not isinstance(profiles, dict):
            problems.append(
                Problem(shown, "esp_profiles", "must map profile names to their merge tags", "see README: Export")
            )
        else:
            values["esp_profiles"] = {}
            for profile_name, tags in profiles.items():
                where = f"esp_profiles.{profile_name}"
                if not isinstance(tags, dict) or not tags.get("unsubscribe"):
                    problems.append(
                        Problem(
                            shown,
                            where,
                            "needs at least an `unsubscribe` merge tag",
                            "write `unsubscribe: '*|UNSUB|*'`",
                        )
                    )
                    continue
                unknown = set(map(str, tags)) - tag_keys
                if unknown:
                    problems.append(
                        Problem(
                            shown,
                            f"{where}.{sorted(unknown)[0]}",
                            "is not a merge tag name",
                            "use " + ", ".join(sorted(tag_keys)),
                        )
                    )
                quoted = [k for k, v in tags.items() if k in tag_keys and '"' in str(v)]
                if quoted:
                    problems.append(
                        Problem(
                            shown,
                            f"{where}.{quoted[0]}",
                            'contains a double quote, which would end href="…"',
                            "use single quotes in the tag",
                        )
                    )
                values["esp_profiles"][str(profile_name)] = {str(k): str(v) for k, v in tags.items() if k in tag_keys}
    smtp = data.get("smtp")
    if smtp is not None:
        if not isinstance(smtp, dict):
            problems.append(Problem(shown, "smtp", "must be a mapping", "write `smtp: {host: ..., port: 587}`"))
        else:
            if "password" in smtp:
                problems.append(
                    Problem(
                        shown,
                        "smtp.password",
                        "keeps a secret in a file that is likely committed",
                        "set DIGEST_SMTP_PASSWORD instead",
                        severity="warning",
                    )
                )
            if smtp.get("security", "starttls") not in ("starttls", "tls", "none"):
                problems.append(
                    Problem(
                        shown,
                        "smtp.security",
                        f"{smtp.get('security')!r} is not starttls, tls or none",
                        "write `security: starttls`",
                    )
                )
            if "port" in smtp and not isinstance(smtp["port"], int):
                problems.append(Problem(shown, "smtp.port", "must be a number", "write e.g. `port: 587`"))
            values["smtp"] = dict(smtp)
    logo = data.get("logo")
    if logo is not None:
        if isinstance(logo, dict) and str(logo.get("src", "")).startswith("https://") and logo.get("alt"):
            width = logo.get("width", 160)
            values["logo"] = Logo(str(logo["src"]), str(logo["alt"]), width if isinstance(width, int) else 160)
        else:
            problems.append(
                Problem(
                    shown,
                    "logo",
                    "needs an https `src` and an `alt` text",
                    "write `logo: {src: https://..., alt: ...}`",
                )
            )
    colors = data.get("colors") or {}
    if not isinstance(colors, dict):
        problems.append(Problem(shown, "colors", "must be a mapping with light/dark", "write `colors: {light: {...}}`"))
        colors = {}
    for mode, default in (("light", LIGHT), ("dark", DARK)):
        given = colors.get(mode) or {}
        if not isinstance(given, dict):
            problems.append(Problem(shown, f"colors.{mode}", "must be a mapping of colours", "write `text: '#1a1d21'`"))
            continue
        known = {f.name for f in fields(Palette)}
        changes = {}
        for name, colour in given.items():
            if name not in known:
                problems.append(
                    Problem(
                        shown,
                        f"colors.{mode}.{name}",
                        "is not a palette colour",
                        "use one of " + ", ".join(sorted(known)),
                    )
                )
            elif not isinstance(colour, str) or not HEX_COLOUR.match(colour):
                problems.append(
                    Problem(
                        shown, f"colors.{mode}.{name}", f"{colour!r} is not #rrggbb", "write e.g. '#1a1d21' (quoted)"
                    )
                )
            else:
                changes[name] = colour.lower()
        palette = replace(default, **changes)
        values[mode] = palette
        for role, (fg, bg) in palette.contrast_pairs().items():
            ratio = contrast_ratio(fg, bg)
            if ratio < 4.5:
                problems.append(
                    Problem(
                        shown,
                        f"colors.{mode}.{role}",
                        f"contrast {ratio:.2f}:1 is below 4.5:1",
                        "pick a darker or lighter colour",
                        severity="warning",
                    )
                )
    if "timezone" in values:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                Problem(shown, "timezone", f"{values['timezone']!r} is not a time zone", "use an IANA name such as UTC")
            )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(f"{shown} has {len(errors)} problem(s)", problems)
    return Config(**values, warnings=tuple(problems))
