"""Generate digest/data/caniemail.json from caniemail's published support data.

The data comes from caniemail.com (https://www.caniemail.com, MIT licence,
copyright HTeuMeuLeu) as published in the npm package `caniemail`
(https://www.npmjs.com/package/caniemail, MIT licence). Install it, then run
this script and review the diff:

    npm install --prefix tools/caniemail --no-audit --no-fund
    .venv/bin/python scripts/caniemail_data.py

Only what `digest check` uses is kept: the clients it reports on, the latest
tested support of each feature in each of them (with the notes that explain a
partial or missing support), and for each feature what `digest check` matches
it by: CSS properties, values, keywords, functions, at-rules, media features,
HTML elements, attributes, image formats and a few special cases.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tools" / "caniemail" / "node_modules" / "caniemail"
OUTPUT = ROOT / "digest" / "data" / "caniemail.json"

# The clients `digest check` reports on: our id, caniemail's family and platform, a display name.
CLIENTS = [
    ("gmail-web", "gmail", "desktop-webmail", "Gmail (web)"),
    ("gmail-ios", "gmail", "ios", "Gmail (iOS)"),
    ("gmail-android", "gmail", "android", "Gmail (Android)"),
    ("outlook-windows", "outlook", "windows", "Outlook for Windows"),
    ("outlook-com", "outlook", "outlook-com", "Outlook.com"),
    ("outlook-macos", "outlook", "macos", "Outlook for Mac"),
    ("apple-mail-macos", "apple-mail", "macos", "Apple Mail (macOS)"),
    ("apple-mail-ios", "apple-mail", "ios", "Apple Mail (iOS)"),
    ("yahoo", "yahoo", "desktop-webmail", "Yahoo Mail (web)"),
]

# Features whose title names several properties (as the npm package maps them).
PROPERTY_TITLES: dict[str, list[str]] = {
    "block-size & inline-size": ["block-size", "inline-size"],
    "border-inline & border-block": ["border-inline", "border-block"],
    "color-scheme CSS property": ["color-scheme"],
    "css column properties": [
        "column-fill", "column-rule", "column-rule-color", "column-rule-style", "column-rule-width",
        "column-span", "column-width", "columns",
    ],
    "gap, column-gap, row-gap": ["gap", "column-gap", "row-gap"],
    "left, right, top, bottom": ["left", "right", "top", "bottom"],
    "margin-block-start & margin-block-end": ["margin-block-start", "margin-block-end"],
    "margin-inline & margin-block": ["margin-inline", "margin-block"],
    "margin-inline-start & margin-inline-end": ["margin-inline-start", "margin-inline-end"],
    "padding-block-start & padding-block-end": ["padding-block-start", "padding-block-end"],
    "padding-inline & padding-block": ["padding-inline", "padding-block"],
    "padding-inline-start & padding-inline-end": ["padding-inline-start", "padding-inline-end"],
}  # fmt: skip
# Features whose `keywords` list the longhand properties they cover.
PROPERTY_KEYWORD_SLUGS = {
    "css-border", "css-margin", "css-inset", "css-overflow", "css-grid-template", "css-border-radius-logical",
    "css-border-inline-block-individual", "css-border-inline-block-longhand",
}  # fmt: skip
# Longhands caniemail tests under their shorthand.
LONGHANDS: dict[str, list[str]] = {
    "padding": ["padding-top", "padding-right", "padding-bottom", "padding-left"],
    "outline": ["outline-color", "outline-style", "outline-width"],
    "overflow": ["overflow-x", "overflow-y"],
    "animation": [
        "animation-name", "animation-duration", "animation-timing-function", "animation-delay",
        "animation-iteration-count", "animation-direction", "animation-fill-mode", "animation-play-state",
    ],
    "transition": ["transition-property", "transition-duration", "transition-timing-function", "transition-delay"],
    "scroll-snap": ["scroll-snap-type", "scroll-snap-align", "scroll-snap-stop"],
}  # fmt: skip
MEDIA_FEATURES = {
    "css-at-media-prefers-color-scheme": ["prefers-color-scheme"],
    "css-at-media-prefers-reduced-motion": ["prefers-reduced-motion"],
    "css-at-media-orientation": ["orientation"],
    "css-at-media-hover": ["hover", "any-hover"],
    "css-at-media-device-pixel-ratio": ["-webkit-device-pixel-ratio", "device-pixel-ratio", "resolution"],
}
VALUE_KEYWORDS = {
    "css-intrinsic-size": ["fit-content", "min-content", "max-content"],
    "css-sytem-ui": ["system-ui", "ui-serif", "ui-sans-serif", "ui-rounded", "ui-monospace"],
}
FUNCTIONS = {
    "css-unit-calc": ["calc"],
    "css-variables": ["var"],
    "css-modern-color": ["lch", "oklch", "lab", "oklab"],
}
HTML_SPECIAL = {
    "html-doctype": "doctype",
    "html-comments": "comment",
    "html-meta-color-scheme": "meta-color-scheme",
    "html-mailto-links": "mailto-link",
    "html-anchor-links": "local-anchor",
    "css-comments": "css-comment",
}
ELEMENT_TITLES: dict[str, list[str]] = {
    "<h1> to <h6> elements": ["h1", "h2", "h3", "h4", "h5", "h6"],
    "<ul>, <ol> and <dl>": ["ul", "ol", "dl"],
    "address": ["address"],
    "<base>": ["base"],
    "Image maps": ["map", "area"],
    "Embedded <svg> image": ["svg"],
    '<button type="reset"> element': ["button[type=reset]"],
    '<button type="submit"> element': ["button[type=submit]"],
}
IMAGE_FORMATS = {
    "image-apng": ["apng"],
    "image-avif": ["avif"],
    "image-base64": ["base64"],
    "image-bmp": ["bmp"],
    "image-gif": ["gif"],
    "image-heif": ["heif", "heic"],
    "image-ico": ["ico"],
    "image-jpg": ["jpg", "jpeg"],
    "image-png": ["png"],
    "image-svg": ["svg"],
    "image-tiff": ["tif", "tiff"],
    "image-webp": ["webp"],
}
PROPERTY_NAME = re.compile(r"^[a-z-]+$")


def latest(versions: dict[str, str]) -> str:
    """The support in the most recently tested version: caniemail lists versions oldest first."""
    return list(versions.values())[-1].strip() if versions else ""


def build_index(features: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Map what `digest check` finds in an email (a property, an element...) to a caniemail slug."""
    index: dict[str, dict[str, str]] = {
        key: {}
        for key in (
            "property",
            "value",
            "keyword",
            "function",
            "at-rule",
            "media-feature",
            "element",
            "attribute",
            "image",
            "special",
        )
    }

    def put(kind: str, name: str, slug: str) -> None:
        index[kind].setdefault(name, slug)

    for feature in features:
        slug, title, category = feature["slug"], feature["title"].strip(), feature["category"]
        if slug in HTML_SPECIAL:
            put("special", HTML_SPECIAL[slug], slug)
        elif slug in MEDIA_FEATURES:
            for name in MEDIA_FEATURES[slug]:
                put("media-feature", name, slug)
        elif slug in VALUE_KEYWORDS:
            for name in VALUE_KEYWORDS[slug]:
                put("keyword", name, slug)
        elif slug in FUNCTIONS:
            for name in FUNCTIONS[slug]:
                put("function", name, slug)
        elif slug in IMAGE_FORMATS:
            for name in IMAGE_FORMATS[slug]:
                put("image", name, slug)
        elif slug.startswith(("css-pseudo-", "css-selector-", "css-unit-")):
            continue  # selectors and units are not checked
        elif category == "css":
            pair = re.fullmatch(r"(display|flex-direction|flex-wrap)\s*:\s*([a-z-]+)", title)
            if title.startswith("@"):
                put("at-rule", title[1:], slug)
            elif pair:
                put("value", f"{pair.group(1)}:{pair.group(2)}", slug)
            elif title == "!important keyword":
                put("keyword", "!important", slug)
            elif title.endswith("()") and PROPERTY_NAME.match(title[:-2]):
                put("function", title[:-2], slug)
            elif slug == "css-inert-attribute":
                put("attribute", "inert", slug)
            else:
                names = PROPERTY_TITLES.get(title)
                if names is None:
                    trimmed = title.removesuffix(" shorthand").removesuffix(" property").strip()
                    names = [trimmed] if PROPERTY_NAME.match(trimmed) else []
                if slug in PROPERTY_KEYWORD_SLUGS and feature.get("keywords"):
                    names = names + [
                        k.strip() for k in feature["keywords"].split(",") if PROPERTY_NAME.match(k.strip())
                    ]
                for name in names:
                    put("property", name, slug)
                    for longhand in LONGHANDS.get(name, []):
                        put("property", longhand, slug)
        elif category == "html":
            if title in ELEMENT_TITLES:
                for name in ELEMENT_TITLES[title]:
                    put("element", name, slug)
            elif title == "HTML5 semantics":
                for name in feature["keywords"].split(","):
                    put("element", name.strip(), slug)
            elif title == "srcset and sizes attributes":
                put("attribute", "srcset", slug)
                put("attribute", "sizes", slug)
            elif title.endswith(" attribute"):
                put("attribute", title.removesuffix(" attribute"), slug)
            else:
                element = re.fullmatch(r'<([a-z0-9]+)(?: type="([a-z]+)")?> element', title)
                if element:
                    name = element.group(1) + (f"[type={element.group(2)}]" if element.group(2) else "")
                    put("element", name, slug)
    return {kind: dict(sorted(entries.items())) for kind, entries in index.items()}


