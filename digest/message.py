"""The issue as an RFC 5322 message: multipart/alternative, text part first, UTF-8.

Header values are single lines by construction (CR/LF and other control
characters become spaces), so article or config text cannot add a header;
non-ASCII values are encoded per RFC 2047 by the email package.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any


def header_text(value: str) -> str:
    """One line of header-safe text: control characters (CR, LF, ...) become spaces."""
    return " ".join("".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in value).split())


def sender_address(name: str, email: str) -> Address:
    local, _, domain = email.partition("@")
    return Address(display_name=header_text(name), username=header_text(local), domain=header_text(domain))


def build_message(model: dict[str, Any], *, html: str, text: str, extra_headers: dict[str, str] | None = None) -> bytes:
    """Compose the .eml of one issue; the same input gives the same bytes."""
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = header_text(model["subject"])
    msg["From"] = sender_address(model["sender_name"], model["sender_email"])
    if model.get("reply_to"):
        msg["Reply-To"] = header_text(model["reply_to"])
    sent = datetime.combine(model["date"], time(8, 0), tzinfo=_tz(model))
    msg["Date"] = format_datetime(sent)
    domain = header_text(model["sender_email"]).rpartition("@")[2] or "localhost"
    fingerprint = hashlib.sha256((model["slug"] + html).encode("utf-8")).hexdigest()[:20]
    msg["Message-ID"] = f"<{model['slug']}.{fingerprint}@{domain}>"
    msg["MIME-Version"] = "1.0"
    unsubscribe = [u for u in model.get("list_unsubscribe", []) if u and u.startswith(("mailto:", "https:"))]
    if unsubscribe:
        # RFC 2369 and RFC 8058: Gmail and Yahoo ask bulk senders for one-click unsubscribe.
        msg["List-Unsubscribe"] = ", ".join(f"<{header_text(u)}>" for u in unsubscribe)
        if any(u.startswith("https:") for u in unsubscribe):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for key, value in (extra_headers or {}).items():
        msg[header_text(key)] = header_text(value)
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg.set_boundary(f"=_digest_{fingerprint}")  # fixed, so that the same issue gives the same bytes
    return msg.as_bytes()


def _tz(model: dict[str, Any]) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(model.get("timezone") or "UTC")
