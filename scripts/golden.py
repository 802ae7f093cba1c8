"""Regenerate the golden files of the sample issue: tests/golden/2026-w48/{email.txt,email.mjml}.

Run `make golden`, then review the change with `git diff tests/golden`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from digest.build import IssueRequest, build_issue
from digest.config import load_config

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "2026-w48"
FILES = ("email.txt", "email.mjml")
TODAY = date(2026, 11, 28)


def main() -> None:
    rendered = build_issue(load_config(ROOT), IssueRequest(issue="2026-w48", today=TODAY))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (GOLDEN / name).write_bytes(rendered.files[name])
        print(f"wrote {(GOLDEN / name).relative_to(ROOT)} ({len(rendered.files[name]):,} bytes)")


if __name__ == "__main__":
    main()