def compact(raw: dict[str, Any], package: dict[str, Any], licence: str) -> dict[str, Any]:
    index = build_index(raw["data"])
    matches: dict[str, dict[str, list[str]]] = {}
    for kind, entries in index.items():
        for name, slug in entries.items():
            matches.setdefault(slug, {}).setdefault(kind, []).append(name)
    features: dict[str, Any] = {}
    for feature in sorted(raw["data"], key=lambda f: f["slug"]):
        if feature["slug"] not in matches:
            continue
        support: list[str] = []
        notes: dict[str, str] = {}
        for _, family, platform, _ in CLIENTS:
            value = latest(feature["stats"].get(family, {}).get(platform, {}))
            # One token per client, in the order of `clients`: "y", "a#1#3" (notes 1 and 3), "-" = not tested.
            support.append("".join(value.split()) or "-")
            if value[:1] in ("a", "n"):
                for number in re.findall(r"#(\d+)", value):
                    text = (feature.get("notes_by_num") or {}).get(number)
                    if text:
                        notes[number] = text
        entry: dict[str, Any] = {
            "title": feature["title"].strip(),
            "match": matches[feature["slug"]],
            "support": " ".join(support),
        }
        if notes:
            entry["notes"] = dict(sorted(notes.items(), key=lambda kv: int(kv[0])))
        features[feature["slug"]] = entry
    return {
        "source": {
            "data": "caniemail.com (https://www.caniemail.com), features tested per email client",
            "package": f"npm {package['name']}@{package['version']}",
            "data_updated": raw["last_update_date"],
            "api_version": raw["api_version"],
            "licence": "MIT",
            "copyright": "Copyright (c) 2019 HTeuMeuLeu (caniemail.com data); "
            "Copyright (c) Avi Goldman, Andrew Powell (npm package caniemail)",
            "licence_text": licence,
            "feature_url": "https://www.caniemail.com/features/{slug}/",
            "generated_by": "scripts/caniemail_data.py: the support in the latest tested version of each client",
        },
        "legend": {
            "support": "one token per client, in the order of `clients`; #n refers to the feature's notes",
            "y": "supported",
            "a": "partially supported",
            "n": "not supported",
            "u": "support unknown",
            "-": "not tested",
        },  # fmt: skip
        "clients": [
            {"id": c, "name": name, "family": family, "platform": platform} for c, family, platform, name in CLIENTS
        ],
        "features": features,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the installed npm package caniemail")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    data_file = args.package / "data" / "caniemail.json"
    if not data_file.is_file():
        print(f"{data_file} not found: npm install --prefix tools/caniemail", file=sys.stderr)
        return 1
    raw = json.loads(data_file.read_text(encoding="utf-8"))
    package = json.loads((args.package / "package.json").read_text(encoding="utf-8"))
    licence = (args.package / "LICENSE").read_text(encoding="utf-8").strip()
    data = compact(raw, package, licence)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(
        f"wrote {shown}: {len(data['features'])} features, {len(data['clients'])} clients, {len(text.encode()):,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
