"""Fixes from the review: each test fails on the behaviour it replaced."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import pytest
import yaml

from digest.build import IssueRequest, build_issue, plan_issue, resolve_spec
from digest.config import load_config
from digest.errors import ConfigError, ContentError, UsageError
from digest.model import RichText

TODAY = date(2026, 11, 28)
ROOT = Path(__file__).resolve().parents[1]


def test_sending_an_issue_without_stories_is_refused(tmp_path: Path) -> None:
    from digest.send import SmtpSettings, recipients_from_addresses, send_issue

    plan = plan_issue(
        load_config(ROOT), IssueRequest(issue="2026-w48", overrides={"categories": ["no such category"]}, today=TODAY)
    )
    recipients, _ = recipients_from_addresses(["ana@example.org"])
    with pytest.raises(ContentError, match="no lead stories"):
        send_issue(plan, recipients, SmtpSettings("127.0.0.1", 9, "none"), dry_run=True)


def test_build_and_export_commands_refuse_an_empty_issue(run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    for command in (["build", "--out", str(tmp_path / "o")], ["export", "--out", str(tmp_path / "e.zip")]):
        result = run(*command, "2026-w48", "--category", "no such category", "--today", "2026-11-28")
        assert result.exit_code == 1 and "no article in 2026-W48 matches" in result.output
        assert not (tmp_path / "o").exists() and not (tmp_path / "e.zip").exists()


def test_placeholder_sender_is_refused(tmp_path: Path) -> None:
    from digest.send import SmtpSettings, recipients_from_addresses, send_issue

    (tmp_path / "digest.yaml").write_text("name: Bare\ncontent: content\n", encoding="utf-8")
    (tmp_path / "content").mkdir()
    story = {
        "title": "T",
        "url": "https://e.example/t",
        "date": "2026-11-25",
        "source": "S",
        "categories": ["AI"],
        "summary": "S.",
    }
    (tmp_path / "content" / "t.yaml").write_text(yaml.safe_dump(story), encoding="utf-8")
    plan = plan_issue(load_config(tmp_path), IssueRequest(overrides={"week": "2026-W48"}, today=TODAY))
    recipients, _ = recipients_from_addresses(["ana@example.org"])
    with pytest.raises(ConfigError) as info:
        send_issue(plan, recipients, SmtpSettings("127.0.0.1", 9, "none"), dry_run=True)
    assert {p.field for p in info.value.problems} == {"sender.email", "links.unsubscribe"}


def test_each_sent_message_has_its_own_id_and_the_time_of_sending() -> None:
    from email.utils import parsedate_to_datetime

    from digest.send import PreparedIssue, Recipient

    prepared = PreparedIssue(plan_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY)))
    first, second = (prepared.message_for(Recipient("ana@example.org")) for _ in range(2))
    assert first["Message-ID"] != second["Message-ID"]
    sent = parsedate_to_datetime(first["Date"])
    assert sent.year >= 2026 and (sent.hour, sent.minute) != (8, 0) or sent.date() != date(2026, 11, 28)


def test_a_window_emptied_by_a_flag_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / "range.yaml").write_text("since: 2026-11-16\nuntil: 2026-11-22\n", encoding="utf-8")
    config = load_config(tmp_path)
    with pytest.raises(UsageError) as info:
        resolve_spec(config, IssueRequest(issue="range", overrides={"since": "2026-11-25"}))
    assert info.value.problems[0].field == "--since"


def test_init_keeps_a_name_with_yaml_characters(tmp_path: Path) -> None:
    from digest.scaffold import init_newsletter

    init_newsletter(tmp_path / "news", "AI: The Week #1", TODAY)
    config = load_config(tmp_path / "news")
    assert config.name == "AI: The Week #1"
    assert ".cache/" in (tmp_path / "news" / ".gitignore").read_text()
    rendered = build_issue(config, IssueRequest(today=TODAY))
    assert "AI: The Week #1" in rendered.files["email.txt"].decode()


def test_a_templates_folder_created_after_the_first_build_is_used(tmp_path: Path) -> None:
    from digest.scaffold import init_newsletter

    init_newsletter(tmp_path / "news", "Late Templates", TODAY)
    root = tmp_path / "news"
    (root / "templates" / "README.txt").unlink()
    (root / "templates").rmdir()
    build_issue(load_config(root), IssueRequest(today=TODAY))
    (root / "templates").mkdir()
    footer = (ROOT / "digest" / "templates" / "_footer.mjml.j2").read_text(encoding="utf-8")
    (root / "templates" / "_footer.mjml.j2").write_text(
        footer.replace("{{ why }}", "LATE FOOTER {{ why }}"), encoding="utf-8"
    )
    assert "LATE FOOTER" in build_issue(load_config(root), IssueRequest(today=TODAY)).files["email.html"].decode()


def test_rich_text_is_cached_as_its_source_only() -> None:
    text = RichText("Some *Markdown*")
    assert "<em>" in text.html
    restored = pickle.loads(pickle.dumps(text))
    assert restored == text and "html" not in restored.__dict__


def test_send_to_nobody_valid_is_a_usage_error(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = run("send", "2026-w48", "--to", "not-an-address", "--dry-run", "--today", "2026-11-28")
    assert result.exit_code == 2 and "not-an-address" in result.output


def test_a_non_ascii_slug_is_found_and_reported_with_a_fix(tmp_path: Path) -> None:
    from digest.content import find_issue_file, load_issue_spec

    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / "ausgabe-ü.yaml").write_text("week: 2026-W48\n", encoding="utf-8")
    path = find_issue_file("ausgabe-ü", tmp_path / "issues")
    with pytest.raises(ContentError) as info:
        load_issue_spec(path)
    assert "rename the file" in info.value.problems[0].fix


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ('links: {unsubscribe: "https://e.example/u>, <https://evil.example/x"}\n', "links.unsubscribe"),
        ('links: {preferences: "mailto:x@e.example>evil"}\n', "links.preferences"),
        ("esp_profiles: {acme: {unsubscribe: '[[U\"onclick=alert(1)]]'}}\n", "esp_profiles.acme.unsubscribe"),
    ],
)
def test_config_text_cannot_break_out_of_href_or_headers(tmp_path: Path, config: str, field: str) -> None:
    (tmp_path / "digest.yaml").write_text("name: X\n" + config, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert field in {p.field for p in info.value.problems}
