"""The content cache: what changed on disk is always seen; a bad cache is never trusted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digest import content
from digest.content import ContentCache, load_articles, parse_files


def write(folder: Path, name: str, title: str, **extra: object) -> Path:
    data = {
        "title": title,
        "url": f"https://news.example.com/{Path(name).stem}",
        "date": "2026-11-24",
        "source": "Example",
        "categories": ["AI"],
        "summary": "A summary.",
        **extra,
    }
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def fresh_load(folder: Path, cache_dir: Path) -> content.LoadResult:
    """Load as a new process would: nothing kept in memory, the cache file read from disk."""
    content._MEMORY.clear()
    result = load_articles(folder, cache_dir=cache_dir)
    content.cache_for(folder, cache_dir).save()
    return result


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(3):
        write(tmp_path / "content", f"a{i}.yaml", f"Story {i}")
    return tmp_path / "content"


def titles(result: content.LoadResult) -> dict[str, str]:
    return {a.id: a.title for a in result.articles}


def bump_mtime(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_warm_load_comes_from_the_cache(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = fresh_load(folder, tmp_path / "cache")
    assert list((tmp_path / "cache").glob("content-*.pickle"))
    calls: list[str] = []
    real = content.parse_article
    monkeypatch.setattr(
        content, "parse_article", lambda raw, path, shown: calls.append(shown) or real(raw, path, shown)
    )
    second = fresh_load(folder, tmp_path / "cache")
    assert calls == [], "nothing re-parsed"
    assert titles(second) == titles(first)


def test_edited_added_deleted_and_renamed_files_are_seen(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fresh_load(folder, cache)
    # Edited, with the same size: the modification time tells.
    edited = write(folder, "a0.yaml", "Story X")
    bump_mtime(edited)
    write(folder, "new.yaml", "Brand new")
    (folder / "a1.yaml").unlink()
    (folder / "a2.yaml").rename(folder / "renamed.yaml")
    result = fresh_load(folder, cache)
    assert titles(result) == {"a0": "Story X", "new": "Brand new", "renamed": "Story 2"}
    # And in the same process (the preview loop), without reading the file again.
    write(folder, "new.yaml", "Brand new, edited in place")
    bump_mtime(folder / "new.yaml")
    assert titles(load_articles(folder, cache_dir=cache))["new"] == "Brand new, edited in place"


def test_a_file_that_becomes_invalid_is_reported_not_served_from_cache(folder: Path, tmp_path: Path) -> None:
    fresh_load(folder, tmp_path / "cache")
    (folder / "a1.yaml").write_text("title: [broken\n", encoding="utf-8")
    result = fresh_load(folder, tmp_path / "cache")
    assert "a1" not in titles(result)
    assert any(p.path.endswith("a1.yaml") for p in result.problems)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "version"])
def test_a_corrupted_or_stale_cache_is_detected_and_rebuilt(folder: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    fresh_load(folder, cache)
    [path] = cache.glob("content-*.pickle")
    blob = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flip":
        middle = len(blob) // 2 + 10
        path.write_bytes(blob[:middle] + bytes([blob[middle] ^ 0xFF]) + blob[middle + 1 :])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a cache at all")
    else:
        path.write_bytes(blob.replace(b" %d " % content.LOADER_VERSION, b" 999 ", 1))
    content._MEMORY.clear()
    loaded = ContentCache(path)
    loaded.load()
    assert loaded.entries == {} and loaded.note
    result = fresh_load(folder, cache)
    assert titles(result) == {"a0": "Story 0", "a1": "Story 1", "a2": "Story 2"}
    reread = ContentCache(path)
    reread.load()
    assert len(reread.entries) == 3 and reread.note is None, "the cache was written anew"


def test_cache_is_per_content_folder(tmp_path: Path) -> None:
    write(tmp_path / "one", "a.yaml", "From one")
    write(tmp_path / "two", "a.yaml", "From two")
    cache = tmp_path / "cache"
    assert titles(fresh_load(tmp_path / "one", cache)) == {"a": "From one"}
    assert titles(fresh_load(tmp_path / "two", cache)) == {"a": "From two"}


def test_concurrent_builds_leave_a_whole_cache(folder: Path, tmp_path: Path) -> None:
    for i in range(200):
        write(folder, f"bulk/b{i:03d}.yaml", f"Bulk {i}")
    cache = tmp_path / "cache"
    code = "import sys; from pathlib import Path; from digest.content import load_articles; print(len(load_articles(Path(sys.argv[1]), cache_dir=Path(sys.argv[2])).articles))"  # noqa: E501
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(folder), str(cache)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["203"] * 4
    [path] = cache.glob("content-*.pickle")
    reread = ContentCache(path)
    reread.load()
    assert reread.note is None and len(reread.entries) == 203
    assert not list(cache.glob(".content.*.tmp")), "no temporary file left behind"


def test_parallel_parse_matches_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "many"
    for i in range(60):
        write(folder, f"s{i:02d}.yaml", f"Story {i}", summary=f"Number {i}")
    write(folder, "broken.yaml", "x")
    (folder / "broken.yaml").write_text("title: [\n", encoding="utf-8")
    files = [(str(p), p.name) for p in sorted(folder.iterdir())]
    serial = parse_files(files)
    monkeypatch.setattr(content, "PARALLEL_THRESHOLD", 10)
    parallel = parse_files(files)
    assert parallel == serial
    assert parallel["broken.yaml"][0] is None and parallel["broken.yaml"][1]
