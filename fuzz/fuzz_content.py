"""Fuzz target: the content loader (`parse_article`) on arbitrary bytes, as YAML and as Markdown.

Run: python fuzz/fuzz_content.py [libFuzzer flags, e.g. -max_total_time=60 corpus_dir]
Any exception other than a returned problem is a bug.
"""

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from digest.content import parse_article

YAML, MARKDOWN = Path("fuzz.yaml"), Path("fuzz.md")


def test_one(data: bytes) -> None:
    for path in (YAML, MARKDOWN):
        article, problems = parse_article(data, path, path.name)
        assert article is not None or problems, "a file that fails must say why"
        if article is not None:
            # Rendering what loaded must not fail either.
            article.summary.html  # noqa: B018
            article.summary.plain  # noqa: B018


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()
