"""The built email in real tools: the official MJML validator and headless Chromium."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from digest.build import IssueRequest, build_issue, write_outputs
from digest.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import date

    out = tmp_path_factory.mktemp("sample")
    write_outputs(build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=date(2026, 11, 28))), out)
    return out


def test_mjml_passes_the_official_validator_in_strict_mode(built: Path, mjml_cli: str) -> None:
    result = subprocess.run(
        [mjml_cli, "-v", str(built / "email.mjml"), "--config.validationLevel", "strict"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_does_reject_bad_mjml(tmp_path: Path, mjml_cli: str) -> None:
    """Guards the test above: strict validation really fails on an illegal attribute."""
    bad = tmp_path / "bad.mjml"
    bad.write_text(
        '<mjml><mj-body><mj-section><mj-column><mj-text foo="1">x</mj-text></mj-column></mj-section></mj-body></mjml>'
    )
    result = subprocess.run(
        [mjml_cli, "-v", str(bad), "--config.validationLevel", "strict"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0


@pytest.mark.browser
def test_phone_width_has_no_horizontal_scrolling(built: Path, browser) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto((built / "email.html").as_uri())
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    widths = page.evaluate(
        "Array.from(document.querySelectorAll('h1,h2,p,li,a')).map(e => e.getBoundingClientRect().right)"
    )
    assert max(widths) <= 375
    page.close()


@pytest.mark.browser
def test_desktop_width_is_600px(built: Path, browser) -> None:
    page = browser.new_page(viewport={"width": 700, "height": 800})
    page.goto((built / "email.html").as_uri())
    width = page.evaluate("document.querySelector('.sf').getBoundingClientRect().width")
    assert width == 600
    page.close()


@pytest.mark.browser
def test_dark_mode_changes_the_colours(built: Path, browser) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        page = browser.new_page(viewport={"width": 700, "height": 800}, color_scheme=scheme)
        page.goto((built / "email.html").as_uri())
        colours[scheme] = page.evaluate(
            """() => ({
                body: getComputedStyle(document.body).backgroundColor,
                surface: getComputedStyle(document.querySelector('.sf')).backgroundColor,
                title: getComputedStyle(document.querySelector('h1')).color,
            })"""
        )
        page.close()
    assert colours["light"]["surface"] == "rgb(255, 255, 255)"
    assert colours["dark"]["surface"] == "rgb(27, 31, 38)"
    assert colours["light"]["body"] != colours["dark"]["body"]
    assert colours["light"]["title"] != colours["dark"]["title"]
