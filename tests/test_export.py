"""`digest export`: ESP merge tags byte for byte, UTM links, List-Unsubscribe, zip bundles."""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from digest.build import IssueRequest, plan_issue
from digest.cli import app
from digest.config import load_config
from digest.errors import UsageError
from digest.export import BUILTIN_PROFILES, export_issue, write_export
from digest.render import MERGE_TOKENS, add_utm

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 28)

EXPECTED_TAGS = {
    "generic": ["{{unsubscribe_url}}", "{{preferences_url}}", "{{view_online_url}}", "{{first_name}}"],
    "mailchimp": ["*|UNSUB|*", "*|UPDATE_PROFILE|*", "*|ARCHIVE|*", "*|IF:FNAME|**|FNAME|**|ELSE:|*there*|END:IF|*"],
    "listmonk": [
        "{{ UnsubscribeURL }}",
        "{{ ManageURL }}",
        "{{ MessageURL }}",
        '{{ .Subscriber.FirstName | default "there" }}',
    ],
    "buttondown": [
        "{{ unsubscribe_url }}",
        "{{ subscriber.portal_url }}",
        "{{ email_url }}",
        '{{ subscriber.metadata.first_name|default:"there" }}',
    ],
    "sendgrid": [
        "<%asm_group_unsubscribe_raw_url%>",
        "<%asm_preferences_raw_url%>",
        "https://theaiweek.example/issues/2026-w48/",
        "{{#if first_name}}{{first_name}}{{else}}there{{/if}}",
    ],
}


def sample_plan(**overrides: object):
    return plan_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY, overrides=dict(overrides)))


@pytest.mark.parametrize("esp", sorted(EXPECTED_TAGS))
def test_profile_tags_reach_the_final_files_byte_for_byte(esp: str) -> None:
    rendered = export_issue(sample_plan(), esp)
    html = rendered.files["email.html"].decode()
    text = rendered.files["email.txt"].decode()
    unsubscribe, preferences, view_online, first_name = EXPECTED_TAGS[esp]
    assert f'href="{unsubscribe}"' in html
    assert f'href="{preferences}"' in html
    assert f'href="{view_online}"' in html
    assert first_name in html
    for tag in (unsubscribe, preferences, view_online):
        assert re.search(rf"^\[\d+\] {re.escape(tag)}$", text, re.MULTILINE), f"{tag} missing from email.txt"
    assert first_name in text
    for token in MERGE_TOKENS.values():
        assert token not in html and token not in text


def test_every_builtin_profile_is_tested() -> None:
    assert set(BUILTIN_PROFILES) == set(EXPECTED_TAGS)


def test_plain_build_uses_real_links_and_no_greeting() -> None:
    from digest.render import render_issue

    rendered = render_issue(sample_plan())
    html = rendered.files["email.html"].decode()
    assert 'href="https://theaiweek.example/unsubscribe"' in html
    assert "DIGESTMERGE" not in html and "merge.digest.invalid" not in html


def test_user_defined_profile_from_config(tmp_path: Path) -> None:
    config_text = (ROOT / "digest.yaml").read_text(encoding="utf-8")
    extra = {"esp_profiles": {"acme": {"unsubscribe": "[[UNSUB_LINK]]", "first_name": "[[FIRST|friend]]"}}}
    (tmp_path / "digest.yaml").write_text(config_text + yaml.safe_dump(extra), encoding="utf-8")
    for folder in ("seeds", "issues"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    plan = plan_issue(load_config(tmp_path), IssueRequest(issue="2026-w48", today=TODAY))
    rendered = export_issue(plan, "acme")
    html = rendered.files["email.html"].decode()
    assert 'href="[[UNSUB_LINK]]"' in html and "[[FIRST|friend]]" in html
    assert 'href="https://theaiweek.example/preferences"' in html, (
        "a tag the profile does not define falls back to the config"
    )


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown ESP profile"):
        export_issue(sample_plan(), "nope")


# --- UTM ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x", "https://a.example/x?utm_source=tw&utm_medium=email"),
        ("https://a.example/x?id=3#part", "https://a.example/x?id=3&utm_source=tw&utm_medium=email#part"),
        ("https://a.example/x?utm_source=mine", "https://a.example/x?utm_source=mine&utm_medium=email"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        (MERGE_TOKENS["unsubscribe"], MERGE_TOKENS["unsubscribe"]),
    ],
)
def test_add_utm_keeps_query_and_fragment(url: str, expected: str) -> None:
    assert add_utm(url, {"source": "tw", "medium": "email"}) == expected


