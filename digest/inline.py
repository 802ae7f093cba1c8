"""Inline the email's CSS with premailer, keeping what mail clients need in <style>.

Only the template's own block marked `digest:inline` is inlined. Every other
<style> block (MJML's resets with `#outlook a`, the responsive and dark-mode
`@media` rules) is marked for premailer to leave alone, because premailer
drops rules that match nothing and mishandles nested at-rules. premailer also
drops MJML's lowercase doctype, which is put back.
"""

from __future__ import annotations

import logging
import re

INLINE_MARKER = "digest:inline"
DOCTYPE = "<!doctype html>"
_STYLE_OPEN = re.compile(r"<style(?P<attrs>[^>]*)>(?P<body>.*?)</style>", re.DOTALL | re.IGNORECASE)
_CONDITIONAL = re.compile(r"<!--\[if.*?<!\[endif\]-->", re.DOTALL)


def _mark_kept_styles(html: str) -> str:
    """Add `data-premailer="ignore"` to every <style> block but the one to inline."""

    def mark(match: re.Match[str]) -> str:
        if INLINE_MARKER in match.group("body") or "data-premailer" in match.group("attrs"):
            return match.group(0)
        return f'<style{match.group("attrs")} data-premailer="ignore">{match.group("body")}</style>'

    return _STYLE_OPEN.sub(mark, html)


def _premailer() -> type:
    """premailer's class, imported without paying for `requests` up front.

    premailer imports requests at module level only to fetch external
    stylesheets, which digest never asks it to do (allow_network=False);
    a lazily loaded module keeps that ~40 ms off every build.
    """
    import importlib.util
    import sys

    if "requests" not in sys.modules:
        spec = importlib.util.find_spec("requests")
        if spec is not None and spec.loader is not None:
            loader = importlib.util.LazyLoader(spec.loader)
            spec.loader = loader
            module = importlib.util.module_from_spec(spec)
            sys.modules["requests"] = module
            loader.exec_module(module)
    from premailer import Premailer

    return Premailer


def inline_css(html: str) -> str:
    """Move the inlinable rules into style attributes; keep doctype, MSO comments and @media."""
    Premailer = _premailer()  # noqa: N806 - a class

    conditionals = _CONDITIONAL.findall(html)
    prepared = _mark_kept_styles(html)
    result = Premailer(
        prepared,
        keep_style_tags=False,
        strip_important=False,
        remove_classes=False,
        disable_validation=True,
        disable_leftover_css=False,
        allow_network=False,
        exclude_pseudoclasses=True,
        cssutils_logging_level=logging.CRITICAL,
        cache_css_parsing=True,
    ).transform(pretty_print=False)
    result = result.replace(' data-premailer="ignore"', "")
    if not result.lstrip().lower().startswith("<!doctype"):
        result = DOCTYPE + result
    # premailer keeps comments as comments; check that the Outlook ones came through whole.
    kept = _CONDITIONAL.findall(result)
    if len(kept) != len(conditionals):
        from digest.errors import RenderError

        raise RenderError(f"CSS inlining lost MSO conditional comments ({len(conditionals)} before, {len(kept)} after)")
    return result
