"""`digest send` against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.build import IssueRequest, plan_issue
from digest.config import load_config
from digest.send import Ledger, SmtpSettings, recipients_from_csv, send_issue, smtp_settings

TODAY = date(2026, 11, 28)
PASSWORD = "s3cret-Passw0rd-never-printed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what arrives and can refuse or drop on cue."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse: set[str] = set()
        self.drop_at: int | None = None  # drop the connection at the DATA of the n-th message

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.drop_at is not None and len(self.messages) + 1 == self.drop_at:
            session.transport.close()
            return "421 closing"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted"


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "digest.yaml").read_text(encoding="utf-8"))
    config["links"]["unsubscribe"] = "https://theaiweek.example/unsubscribe?email={email}"
    (tmp_path / "digest.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (tmp_path / "seeds").symlink_to(root / "seeds")
    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / "2026-w48.yaml").write_text(
        (root / "issues" / "2026-w48.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return tmp_path


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def subscribers(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_text("email,first_name\n" + "".join(f"{a},{b}\n" for a, b in rows), encoding="utf-8")
    return path


def plan(root: Path):
    return plan_issue(load_config(root), IssueRequest(issue="2026-w48", today=TODAY))


ROWS = [
    ("ana@example.org", "Ana"),
    ("ben@example.org", "Ben"),
    ("chloé@example.org", ""),
    ("dai@example.org", "Dai <b>&"),
    ("eve@example.org", "Eve"),
]


def test_list_send_fills_merge_fields_per_recipient(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    recipients, problems = recipients_from_csv(
        subscribers(newsletter, [ROWS[0], ROWS[1], ("not-an-address", "X"), ROWS[3]])
    )
    assert len(problems) == 1 and "not-an-address" in problems[0].message and problems[0].field == "email"
    report = send_issue(plan(newsletter), recipients, SmtpSettings("127.0.0.1", port, "none"), sleep=lambda s: None)
    assert report.sent == ["ana@example.org", "ben@example.org", "dai@example.org"]
    assert [to for to, _ in handler.messages] == [["ana@example.org"], ["ben@example.org"], ["dai@example.org"]]
    _, msg = handler.messages[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    for header in (
        "Subject",
        "From",
        "To",
        "Date",
        "Message-ID",
        "MIME-Version",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ):
        assert msg[header], header
    assert "ana@example.org" in str(msg["To"])
    text, html = (p.get_content() for p in msg.iter_parts())
    assert "Hi Ana," in text and "Hi Ana," in html
    assert "https://theaiweek.example/unsubscribe?email=ana@example.org" in msg["List-Unsubscribe"]
    assert 'href="https://theaiweek.example/unsubscribe?email=ana@example.org"' in html
    dai_html = list(handler.messages[2][1].iter_parts())[1].get_content()
    assert "Hi Dai &lt;b&gt;&amp;," in dai_html, "a subscriber's name is text, escaped in the HTML part"
    assert len({m["Message-ID"] for _, m in handler.messages}) == 3


def test_fallback_name_when_the_field_is_empty(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    recipients, _ = recipients_from_csv(subscribers(newsletter, [ROWS[2]]))
    send_issue(plan(newsletter), recipients, SmtpSettings("127.0.0.1", port, "none"), sleep=lambda s: None)
    text = next(handler.messages[0][1].iter_parts()).get_content()
    assert "Hi there," in text


def test_refused_recipient_then_resume_sends_nobody_twice(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    csv_path = subscribers(newsletter, ROWS)
    recipients, _ = recipients_from_csv(csv_path)
    handler.refuse = {recipients[2].email}
    settings = SmtpSettings("127.0.0.1", port, "none")
    first = send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    assert [e for e, _ in first.failed] == [recipients[2].email] and "550" in first.failed[0][1]
    assert len(first.sent) == 4
    handler.refuse = set()
    second = send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    assert second.sent == [recipients[2].email] and len(second.already) == 4
    third = send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    assert third.sent == [] and len(third.already) == 5
    delivered = [to[0] for to, _ in handler.messages]
    assert sorted(delivered) == sorted(r.email for r in recipients), "everyone exactly once"


def test_dropped_connection_then_resume(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    recipients, _ = recipients_from_csv(subscribers(newsletter, ROWS))
    handler.drop_at = 3
    settings = SmtpSettings("127.0.0.1", port, "none")
    first = send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    assert first.sent == [r.email for r in recipients[:2]]
    assert [e for e, _ in first.failed] == [recipients[2].email]
    assert first.not_attempted == [r.email for r in recipients[3:]]
    handler.drop_at = None
    second = send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    assert second.sent == [r.email for r in recipients[2:]]
    delivered = [to[0] for to, _ in handler.messages]
    assert sorted(delivered) == sorted(r.email for r in recipients) and len(delivered) == len(set(delivered))
    statuses = [e["status"] for e in Ledger(newsletter / "issues" / "2026-w48.sent.jsonl").entries()]
    assert statuses.count("sent") == 5 and statuses.count("failed") == 1


def test_force_sends_again_and_dry_run_sends_nothing(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    recipients, _ = recipients_from_csv(subscribers(newsletter, ROWS[:2]))
    settings = SmtpSettings("127.0.0.1", port, "none")
    send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    dry = send_issue(plan(newsletter), recipients, settings, dry_run=True, force=True)
    assert dry.would_send == [r.email for r in recipients] and len(handler.messages) == 2
    again = send_issue(plan(newsletter), recipients, settings, force=True, sleep=lambda s: None)
    assert len(again.sent) == 2 and len(handler.messages) == 4


def test_rate_limit_waits_between_messages(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    _, port = inbox
    waits: list[float] = []
    recipients, _ = recipients_from_csv(subscribers(newsletter, ROWS[:3]))
    send_issue(plan(newsletter), recipients, SmtpSettings("127.0.0.1", port, "none", rate=2.0), sleep=waits.append)
    assert waits == [0.5, 0.5]


# --- STARTTLS with AUTH, and secrets ------------------------------------------------------


@pytest.fixture
def tls_inbox(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"editor"
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_require_tls=True, auth_exclude_mechanism=["DONT"],
    )  # fmt: skip
    controller.start()
    yield handler, port, cert
    controller.stop()


def test_starttls_with_auth_and_no_secret_in_any_output(
    newsletter: Path,
    tls_inbox: tuple[Inbox, int, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from typer.testing import CliRunner

    from digest.cli import app

    handler, port, cert = tls_inbox
    caplog.set_level(logging.DEBUG)
    monkeypatch.chdir(newsletter)
    env = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "starttls",
        "DIGEST_SMTP_USERNAME": "editor",
        "DIGEST_SMTP_PASSWORD": PASSWORD,
        "DIGEST_SMTP_CAFILE": str(cert),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert PASSWORD not in repr(smtp_settings({}))
    runner = CliRunner()
    result = runner.invoke(
        app, ["send", "2026-w48", "--list", str(subscribers(newsletter, ROWS[:2])), "--today", "2026-11-28", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sent"] == ["ana@example.org", "ben@example.org"]
    assert len(handler.messages) == 2
    # A wrong password: a clear error, and still no secret anywhere.
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", PASSWORD + "-wrong")
    failed = runner.invoke(app, ["send", "2026-w48", "--to", "ana@example.org", "--today", "2026-11-28"])
    assert failed.exit_code == 1 and "refused the login" in failed.output
    ledger = (newsletter / "issues" / "2026-w48.sent.jsonl").read_text(encoding="utf-8")
    for output in (result.output, failed.output, caplog.text, ledger):
        assert PASSWORD not in output


def test_starttls_refuses_an_untrusted_certificate(newsletter: Path, tls_inbox: tuple[Inbox, int, Path]) -> None:
    from digest.errors import ExportError

    handler, port, _ = tls_inbox
    recipients, _ = recipients_from_csv(subscribers(newsletter, ROWS[:1]))
    settings = SmtpSettings("127.0.0.1", port, "starttls", "editor", PASSWORD)
    with pytest.raises(ExportError, match="cannot connect") as info:
        send_issue(plan(newsletter), recipients, settings, sleep=lambda s: None)
    assert PASSWORD not in str(info.value)
    assert handler.messages == []


def test_header_injection_through_names_is_impossible(newsletter: Path, inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    path = newsletter / "evil.csv"
    path.write_text(
        'email,first_name,name\nana@example.org,"Ana\r\nBcc: victim@example.org","Ana\r\nBcc: x@example.org"\n',
        encoding="utf-8",
    )
    recipients, _ = recipients_from_csv(path)
    send_issue(plan(newsletter), recipients, SmtpSettings("127.0.0.1", port, "none"), sleep=lambda s: None)
    [(rcpts, msg)] = handler.messages
    assert rcpts == ["ana@example.org"] and msg["Bcc"] is None
