"""`digest send`: the issue over SMTP, one message per recipient, never twice to the same person.

A ledger beside the issue (one JSON line per attempt, flushed to disk before
the next message) records who got the issue. A rerun after a failure sends
only to those who did not; `--force` sends again. Credentials come from the
environment (or the config) and are never printed or logged.
"""

from __future__ import annotations

import csv
import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from digest.build import require_stories
from digest.config import EMAIL
from digest.errors import ExportError, Problem, UsageError, display_path
from digest.message import header_text

if TYPE_CHECKING:
    from digest.build import Plan

ENV_PREFIX = "DIGEST_SMTP_"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. `password` never appears in repr, logs or errors."""

    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    timeout: float = 30.0
    rate: float = 5.0  # messages per second at most

    def __repr__(self) -> str:
        secret = "***" if self.password else None
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, username={self.username!r}, password={secret})"


def smtp_settings(config_smtp: Mapping[str, Any], env: Mapping[str, str] | None = None) -> SmtpSettings:
    """Settings from the config's `smtp:` table, overridden by DIGEST_SMTP_* environment variables."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = dict(config_smtp)
    for key in ("host", "port", "security", "username", "password", "cafile", "timeout", "rate"):
        value = env.get(ENV_PREFIX + key.upper())
        if value:
            merged[key] = value
    security = str(merged.get("security", "starttls")).lower()
    if security not in ("starttls", "tls", "none"):
        raise UsageError(
            "bad SMTP security",
            [Problem(ENV_PREFIX + "SECURITY", "", f"{security!r} is not starttls, tls or none", "use starttls")],
        )
    try:
        port = int(merged.get("port", 465 if security == "tls" else 587))
        rate = float(merged.get("rate", 5.0))
        timeout = float(merged.get("timeout", 30.0))
    except ValueError:
        raise UsageError(
            "bad SMTP setting",
            [Problem("smtp", "port/rate/timeout", "must be numbers", "check digest.yaml and DIGEST_SMTP_*")],
        ) from None
    return SmtpSettings(
        host=str(merged.get("host", "localhost")),
        port=port,
        security=security,
        username=merged.get("username") or None,
        password=merged.get("password") or None,
        cafile=merged.get("cafile") or None,
        timeout=timeout,
        rate=rate if rate > 0 else 5.0,
    )


@dataclass(frozen=True)
class Recipient:
    email: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.email.lower()


def valid_address(address: str) -> bool:
    return bool(EMAIL.match(address)) and not any(ch in address for ch in "\r\n") and len(address) <= 254


def recipients_from_addresses(addresses: Iterable[str]) -> tuple[list[Recipient], list[Problem]]:
    out: list[Recipient] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for address in addresses:
        address = address.strip()
        if not valid_address(address):
            problems.append(Problem("--to", "", f"{address!r} is not an email address; skipped", "write name@domain"))
        elif address.lower() not in seen:
            seen.add(address.lower())
            out.append(Recipient(address))
    return out, problems


def recipients_from_csv(path: Path) -> tuple[list[Recipient], list[Problem]]:
    """Read a subscriber list: an `email` column and any merge fields (`first_name`, ...)."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read {shown}", [Problem(shown, "", f"cannot be read: {exc}", "give a UTF-8 CSV file")]
        ) from None
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "email" not in fields:
        raise UsageError(
            f"{shown} has no email column",
            [Problem(shown, "email", "column is missing", "add a header row: email,first_name")],
        )
    out: list[Recipient] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        clean = {str(k).strip().lower(): " ".join(str(v or "").split()) for k, v in row.items() if k is not None}
        address = clean.pop("email", "")
        if not valid_address(address):
            problems.append(
                Problem(
                    f"{shown}:{line}", "email", f"{address!r} is not an email address; skipped", "fix or remove the row"
                )
            )
            continue
        if address.lower() in seen:
            problems.append(
                Problem(
                    f"{shown}:{line}",
                    "email",
                    f"{address} is listed twice; sent once",
                    "remove the duplicate row",
                    "warning",
                )
            )
            continue
        seen.add(address.lower())
        out.append(Recipient(address, clean))
    return out, problems


class Ledger:
    """Who got which issue: an append-only JSON-lines file, each line flushed to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: the entry before it still counts
            if isinstance(entry, dict) and "email" in entry:
                out.append(entry)
        return out

    def delivered(self) -> set[str]:
        return {
            e["email"].lower() for e in self.entries() if e.get("status") == "sent" and e.get("kind", "list") == "list"
        }

    def record(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def ledger_path(plan: Plan, slug: str) -> Path:
    """`issues/<slug>.sent.jsonl`, beside the issue definition: one ledger per issue, with or without a definition."""
    return plan.config.issues_dir / f"{slug}.sent.jsonl"


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    invalid: list[Problem] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)
    dry_run: bool = False
    ledger: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "already_sent": self.already,
            "failed": [{"email": e, "reason": r} for e, r in self.failed],
            "not_attempted": self.not_attempted,
            "invalid": [p.to_dict() for p in self.invalid],
            "would_send": self.would_send,
            "dry_run": self.dry_run,
            "ledger": self.ledger,
        }


