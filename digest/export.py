"""Export an issue for an email service provider: merge tags, UTM links, eml and zip bundles.

The email is rendered with plain stand-ins for the merge tags (see
`render.MERGE_TOKENS`); once MJML and premailer are done, each stand-in is
replaced by the profile's tag, so the tags reach email.html and email.txt
byte for byte, never escaped or URL-encoded.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import ExportError, Problem, UsageError
from digest.render import MERGE_TOKENS, RenderedIssue

if TYPE_CHECKING:
    from digest.build import Plan
    from digest.config import Config

BUNDLE_FILES = ("email.html", "email.txt", "email.eml", "manifest.json")
FORMATS = ("html", "eml", "zip")


@dataclass(frozen=True)
class EspProfile:
    """The merge tags one ESP replaces per subscriber."""

    name: str
    unsubscribe: str
    preferences: str
    view_online: str
    first_name: str

    def tags(self) -> dict[str, str]:
        return {
            "unsubscribe": self.unsubscribe,
            "preferences": self.preferences,
            "view_online": self.view_online,
            "first_name": self.first_name,
        }


BUILTIN_PROFILES: dict[str, EspProfile] = {
    profile.name: profile
    for profile in (
        # Mustache-style tags for any SMTP relay or template engine; `digest send` fills them itself.
        EspProfile("generic", "{{unsubscribe_url}}", "{{preferences_url}}", "{{view_online_url}}", "{{first_name}}"),
        EspProfile(
            "mailchimp",
            "*|UNSUB|*",
            "*|UPDATE_PROFILE|*",
            "*|ARCHIVE|*",
            "*|IF:FNAME|**|FNAME|**|ELSE:|*$fallback*|END:IF|*",
        ),
        EspProfile(
            "listmonk",
            "{{ UnsubscribeURL }}",
            "{{ ManageURL }}",
            "{{ MessageURL }}",
            '{{ .Subscriber.FirstName | default "$fallback" }}',
        ),
        EspProfile(
            "buttondown",
            "{{ unsubscribe_url }}",
            "{{ subscriber.portal_url }}",
            "{{ email_url }}",
            '{{ subscriber.metadata.first_name|default:"$fallback" }}',
        ),
        EspProfile(
            "sendgrid",
            "<%asm_group_unsubscribe_raw_url%>",
            "<%asm_preferences_raw_url%>",
            "$view_online_url",
            "{{#if first_name}}{{first_name}}{{else}}$fallback{{/if}}",
        ),
    )
}


def profile_for(name: str, config: Config) -> EspProfile:
    """A built-in profile or one from the config's `esp_profiles`, fallbacks filled in."""
    custom = config.esp_profiles.get(name)
    if custom is not None:
        base = BUILTIN_PROFILES["generic"]
        profile = EspProfile(
            name,
            custom["unsubscribe"],
            custom.get("preferences", config.preferences),
            custom.get("view_online", "$view_online_url"),
            custom.get("first_name", config.first_name_fallback or base.first_name),
        )
    elif name in BUILTIN_PROFILES:
        profile = BUILTIN_PROFILES[name]
    else:
        known = ", ".join(sorted(set(BUILTIN_PROFILES) | set(config.esp_profiles)))
        raise UsageError(
            f"unknown ESP profile {name!r}",
            [Problem("--esp", "", f"{name!r} is not a profile", f"use one of: {known}")],
        )
    return profile


def resolve_tags(profile: EspProfile, view_online_url: str, fallback: str) -> dict[str, str]:
    """The profile's tags with `$fallback` and `{view_online_url}` filled in."""
    return {
        key: value.replace("$fallback", fallback).replace("$view_online_url", view_online_url)
        for key, value in profile.tags().items()
    }


def apply_tags(
    rendered: RenderedIssue, values: Mapping[str, str], *, html_escape_values: bool = False
) -> dict[str, bytes]:
    """email.html and email.txt with every merge stand-in replaced by `values`.

    ESP tags go in as they are (`html_escape_values=False`); real per-recipient
    values (a name from a CSV file) are escaped for the HTML part.
    """
    out = {}
    for name in ("email.html", "email.txt"):
        text = rendered.files[name].decode("utf-8")
        for key, token in MERGE_TOKENS.items():
            value = values[key]
            if name == "email.html" and html_escape_values:
                value = html.escape(value, quote=True)
            text = text.replace(token, value)
        out[name] = text.encode("utf-8")
    return out


def export_issue(plan: Plan, esp: str) -> RenderedIssue:
    """Render the issue for `esp`: merge tags in place, UTM on article links, eml and manifest updated."""
    import json

    from digest.build import require_stories
    from digest.message import build_message
    from digest.render import render_issue

    config = plan.config
    profile = profile_for(esp, config)
    require_stories(plan)
    rendered = render_issue(plan, merge_tags=True)
    model = rendered.model
    tags = resolve_tags(profile, model["view_online_url"], config.first_name_fallback)
    files = dict(rendered.files)
    files.update(apply_tags(rendered, tags))
    files["email.eml"] = build_message(model, html=files["email.html"].decode(), text=files["email.txt"].decode())
    manifest = dict(rendered.manifest, esp=profile.name, merge_tags=tags)
    manifest["sizes"] = {name: len(data) for name, data in files.items() if name != "manifest.json"}
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return RenderedIssue(rendered.slug, files, manifest, rendered.warnings, model)


def zip_bundle(rendered: RenderedIssue) -> bytes:
    """email.html, email.txt, email.eml and manifest.json in one zip, with fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in BUNDLE_FILES:
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, rendered.files[name])
    return buffer.getvalue()


def write_export(rendered: RenderedIssue, fmt: str, out: Path) -> list[Path]:
    """Write the export: a folder of files (`html`), one .eml, or one .zip; atomically."""
    from digest.build import write_outputs
    from digest.files import write_atomic

    if fmt not in FORMATS:
        raise UsageError(
            f"unknown format {fmt!r}", [Problem("--format", "", f"{fmt!r} is not a format", "use html, eml or zip")]
        )
    if fmt == "html":
        return write_outputs(rendered, out)
    data = rendered.files["email.eml"] if fmt == "eml" else zip_bundle(rendered)
    if out.is_dir():
        out = out / f"{rendered.slug}.{fmt}"
    try:
        write_atomic(out, data)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror}") from None
    return [out]
