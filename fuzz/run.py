"""Run every fuzz target for a bounded time, seeded with the sample corpus and the test fixtures.

Usage: python fuzz/run.py [SECONDS_PER_TARGET]   (default 60). Exits non-zero on the first crash.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRASHES = ROOT / "fuzz" / "crashes"  # inputs that crashed a target are kept here (git-ignored)
TARGETS = {
    "fuzz_content.py": [ROOT / "seeds"],
    "fuzz_page.py": [ROOT / "tests" / "fixtures" / "import", ROOT.parent / "shared" / "seeds"],
}


def seed_corpus(folders: list[Path], into: Path) -> None:
    for folder in folders:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and path.stat().st_size < 200_000:
                    shutil.copy(path, into / f"{len(list(into.iterdir())):05d}{path.suffix}")


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    CRASHES.mkdir(exist_ok=True)
    for target, folders in TARGETS.items():
        with tempfile.TemporaryDirectory(prefix="digest-fuzz-") as tmp:
            corpus = Path(tmp)
            seed_corpus(folders, corpus)
            print(f"fuzzing {target} for {seconds} s with {len(list(corpus.iterdir()))} seed inputs", flush=True)
            result = subprocess.run(
                [sys.executable, str(ROOT / "fuzz" / target), f"-max_total_time={seconds}", "-rss_limit_mb=2048",
                 "-timeout=20", "-print_final_stats=1", f"-artifact_prefix={CRASHES}/", str(corpus)],
                capture_output=True, text=True,
            )  # fmt: skip
            tail = "\n".join(result.stderr.splitlines()[-12:])
            if result.returncode != 0:
                print(result.stderr[-6000:], file=sys.stderr)
                print(f"{target}: CRASH (exit {result.returncode})", file=sys.stderr)
                return 1
            runs = next(
                (line.split()[-1] for line in result.stderr.splitlines() if "stat::number_of_executed_units" in line),
                "?",
            )
            print(f"{target}: ok, {runs} inputs\n{tail}" if "-v" in sys.argv else f"{target}: ok, {runs} inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
