"""Generate a synthetic content archive of N articles with realistic sizes and categories.

Usage: python benchmarks/archive.py N OUT_DIR   (deterministic: the same N gives the same files)
"""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path

import yaml

CATEGORIES = [
    "Artificial Intelligence", "China Tech", "Autonomous Driving", "Cybersecurity",
    "Policy", "Chips & Infrastructure", "Industry News", "Robotics", "Cloud", "Startups",
]  # fmt: skip
WORDS = [
    "model",
    "models",
    "data",
    "chips",
    "power",
    "grid",
    "open",
    "source",
    "regulators",
    "investment",
    "compute",
    "training",
    "inference",
    "cloud",
    "startup",
    "funding",
    "agents",
    "safety",
    "policy",
    "market",
    "revenue",
    "capacity",
    "supply",
    "chain",
    "energy",
    "research",
    "benchmark",
    "release",
    "partners",
    "customers",
    "enterprise",
    "developers",
    "platform",
    "hardware",
    "software",
    "europe",
    "china",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, words: int) -> str:
    out, left = [], words
    while left > 0:
        n = min(left, rng.randint(12, 24))
        out.append(sentence(rng, n))
        left -= n
    return " ".join(out)


def article(rng: random.Random, i: int, start: date, days: int) -> dict:
    day = start + timedelta(days=rng.randrange(days))
    data: dict = {
        "title": sentence(rng, rng.randint(8, 14)).rstrip(".") + f" ({i})",
        "url": f"https://news{i % 37}.example.com/{day.year}/{day.month:02d}/story-{i}",
        "date": f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
        "source": f"Example Wire {i % 23}",
        "categories": rng.sample(CATEGORIES, rng.randint(1, 3)),
        "summary": paragraph(rng, rng.randint(70, 120)),
    }
    if rng.random() < 0.6:
        data["key_takeaways"] = [f"Point {k}: {sentence(rng, rng.randint(10, 18))}" for k in range(rng.randint(2, 4))]
    if rng.random() < 0.3:
        data["analysis"] = [{"heading": sentence(rng, 5).rstrip("."), "body": paragraph(rng, 110)} for _ in range(2)]
        data["impact"] = paragraph(rng, 70)
        data["faq"] = [{"question": sentence(rng, 9).rstrip(".") + "?", "answer": paragraph(rng, 35)} for _ in range(2)]
    if rng.random() < 0.05:
        data["priority"] = rng.randint(1, 9)
    return data


def generate(n: int, out: Path, *, seed: int = 48) -> Path:
    """Write `n` articles under `out` (one folder per 1,000), spread over the 52 weeks before 2026-11-29."""
    rng = random.Random(seed)
    start = date(2025, 11, 30)
    for i in range(n):
        folder = out / f"part-{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(article(rng, i, start, 365), allow_unicode=True, sort_keys=False, width=100)
        (folder / f"story-{i:06d}.yaml").write_text(text, encoding="utf-8")
    return out


if __name__ == "__main__":
    count, target = int(sys.argv[1]), Path(sys.argv[2])
    generate(count, target)
    print(f"wrote {count:,} articles to {target}")
