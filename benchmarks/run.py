"""Speed and size figures for `digest`, each beside its target, as medians over repeated runs.

Usage: python benchmarks/run.py [--quick] [--sizes 10000,100000] [--repeat N]

Whole-process figures run the installed `digest` command as a user would;
in-process figures call the library. Synthetic archives are generated once
into benchmarks/.archives/ (git-ignored) and reused. Prints one table; exits 0
whatever the verdicts (it measures, it does not gate).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from archive import generate  # noqa: E402

BIN = Path(sys.executable).parent
DIGEST = str(BIN / "digest")
MJML = ROOT / "tools" / "mjml" / "node_modules" / ".bin" / "mjml"
ARCHIVES = ROOT / "benchmarks" / ".archives"
WEEK = "2026-W47"


@dataclass
class Row:
    name: str
    value: float
    unit: str
    target: float | None
    note: str = ""

    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "PASS" if self.value <= self.target else "FAIL"


def run_process(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and peak memory (KB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n{err}")
    return elapsed, usage.ru_maxrss


def median_of(repeat: int, func: Callable[[], float]) -> float:
    return statistics.median(func() for _ in range(repeat))


def newsletter_for(archive: Path, work: Path) -> Path:
    """A newsletter folder whose content is `archive`, with its own cache folder."""
    root = work / f"news-{archive.name}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "digest.yaml").write_text(f"name: Bench Weekly\ncontent: {archive}\ncache: cache\n", encoding="utf-8")
    return root


def archive(size: int) -> Path:
    path = ARCHIVES / str(size)
    marker = path / ".complete"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {size:,} articles into {path.relative_to(ROOT)} (once)…", file=sys.stderr)
        generate(size, path)
        marker.write_text("ok\n")
    return path


def bench_sample(rows: list[Row], repeat: int, work: Path) -> None:
    out = work / "sample"
    run_process([DIGEST, "build", "2026-w48", "--out", str(out)], ROOT)  # warm the caches once
    if MJML.exists():
        build_times, mjml_times = [], []
        for _ in range(repeat):  # interleaved, so both see the same machine
            build_times.append(run_process([DIGEST, "build", "2026-w48", "--out", str(out)], ROOT)[0])
            mjml_times.append(run_process([str(MJML), str(out / "email.mjml"), "-o", str(work / "mjml.html")], ROOT)[0])
        build, mjml = statistics.median(build_times), statistics.median(mjml_times)
        rows.append(Row("sample: digest build (whole process)", build, "s", None))
        rows.append(Row("sample: mjml CLI v5 compiling email.mjml", mjml, "s", None))
        rows.append(Row("sample: build / mjml ratio", build / mjml, "×", 1.0))
    else:
        rows.append(
            Row(
                "sample: digest build (whole process)",
                median_of(repeat, lambda: run_process([DIGEST, "build", "2026-w48", "--out", str(out)], ROOT)[0]),
                "s",
                None,
                "mjml CLI missing: run make bench",
            )
        )
    rows.append(Row("digest --help", median_of(repeat, lambda: run_process([DIGEST, "--help"], ROOT)[0]), "s", 0.2))
    rows.append(
        Row(
            "sample: digest list",
            median_of(repeat, lambda: run_process([DIGEST, "list", "2026-w48"], ROOT)[0]),
            "s",
            None,
        )
    )
    size = (out / "email.html").stat().st_size
    rows.append(Row("sample: email.html size", size / 1000, "KB", 40.0, "3 leads + 6 rail"))


def bench_archive(rows: list[Row], size: int, repeat: int, work: Path, targets: dict[str, float]) -> None:
    root = newsletter_for(archive(size), work)
    args = [DIGEST, "build", "--week", WEEK, "--out", str(work / f"out-{size}")]
    label = f"{size:,} articles"

    def cold() -> tuple[float, int]:
        shutil.rmtree(root / "cache", ignore_errors=True)
        return run_process(args, root)

    cold_runs = [cold() for _ in range(max(1, repeat // 2))]
    warm_runs = [run_process(args, root) for _ in range(repeat)]
    rows.append(
        Row(f"{label}: cold build (no cache)", statistics.median(t for t, _ in cold_runs), "s", targets["cold"])
    )
    rows.append(
        Row(f"{label}: warm build (content cache)", statistics.median(t for t, _ in warm_runs), "s", targets["warm"])
    )
    rows.append(
        Row(
            f"{label}: digest list (warm)",
            median_of(repeat, lambda: run_process([DIGEST, "list", "--week", WEEK], root)[0]),
            "s",
            None,
        )
    )
    peak = max(m for _, m in cold_runs + warm_runs) / 1024
    rows.append(Row(f"{label}: peak memory", peak, "MB", targets.get("memory")))


def bench_in_process(rows: list[Row], repeat: int, sizes: list[int], work: Path) -> None:
    from digest.build import IssueRequest, build_issue, plan_issue
    from digest.config import load_config
    from digest.render import render_issue

    def rebuild_after_edit(root: Path, request: IssueRequest, article: Path) -> float:
        config = load_config(root)
        build_issue(config, request)  # warm: the preview loop has built once already
        original = article.read_text(encoding="utf-8")
        times = []
        try:
            for i in range(repeat):
                article.write_text(original.replace("title: ", f"title: Edit {i} ", 1), encoding="utf-8")
                start = time.perf_counter()
                build_issue(load_config(root), request)
                times.append(time.perf_counter() - start)
        finally:
            article.write_text(original, encoding="utf-8")
        return statistics.median(times)

    sample_root = work / "sample-news"
    shutil.copytree(ROOT / "seeds", sample_root / "seeds")
    shutil.copytree(ROOT / "issues", sample_root / "issues")
    shutil.copy(ROOT / "digest.yaml", sample_root / "digest.yaml")
    lead = sample_root / "seeds" / "2026-w48" / "alibaba-power-grid-open-source.yaml"
    value = rebuild_after_edit(sample_root, IssueRequest(issue="2026-w48", today=date(2026, 11, 28)), lead)
    rows.append(Row("sample: in-process rebuild after one edit", value * 1000, "ms", 100.0))
    if 10_000 in sizes:
        root = newsletter_for(archive(10_000), work)
        one = next((archive(10_000) / "part-000").glob("*.yaml"))
        value = rebuild_after_edit(root, IssueRequest(overrides={"week": WEEK}), one)
        rows.append(Row("10,000 articles: in-process rebuild after one edit", value * 1000, "ms", 250.0))
        plan = plan_issue(load_config(root), IssueRequest(overrides={"week": WEEK, "leads": 30, "rail": 30}))
        render_issue(plan)
        value = median_of(repeat, lambda: _timed(lambda: render_issue(plan)))
        count = len(plan.selection.leads) + len(plan.selection.rail)
        rows.append(
            Row(
                f"render + inline, {len(plan.selection.leads)} leads + {len(plan.selection.rail)} rail",
                value * 1000,
                "ms",
                60.0,
                f"{count} stories",
            )
        )


def _timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def print_table(rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    print(f"{'measure':<{width}}  {'median':>10}  {'target':>10}  verdict")
    for r in rows:
        target = f"<= {r.target:g} {r.unit}" if r.target is not None else ""
        print(f"{r.name:<{width}}  {r.value:>8.3f} {r.unit:<2} {target:>10}  {r.verdict()}  {r.note}".rstrip())
    print(f"\n{os.cpu_count()} cores; Python {sys.version.split()[0]}; medians of repeated runs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="archive sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="sample issue and 10,000 articles only, 3 runs")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    repeat = 3 if args.quick else args.repeat
    targets = {
        10_000: {"cold": 2.0, "warm": 0.6},
        100_000: {"cold": 20.0, "warm": 3.0, "memory": 1024.0},
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        work = Path(tmp)
        bench_sample(rows, repeat, work)
        for size in sizes:
            bench_archive(
                rows,
                size,
                repeat if size < 100_000 else max(2, repeat // 2),
                work,
                targets.get(size, {"cold": 0, "warm": 0}),
            )
        bench_in_process(rows, repeat, sizes, work)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