def require_real_addresses(config: Any) -> None:
    """Refuse to mail subscribers from the example addresses a config starts with."""
    from digest.config import Config
    from digest.errors import ConfigError

    shown = config.path or "digest.yaml"
    problems = []
    if config.sender_email == Config.sender_email:
        problems.append(
            Problem(
                shown, "sender.email", f"is still the placeholder {Config.sender_email}", "set your sending address"
            )
        )
    if config.unsubscribe == Config.unsubscribe:
        problems.append(
            Problem(
                shown,
                "links.unsubscribe",
                f"is still the placeholder {Config.unsubscribe}",
                "set your unsubscribe page",
            )
        )
    if problems:
        raise ConfigError("the configuration still has placeholder addresses", problems)


class PreparedIssue:
    """The issue rendered once with merge stand-ins; `message_for` fills them per recipient."""

    def __init__(self, plan: Plan) -> None:
        from digest.render import render_issue

        self.plan = plan
        self.rendered = render_issue(plan, merge_tags=True)
        self.slug = self.rendered.slug
        self.model = self.rendered.model

    def values_for(self, recipient: Recipient) -> dict[str, str]:
        config = self.plan.config
        email = quote(recipient.email, safe="@")
        first = (
            recipient.fields.get("first_name")
            or recipient.fields.get("name", "").split(" ")[0]
            or config.first_name_fallback
        )
        return {
            "unsubscribe": config.unsubscribe.replace("{email}", email),
            "preferences": config.preferences.replace("{email}", email),
            "view_online": self.model["view_online_url"],
            "first_name": first,
        }

    def message_for(self, recipient: Recipient) -> EmailMessage:
        from email import message_from_bytes

        from digest.export import apply_tags
        from digest.message import build_message

        values = self.values_for(recipient)
        files = apply_tags(self.rendered, values, html_escape_values=True)
        model = dict(self.model, list_unsubscribe=[self.plan.config.unsubscribe_mailto, values["unsubscribe"]])
        raw = build_message(model, html=files["email.html"].decode(), text=files["email.txt"].decode())
        msg = message_from_bytes(raw, _class=EmailMessage, policy=SMTP)
        name = header_text(recipient.fields.get("name", ""))
        local, _, domain = recipient.email.partition("@")
        msg["To"] = Address(display_name=name, username=local, domain=domain)
        # A message sent now: the time of sending, and an id of its own (a resend after a
        # fix must not look like a duplicate to the mail client; the ledger prevents doubles).
        del msg["Date"]
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        del msg["Message-ID"]
        msg["Message-ID"] = make_msgid(idstring=self.slug, domain=self.plan.config.sender_domain)
        return msg


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An authenticated SMTP session over STARTTLS, implicit TLS, or (for local relays) plain."""
    context = ssl.create_default_context(cafile=settings.cafile) if settings.security != "none" else None
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
    except smtplib.SMTPAuthenticationError:
        raise ExportError(
            f"the SMTP server {settings.host}:{settings.port} refused the login for {settings.username!r}"
        ) from None
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        reason = str(exc).replace(settings.password or "\0", "***") if settings.password else str(exc)
        raise ExportError(
            f"cannot connect to {settings.host}:{settings.port} ({settings.security}): {reason}"
        ) from None
    return client


def send_issue(
    plan: Plan,
    recipients: list[Recipient],
    settings: SmtpSettings,
    *,
    kind: str = "list",
    dry_run: bool = False,
    force: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str, str], None] | None = None,
) -> SendReport:
    """Send one message per recipient; skip those the ledger says already got this issue.

    :param kind: "list" sends are deduplicated through the ledger; "test" sends (`--to`) always go, and are recorded.
    """
    require_stories(plan)
    require_real_addresses(plan.config)
    prepared = PreparedIssue(plan)
    ledger = Ledger(ledger_path(plan, prepared.slug))
    report = SendReport(dry_run=dry_run, ledger=display_path(ledger.path, plan.config.root))
    done = set() if force or kind != "list" else ledger.delivered()
    todo = [r for r in recipients if r.key not in done]
    report.already = [r.email for r in recipients if r.key in done]
    if dry_run:
        report.would_send = [r.email for r in todo]
        return report
    if not todo:
        return report
    sender = plan.config.sender_email
    client = connect(settings)
    try:
        for index, recipient in enumerate(todo):
            if index:
                sleep(1.0 / settings.rate)
            message = prepared.message_for(recipient)
            entry = {
                "email": recipient.email,
                "kind": kind,
                "issue": prepared.slug,
                "message_id": message["Message-ID"],
            }
            try:
                client.send_message(message, from_addr=sender, to_addrs=[recipient.email])
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                reason = f"refused by the server: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                report.failed.append((recipient.email, reason))
                ledger.record(entry | {"status": "failed", "reason": reason, "at": _now()})
                if progress:
                    progress(recipient.email, "failed")
                continue
            except (smtplib.SMTPException, OSError) as exc:
                # The session is gone: nobody after this one is tried; a rerun resumes here.
                reason = f"{type(exc).__name__}: {exc}"
                report.failed.append((recipient.email, reason))
                ledger.record(entry | {"status": "failed", "reason": reason, "at": _now()})
                report.not_attempted = [r.email for r in todo[index + 1 :]]
                break
            report.sent.append(recipient.email)
            ledger.record(entry | {"status": "sent", "at": _now()})
            if progress:
                progress(recipient.email, "sent")
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
