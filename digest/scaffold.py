"""`digest init`: a new newsletter folder that builds as it is."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from digest.errors import Problem, UsageError, display_path
from digest.render import BUNDLED_TEMPLATES

CONFIG = """\
# The newsletter's configuration. Every key is optional.
name: {name}
lang: en
timezone: UTC
content: content          # the folder of articles, one file per article
issues: issues            # one definition per issue
output: build             # builds go to build/<issue>/
templates: templates      # a file here overrides the bundled template of the same name
sender:
  name: {name}
  email: newsletter@example.com
links:
  website: https://example.com/
  view_online: https://example.com/issues/{{slug}}/
  unsubscribe: https://example.com/unsubscribe
  preferences: https://example.com/preferences
why: {why}
postal_address: {postal}
"""

ARTICLE = """\
title: Welcome
url: https://example.com/welcome
date: {day}
source: {name}
categories: [News]
summary: >-
  This is an example article. Put one file like this one into `content/` for
  every story; `digest list` shows what the next issue would pick.
key_takeaways:
  - "Articles: one YAML or Markdown file per story, in content/."
  - "Issues: one definition per issue, in issues/."
  - "Build: `digest build` writes the email into build/."
"""

ISSUE = """\
title: {name}
number: 1
week: {year}-W{week:02d}
leads: 3
rail: 6
intro: >-
  A few words from the editor about this week's issue.
"""

TEMPLATES_README = """\
Templates placed in this folder override the bundled ones of the same name.
Copy the one you want to change from the bundled set and edit it:

{names}

The bundled templates live in the installed package, in digest/templates/.
"""


def init_newsletter(target: Path, name: str, today: date) -> list[Path]:
    """Create a newsletter folder at `target`; refuses to touch a folder that has files in it."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        problem = Problem(display_path(target), "", "already exists and is not empty", "choose a new folder name")
        raise UsageError(f"{display_path(target)} already exists", [problem])
    if any(ch in name for ch in "\r\n") or not name.strip():
        raise UsageError(
            "invalid name", [Problem("--name", "", "must be one non-empty line", "pass --name 'My Newsletter'")]
        )
    year, week, _ = today.isocalendar()
    names = "\n".join(f"  {p.name}" for p in sorted(BUNDLED_TEMPLATES.glob("*.j2")))
    # A JSON string is a valid YAML scalar: names with ":" or "#" stay whole.
    quoted = json.dumps(name, ensure_ascii=False)
    files = {
        "digest.yaml": CONFIG.format(
            name=quoted,
            why=json.dumps(f"You are receiving this email because you subscribed to {name}.", ensure_ascii=False),
            postal=json.dumps(f"{name} · 1 Example Street · 00000 Example City", ensure_ascii=False),
        ),
        "content/welcome.yaml": ARTICLE.format(name=quoted, day=today.isoformat()),
        f"issues/{year}-w{week:02d}.yaml": ISSUE.format(
            name=json.dumps(f"{name}, week {week}", ensure_ascii=False), year=year, week=week
        ),
        "templates/README.txt": TEMPLATES_README.format(names=names),
        ".gitignore": "build/\n.cache/\n",
    }
    written = []
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