def utm_newsletter(tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "digest.yaml").read_text(encoding="utf-8"))
    config["utm"] = {"source": "theaiweek", "medium": "email", "campaign": "{slug}"}
    (tmp_path / "digest.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for folder in ("seeds", "issues"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    return tmp_path


def test_utm_on_article_links_only(tmp_path: Path) -> None:
    root = utm_newsletter(tmp_path)
    plan = plan_issue(load_config(root), IssueRequest(issue="2026-w48", today=TODAY))
    rendered = export_issue(plan, "mailchimp")
    html = rendered.files["email.html"].decode()
    hrefs = re.findall(r'href="([^"]*)"', html)
    article_urls = {a["url"] for a in rendered.manifest["articles"]}
    tagged = [h for h in hrefs if "utm_" in h]
    expected = {"utm_source": ["theaiweek"], "utm_medium": ["email"], "utm_campaign": ["2026-w48"]}
    assert tagged and all(parse_qs(urlsplit(h.replace("&amp;", "&")).query) == expected for h in tagged)
    assert {h.split("?")[0] for h in tagged} == article_urls
    for href in hrefs:
        if href.startswith("*|"):
            assert "utm_" not in href
    text = rendered.files["email.txt"].decode()
    assert "utm_campaign=2026-w48" in text


def test_utm_switched_off_per_issue(tmp_path: Path) -> None:
    root = utm_newsletter(tmp_path)
    plan = plan_issue(load_config(root), IssueRequest(issue="2026-w48", today=TODAY, overrides={"utm": False}))
    assert "utm_" not in export_issue(plan, "generic").files["email.html"].decode()


# --- eml and bundles -----------------------------------------------------------------------------------


def test_eml_is_ready_to_send() -> None:
    rendered = export_issue(sample_plan(subject="Zürich, 阿里巴巴 and the week in AI"), "mailchimp")
    raw = rendered.files["email.eml"]
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" in head.lower(), "non-ASCII subject encoded per RFC 2047"
    assert all(len(line) <= 78 for line in raw.decode("ascii").split("\r\n")), "every line of the message is short"
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["Subject"]) == "Zürich, 阿里巴巴 and the week in AI"
    assert (
        msg["List-Unsubscribe"]
        == "<mailto:unsubscribe@theaiweek.example?subject=unsubscribe>, <https://theaiweek.example/unsubscribe>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] and msg["Date"]
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = next(msg.iter_parts()).get_content()
    long_lines = [line for line in text.splitlines() if len(line) > 78 and not re.fullmatch(r"\[\d+\] \S+", line)]
    assert not long_lines


def test_zip_bundle_holds_the_four_files(tmp_path: Path) -> None:
    rendered = export_issue(sample_plan(), "listmonk")
    [path] = write_export(rendered, "zip", tmp_path / "issue.zip")
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as bundle:
        assert sorted(bundle.namelist()) == ["email.eml", "email.html", "email.txt", "manifest.json"]
        assert bundle.read("email.html") == rendered.files["email.html"]
    again = write_export(export_issue(sample_plan(), "listmonk"), "zip", tmp_path / "again.zip")[0]
    assert again.read_bytes() == path.read_bytes(), "the same issue gives the same zip"


def test_export_command_writes_each_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    for fmt, target in (("zip", tmp_path / "b.zip"), ("eml", tmp_path / "b.eml"), ("html", tmp_path / "html")):
        result = runner.invoke(
            app,
            [
                "export",
                "2026-w48",
                "--esp",
                "buttondown",
                "--format",
                fmt,
                "--out",
                str(target),
                "--today",
                "2026-11-28",
            ],
        )
        assert result.exit_code == 0, result.output
        assert target.exists()
    assert (tmp_path / "html" / "email.html").read_text().count("{{ unsubscribe_url }}") == 1
    bad = runner.invoke(app, ["export", "2026-w48", "--esp", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output
