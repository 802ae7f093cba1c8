"""`digest preview`: the real server, driven by headless Chromium and by raw HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import http_get

from digest.build import IssueRequest

TODAY = date(2026, 11, 28)


def story(i: int, title: str | None = None) -> dict:
    return {
        "title": title or f"Preview story {i}",
        "url": f"https://news.example.com/preview-{i}",
        "date": f"2026-11-{24 + i % 4}",
        "source": "Example News",
        "categories": ["Artificial Intelligence"],
        "summary": f"Summary of preview story {i}, long enough to read like a summary.",
        "key_takeaways": ["Point: something to know."],
    }


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    (tmp_path / "content").mkdir()
    (tmp_path / "issues").mkdir()
    (tmp_path / "digest.yaml").write_text("name: Preview Weekly\ncontent: content\n", encoding="utf-8")
    for i in range(5):
        (tmp_path / "content" / f"s{i}.yaml").write_text(yaml.safe_dump(story(i)), encoding="utf-8")
    (tmp_path / "issues" / "w48.yaml").write_text(
        "title: Week 48\nweek: 2026-W48\nleads: 2\nrail: 3\n", encoding="utf-8"
    )
    return tmp_path


@pytest.fixture
def server(newsletter: Path, preview_server) -> str:
    """A running preview server on a free loopback port; stopped (and checked stopped) afterwards."""
    host, port, _ = preview_server(newsletter, IssueRequest(today=TODAY))
    return f"http://{host}:{port}"


def raw_get(base: str, path: str) -> tuple[int, bytes]:
    status, _, body = http_get(base, path)
    return status, body


def test_index_lists_issue_definitions_and_the_default_week(server: str) -> None:
    status, body = raw_get(server, "/")
    assert status == 200
    assert b"/issue/w48/" in body and b"2026-W48" in body


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/issue/..%2f..%2fetc/files/passwd",
        "/issue/w48/files/..%2f..%2fdigest.yaml",
        "/issue/w48/files/%2e%2e/digest.yaml",
        "/issue/w48/files//etc/passwd",
        "//etc/passwd",
        "/etc/passwd",
        "/issue/w48/files/digest.yaml",
        "/issue/nope/",
        "/issue/w48/../../content/s1.yaml",
    ],
)
def test_nothing_outside_the_preview_is_reachable(server: str, path: str) -> None:
    status, body = raw_get(server, path)
    assert status == 404, (path, body[:200])
    assert b"root:" not in body and b"content:" not in body
    assert raw_get(server, "/issue/w48/files/email.html")[0] == 200


def test_a_burst_of_concurrent_requests_is_all_answered(server: str) -> None:
    paths = ["/", "/issue/w48/status", "/issue/w48/files/email.html", "/issue/w48/files/email.txt", "/nope"] * 100

    def fetch(path: str) -> int:
        return raw_get(server, path)[0]

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(fetch, paths))
    assert len(statuses) == 500
    assert statuses.count(404) == 100 and statuses.count(200) == 400


@pytest.mark.browser
def test_toggles_change_width_and_colour_scheme(server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{server}/issue/w48/")
    frame = page.frame_locator("#frame")
    frame.locator("h1").wait_for()
    assert page.evaluate("document.getElementById('frame').clientWidth") == 700
    light = frame.locator(".sf").first.evaluate("e => getComputedStyle(e).backgroundColor")
    page.get_by_role("button", name="Phone 375").click()
    page.get_by_role("button", name="Dark").click()
    frame.locator("h1").wait_for()
    page.wait_for_function("document.getElementById('frame').clientWidth === 375")
    page.wait_for_function(
        "getComputedStyle(document.getElementById('frame').contentDocument.querySelector('.sf')).backgroundColor !== 'rgb(255, 255, 255)'"
    )
    dark = frame.locator(".sf").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(27, 31, 38)"
    assert "width=375" in page.url and "scheme=dark" in page.url, "the chosen view is kept in the address"
    page.get_by_role("button", name="Text").click()
    page.wait_for_function("document.getElementById('frame').src.includes('email.txt')")
    page.close()


@pytest.mark.browser
def test_saving_an_article_updates_the_open_page(server: str, newsletter: Path, browser) -> None:
    page = browser.new_page()
    page.goto(f"{server}/issue/w48/#view=email&width=375&scheme=dark")
    frame = page.frame_locator("#frame")
    frame.get_by_role("link", name="Preview story 3").first.wait_for()
    (newsletter / "content" / "s3.yaml").write_text(
        yaml.safe_dump(story(3, "Retitled by the editor")), encoding="utf-8"
    )
    frame.get_by_role("link", name="Retitled by the editor").first.wait_for(timeout=4000)
    assert page.evaluate("document.getElementById('frame').clientWidth") == 375, "the view is kept"
    page.close()


@pytest.mark.browser
def test_a_broken_file_shows_its_error_then_recovers(server: str, newsletter: Path, browser) -> None:
    page = browser.new_page()
    page.goto(f"{server}/issue/w48/")
    frame = page.frame_locator("#frame")
    frame.get_by_role("heading", name="Week 48", exact=True).wait_for()
    error = page.locator("#error")
    # A broken article is reported with its file and field; the rest of the issue still builds.
    (newsletter / "content" / "s1.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    error.get_by_text("s1.yaml").wait_for(timeout=4000)
    assert "not valid YAML" in error.inner_text()
    # A broken issue definition fails the rebuild: the last good build stays on screen.
    (newsletter / "issues" / "w48.yaml").write_text("title: Week 48\nweek: 2026-W99\n", encoding="utf-8")
    error.get_by_text("Rebuild failed").wait_for(timeout=4000)
    assert "week" in error.inner_text() and "w48.yaml" in error.inner_text()
    assert frame.get_by_role("heading", name="Week 48", exact=True).is_visible()
    # Fixed files: the page recovers by itself.
    (newsletter / "content" / "s1.yaml").write_text(yaml.safe_dump(story(1)), encoding="utf-8")
    (newsletter / "issues" / "w48.yaml").write_text(
        "title: Week 48 fixed\nweek: 2026-W48\nleads: 2\nrail: 3\n", encoding="utf-8"
    )
    frame.get_by_role("heading", name="Week 48 fixed").wait_for(timeout=4000)
    page.wait_for_function("!document.getElementById('error').classList.contains('on')", timeout=4000)
    page.close()
