"""Fuzz target: the importer's reader for seed-layout pages and feeds, on arbitrary bytes.

Run: python fuzz/fuzz_page.py [libFuzzer flags]
A ContentError (the source is not a page or feed) is an answer; any other exception is a bug.
"""

import contextlib
import sys
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports():
    from digest.errors import DigestError
    from digest.importer import Fetched, ReadOptions, read_page, read_source

OPTIONS = ReadOptions(now=datetime(2026, 11, 28, tzinfo=UTC), category_map={}, default_category="News")


def test_one(data: bytes) -> None:
    fetched = Fetched(data, "https://example.com/page")
    for reader in (
        lambda: read_page("fuzz", fetched, OPTIONS, html_form=False),
        lambda: read_page("fuzz", fetched, OPTIONS, html_form=True),
        lambda: read_source("fuzz", fetched, OPTIONS),
    ):
        with contextlib.suppress(DigestError):
            reader()


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()
