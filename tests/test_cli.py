"""The command line, through typer's CliRunner: `list`, `check`, the shared selectors, exit codes."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import typer

from digest import __version__
from digest.cli import app

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
W48 = ["--week", "2026-W48", "--today", "2026-11-28"]


def plain(text: str) -> str:
    return ANSI.sub("", text)


def problem_lines(stderr: str) -> list[str]:
    """The lines of a problem report that name a problem (not the heading, not the fixes)."""
    return [line for line in plain(stderr).splitlines() if re.match(r"^\s+(error|warning) ", line)]


def assert_names_each_problem(lines: list[str], bad: dict[str, str]) -> None:
    """Each broken file appears on one line together with the field its problem is about."""
    assert len(lines) == len(bad)
    for name, field in bad.items():
        assert any(f"{name} {field}" in line for line in lines), (name, field, lines)


# --- the sample newsletter --------------------------------------------------


def test_list_week_and_category_from_the_repo_root(run, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    args = ["list", *W48, "--category", "artificial intelligence", "--json"]
    first = run(*args)
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert {"window", "leads", "rail", "problems"} <= set(data)
    assert data["window"] == {"since": "2026-11-23", "until": "2026-11-29"}
    assert data["leads"], "the sample corpus has AI stories in 2026-W48"
    articles = data["leads"] + data["rail"]
    for article in articles:
        assert {"id", "title", "url", "date", "categories"} <= set(article)
        assert date(2026, 11, 23) <= date.fromisoformat(article["day"]) <= date(2026, 11, 29), article
        assert "artificial intelligence" in [c.casefold() for c in article["categories"]], article
    assert len({a["id"] for a in articles}) == len(articles)
    assert len({a["url"] for a in articles}) == len(articles)
    assert data["problems"] == []
    second = run(*args)
    assert second.stdout_bytes == first.stdout_bytes


def test_list_table_from_the_repo_root(run, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    result = run("list", *W48)
    assert result.exit_code == 0, result.output
    assert "2026-W48" in result.stdout
    assert "lead" in result.stdout and "rail" in result.stdout


def test_sample_issue_definition_by_slug(run, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    result = run("list", "2026-w48", "--today", "2026-11-28", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["window"] == {"since": "2026-11-23", "until": "2026-11-29"}
    assert len(data["leads"]) == 3


def test_check_passes_on_the_sample_corpus(run, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    result = run("check", "--today", "2026-11-28")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok:")


# --- a folder with broken files ---------------------------------------------


def test_list_skips_broken_files_and_reports_them_on_stderr(run, bad_folder, tmp_path, monkeypatch, snapshot):
    monkeypatch.chdir(tmp_path)
    before = snapshot(bad_folder.folder)
    result = run("list", "--content", str(bad_folder.folder), *W48)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert_names_each_problem(problem_lines(result.stderr), bad_folder.bad)
    assert "Traceback" not in result.stderr
    assert snapshot(bad_folder.folder) == before


def test_list_picks_only_valid_articles(run, bad_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", "--content", "content", *W48, "--leads", "200", "--rail", "0", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {a["id"] for a in data["leads"]} == bad_folder.valid_ids
    assert {(Path(p["path"]).name, p["field"].split(" ")[0]) for p in data["problems"]} == set(bad_folder.bad.items())


def test_check_exits_1_and_lists_every_problem(run, bad_folder, tmp_path, monkeypatch, snapshot):
    monkeypatch.chdir(tmp_path)
    before = snapshot(bad_folder.folder)
    result = run("check", "--content", str(bad_folder.folder), "--today", "2026-11-28")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert_names_each_problem(problem_lines(result.stderr), bad_folder.bad)
    assert snapshot(bad_folder.folder) == before


def test_check_json_lists_every_problem(run, bad_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check", "--content", "content", "--today", "2026-11-28", "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert {(Path(p["path"]).name, p["field"].split(" ")[0]) for p in problems} == set(bad_folder.bad.items())


def test_strict_makes_content_problems_fatal(run, bad_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", "--content", "content", *W48, "--strict")
    assert result.exit_code == 1
    assert_names_each_problem(problem_lines(result.stderr), bad_folder.bad)


def test_check_with_a_clean_folder_exits_0(run, tmp_path, monkeypatch, write_article):
    monkeypatch.chdir(tmp_path)
    write_article(tmp_path / "content", "only")
    result = run("check", "--content", "content", "--today", "2026-11-28")
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.stdout


# --- selectors --------------------------------------------------------------


def test_leads_option_takes_article_ids_in_order(run, tmp_path, monkeypatch, write_article):
    monkeypatch.chdir(tmp_path)
    for day in (23, 24, 25, 26):
        write_article(tmp_path / "content", f"d{day}", date=f"2026-11-{day}")
    result = run("list", "--content", "content", *W48, "--leads", "d24, d23", "--json")
    assert result.exit_code == 0, result.output
    assert [a["id"] for a in json.loads(result.stdout)["leads"]] == ["d24", "d23"]


def test_unknown_lead_id_exits_1_naming_leads(run, tmp_path, monkeypatch, write_article):
    monkeypatch.chdir(tmp_path)
    write_article(tmp_path / "content", "real")
    result = run("list", "--content", "content", *W48, "--leads", "real,ghost")
    assert result.exit_code == 1
    assert "leads" in result.stderr and "ghost" in result.stderr
    assert "Traceback" not in result.output


def test_bad_week_is_a_usage_error_naming_the_option(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", "--week", "2026-W99", "--today", "2026-11-28")
    assert result.exit_code == 2
    assert "--week" in plain(result.stderr)
    assert "Traceback" not in result.output


def test_since_after_until_is_a_usage_error(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", "--since", "2026-11-30", "--until", "2026-11-20", "--today", "2026-11-28")
    assert result.exit_code == 2
    assert "--since" in plain(result.stderr)


def test_bad_today_is_a_usage_error(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", "--today", "2026-13-01")
    assert result.exit_code == 2
    assert "--today" in plain(result.output)


def test_missing_content_folder_exits_1(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("list", "--content", "nowhere", *W48)
    assert result.exit_code == 1
    assert "nowhere" in result.stderr


def test_unknown_issue_slug_exits_1_naming_the_known_ones(run, tmp_path, monkeypatch, write_article):
    monkeypatch.chdir(tmp_path)
    write_article(tmp_path / "content", "story")
    (tmp_path / "issues").mkdir()
    for slug in ("2026-w47", "2026-w48"):
        (tmp_path / "issues" / f"{slug}.yaml").write_text(f"title: Issue {slug}\n", encoding="utf-8")
    result = run("list", "2026-w49", "--content", "content", "--today", "2026-11-28")
    assert result.exit_code == 1
    stderr = plain(result.stderr)
    assert "2026-w49" in stderr
    assert "2026-w47" in stderr and "2026-w48" in stderr
    assert "Traceback" not in result.output


# --- version and help -------------------------------------------------------


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"digest {__version__}"


def command_names() -> list[str]:
    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_list_and_check_are_commands():
    assert {"list", "check"} <= set(command_names())


@pytest.mark.parametrize("name", command_names())
def test_every_command_help_works_and_shows_an_example(run, name):
    result = run(name, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in plain(result.stdout)


def test_top_level_help_shows_an_example(run):
    result = run("--help")
    assert result.exit_code == 0, result.output
    assert "Example" in plain(result.stdout)


def test_today_is_hidden_from_help(run):
    assert "--today" not in plain(run("list", "--help").stdout)
