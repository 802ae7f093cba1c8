"""The newsletter configuration: digest.yaml or [tool.digest], validated field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import DARK, LIGHT, Config, contrast_ratio, load_config, parse_config
from digest.errors import ConfigError


def write_config(folder: Path, text: str) -> Path:
    path = folder / "digest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problem_fields(exc: pytest.ExceptionInfo[ConfigError], severity: str = "error") -> set[str]:
    return {p.field for p in exc.value.problems if p.severity == severity}


def test_defaults_when_there_is_no_config(tmp_path):
    config = load_config(tmp_path)
    assert config.path is None
    assert config.root == tmp_path.resolve()
    assert config.name == Config.name
    assert config.timezone == "UTC"
    assert config.content_dir == tmp_path.resolve() / "seeds"
    assert config.issues_dir == tmp_path.resolve() / "issues"
    assert (config.light, config.dark) == (LIGHT, DARK)
    assert config.warnings == ()


def test_digest_yaml_is_parsed(tmp_path):
    write_config(
        tmp_path,
        "name: AI Weekly\n"
        "timezone: Asia/Shanghai\n"
        "content: articles\n"
        "sender: {name: The AI Desk, email: desk@news.example.com}\n"
        "reply_to: editor@news.example.com\n"
        "links: {website: 'https://news.example.com/', unsubscribe: 'mailto:leave@news.example.com'}\n"
        "logo: {src: 'https://news.example.com/logo.png', alt: AI Weekly, width: 120}\n"
        "colors:\n  light:\n    accent: '#0A4FA0'\n",
    )
    config = load_config(tmp_path)
    assert config.path is not None and config.path.endswith("digest.yaml")
    assert config.name == "AI Weekly"
    assert config.tz().key == "Asia/Shanghai"
    assert config.content_dir == tmp_path.resolve() / "articles"
    assert (config.sender_name, config.sender_email) == ("The AI Desk", "desk@news.example.com")
    assert config.reply_to == "editor@news.example.com"
    assert config.website == "https://news.example.com/"
    assert config.unsubscribe == "mailto:leave@news.example.com"
    assert config.logo is not None and (config.logo.src, config.logo.width) == (
        "https://news.example.com/logo.png",
        120,
    )
    assert config.light.accent == "#0a4fa0"
    assert config.light.text == LIGHT.text  # colours not given keep their defaults


def test_config_is_found_in_a_parent_folder(tmp_path):
    write_config(tmp_path, "name: From Above\n")
    nested = tmp_path / "issues" / "drafts"
    nested.mkdir(parents=True)
    config = load_config(nested)
    assert config.name == "From Above"
    assert config.root == tmp_path.resolve()


def test_sender_name_defaults_to_the_newsletter_name(tmp_path):
    write_config(tmp_path, "name: AI Weekly\n")
    assert load_config(tmp_path).sender_name == "AI Weekly"


def test_tool_digest_in_pyproject_is_found(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "newsletter"\n\n[tool.digest]\nname = "Py Weekly"\ncontent = "posts"\n'
        '[tool.digest.sender]\nemail = "py@news.example.com"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.path is not None and config.path.endswith("pyproject.toml")
    assert (config.name, config.content, config.sender_email) == ("Py Weekly", "posts", "py@news.example.com")


def test_pyproject_without_tool_digest_is_not_a_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    assert load_config(tmp_path).path is None


def test_digest_yaml_wins_over_pyproject_in_the_same_folder(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.digest]\nname = "From TOML"\n', encoding="utf-8")
    write_config(tmp_path, "name: From YAML\n")
    assert load_config(tmp_path).name == "From YAML"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("colors:\n  light:\n    text: red\n", "colors.light.text"),
        ("colors:\n  dark:\n    accent: '#12345'\n", "colors.dark.accent"),
        ("colors:\n  light:\n    surface: 0xffffff\n", "colors.light.surface"),
        ("colors:\n  light:\n    fuchsia: '#ff00ff'\n", "colors.light.fuchsia"),
        ("sender: {email: not-an-email}\n", "sender.email"),
        ("sender: {email: 'a@b@c.example'}\n", "sender.email"),
        ("reply_to: editor at example.com\n", "reply_to"),
        ("links: {unsubscribe: 'ftp://example.com/leave'}\n", "links.unsubscribe"),
        ("links: {website: 'javascript:alert(1)'}\n", "links.website"),
        ("links: {view_online: example.com/issues}\n", "links.view_online"),
        ("timezone: Mars/Olympus\n", "timezone"),
        ("logo: {src: 'http://insecure.example/logo.png', alt: Logo}\n", "logo"),
        ("name: [not, text]\n", "name"),
        ('sender: {name: "Line\\nBreak", email: a@example.com}\n', "sender.name"),
    ],
)
def test_bad_setting_is_a_config_error_naming_the_field(tmp_path, text, field):
    write_config(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert problem_fields(exc) == {field}
    assert all(p.path.endswith("digest.yaml") for p in exc.value.problems)


def test_every_bad_setting_is_reported_at_once(tmp_path):
    write_config(
        tmp_path,
        "sender: {email: nope}\nlinks: {unsubscribe: 'ftp://x.example'}\ncolors:\n  light:\n    text: blue\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert problem_fields(exc) == {"sender.email", "links.unsubscribe", "colors.light.text"}


def test_invalid_yaml_is_a_config_error(tmp_path):
    write_config(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path)
    assert "YAML" in exc.value.problems[0].message


def test_low_contrast_is_a_warning_not_an_error(tmp_path):
    write_config(tmp_path, "colors:\n  light:\n    muted: '#bbbbbb'\n")
    config = load_config(tmp_path)
    assert config.light.muted == "#bbbbbb"
    [warning] = config.warnings
    assert (warning.field, warning.severity) == ("colors.light.muted", "warning")
    assert "4.5" in warning.message


def test_button_text_contrast_is_checked_against_the_button(tmp_path):
    write_config(tmp_path, "colors:\n  dark:\n    button: '#7ab7ff'\n    button_text: '#ffffff'\n")
    assert [w.field for w in load_config(tmp_path).warnings] == ["colors.dark.button_text"]


def test_unknown_setting_is_a_warning(tmp_path):
    write_config(tmp_path, "nmae: typo\n")
    config = load_config(tmp_path)
    assert [(w.field, w.severity) for w in config.warnings] == [("nmae", "warning")]


def test_default_palettes_meet_the_contrast_bar():
    for palette in (LIGHT, DARK):
        for fg, bg in palette.contrast_pairs().values():
            assert contrast_ratio(fg, bg) >= 4.5


def test_contrast_ratio():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    # WCAG's own example: #767676 on white is just above 4.5:1.
    assert contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)


def test_parse_config_takes_a_mapping_directly(tmp_path):
    config = parse_config({"name": "Direct"}, tmp_path, "inline")
    assert (config.name, config.root, config.path) == ("Direct", tmp_path, "inline")
