"""The orchestrator: from a request to a planned issue, to a built one, to files.

`plan_issue` loads the content and picks the stories (what `digest list` and
`digest check` need); `build_issue` runs the remaining stages in order and
returns the rendered issue as values; `write_outputs` is the only step that
writes, atomically.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.config import Config
from digest.content import LoadResult, find_issue_file, issue_values, load_articles, load_issue_spec
from digest.errors import ContentError, Problem, UsageError, display_path
from digest.model import IssueSpec, Selection
from digest.select import select_issue

if TYPE_CHECKING:
    from digest.render import RenderedIssue


@dataclass(frozen=True)
class IssueRequest:
    """What the user asked for: an issue definition (or none) plus overrides of its keys."""

    issue: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    content: Path | None = None
    strict: bool = False
    today: date | None = None


@dataclass(frozen=True)
class Plan:
    """An issue before rendering: its spec, the content as loaded, the stories picked."""

    config: Config
    spec: IssueSpec
    loaded: LoadResult
    selection: Selection
    today: date
    # What `fit_issue` left out to fit under Gmail's clipping line (the manifest's `dropped`).
    dropped: tuple[dict[str, Any], ...] = ()

    @property
    def problems(self) -> list[Problem]:
        return self.loaded.problems

    @property
    def tz(self) -> tzinfo:
        """The issue's time zone: its own, else the newsletter's."""
        return issue_tz(self.config, self.spec)


def issue_tz(config: Config, spec: IssueSpec) -> tzinfo:
    """The time zone an issue's dates are compared in."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(spec.timezone or config.timezone)


def resolve_spec(config: Config, request: IssueRequest) -> IssueSpec:
    """The issue definition named by the request (if any) with the request's overrides applied."""
    spec = IssueSpec()
    if request.issue:
        spec = load_issue_spec(find_issue_file(request.issue, config.issues_dir), root=config.root)
    errors: list[Problem] = []
    given = {k: v for k, v in request.overrides.items() if v is not None and v != [] and v != ()}
    values = issue_values(given, "command line", errors)
    if errors:
        raise UsageError("invalid option", [dataclasses.replace(p, field="--" + p.field.split("[")[0]) for p in errors])
    if "week" in values:
        values.update(since=None, until=None)
    elif "since" in values or "until" in values:
        values["week"] = None
    merged = dataclasses.replace(spec, **values)
    if merged.since and merged.until and merged.since > merged.until:
        flag = "--since" if "since" in values else "--until"
        problem = Problem(
            "command line",
            flag,
            f"makes the window {merged.since}..{merged.until}, which is empty",
            "give a first day before the last",
        )
        raise UsageError("empty window", [problem])
    return merged


def today_in(config: Config, spec: IssueSpec) -> date:
    """Today's date in the issue's time zone (the clock is read here, not in `select`)."""
    from datetime import datetime

    return datetime.now(issue_tz(config, spec)).date()


def plan_issue(config: Config, request: IssueRequest) -> Plan:
    """Load the content and pick the stories for one issue."""
    # 1. The issue definition and command-line overrides.
    spec = resolve_spec(config, request)
    today = request.today or today_in(config, spec)
    # 2. Every article of the content folder, with the problems met.
    content = request.content or config.content_dir
    loaded = load_articles(content, root=config.root, cache_dir=config.cache_dir)
    if request.strict and loaded.problems:
        raise ContentError(
            f"{len(loaded.problems)} problem(s) in {display_path(content, config.root)}", loaded.problems
        )
    # 3. The selection: window, categories, leads, rail.
    selection = select_issue(loaded.articles, spec, today=today, tz=issue_tz(config, spec))
    return Plan(config, spec, loaded, selection, today)


def require_stories(plan: Plan) -> None:
    """Refuse to build, export or send an issue without lead stories."""
    if not plan.selection.leads:
        where = plan.spec.path or "the selection"
        fix = "widen the window (--week/--since/--until) or the categories, or check the content folder"
        raise ContentError(
            f"no lead stories in {plan.selection.window.label()}",
            [Problem(where, "", f"no article in {plan.selection.window.label()} matches this issue", fix)],
        )


def build_issue(config: Config, request: IssueRequest) -> RenderedIssue:
    """Run every stage and return the rendered issue; nothing is written."""
    from digest.render import render_issue

    plan = plan_issue(config, request)
    return render_issue(plan)


def fit_issue(plan: Plan, limit: int | None = None) -> tuple[RenderedIssue, list[dict[str, Any]]]:
    """Render the issue so that email.html fits in `limit` bytes (Gmail's clipping line by default).

    Rail items go first, from the end of the rail; then lead takeaways, one at a
    time from the lead that has most left (the later lead on a tie), its last
    first. The fewest cuts that fit are found by bisection. Returns the rendered
    issue and what was dropped, in that order; its manifest lists the same under
    `dropped`. When even every cut leaves it too large, the smallest rendering is
    returned and its warnings say so.
    """
    from digest.render import GMAIL_CLIP_BYTES, render_issue

    limit = limit or GMAIL_CLIP_BYTES
    rendered = render_issue(plan)
    cuts = fit_cuts(plan.selection)
    if len(rendered.files["email.html"]) <= limit or not cuts:
        return rendered, []
    tried: dict[int, RenderedIssue] = {0: rendered}

    def attempt(count: int) -> RenderedIssue:
        if count not in tried:
            tried[count] = render_issue(cut_plan(plan, cuts[:count]))
        return tried[count]

    low, high = 0, len(cuts)  # `low` cuts are too few; `high` cuts fit, or are all there are
    while high - low > 1:
        middle = (low + high) // 2
        if len(attempt(middle).files["email.html"]) <= limit:
            high = middle
        else:
            low = middle
    fitted = attempt(high)
    return fitted, list(cut_plan(plan, cuts[:high]).dropped)


def fit_cuts(selection: Selection) -> list[tuple[str, int, int]]:
    """Everything `fit_issue` may leave out, in the order it does: ("rail", i, 0), then ("takeaway", lead, i)."""
    cuts: list[tuple[str, int, int]] = [("rail", i, 0) for i in range(len(selection.rail) - 1, -1, -1)]
    left = [len(lead.key_takeaways) for lead in selection.leads]
    while any(left):
        most = max(left)
        lead = max(i for i, n in enumerate(left) if n == most)
        left[lead] -= 1
        cuts.append(("takeaway", lead, left[lead]))
    return cuts


def cut_plan(plan: Plan, cuts: list[tuple[str, int, int]]) -> Plan:
    """`plan` without the rail items and takeaways in `cuts`; `dropped` says what went, in order."""
    selection = plan.selection
    rail_cut = {i for kind, i, _ in cuts if kind == "rail"}
    takeaway_cut = {(lead, i) for kind, lead, i in cuts if kind == "takeaway"}
    dropped: list[dict[str, Any]] = []
    for kind, first, second in cuts:
        if kind == "rail":
            article = selection.rail[first]
            dropped.append({"role": "rail", "id": article.id, "title": article.title, "url": article.url})
        else:
            lead = selection.leads[first]
            takeaway = lead.key_takeaways[second]
            text = (f"{takeaway.label}: " if takeaway.label else "") + takeaway.text.source
            dropped.append({"role": "takeaway", "id": lead.id, "index": second, "text": text})
    leads = []
    for i, lead in enumerate(selection.leads):
        kept = tuple(t for j, t in enumerate(lead.key_takeaways) if (i, j) not in takeaway_cut)
        leads.append(lead if len(kept) == len(lead.key_takeaways) else dataclasses.replace(lead, key_takeaways=kept))
    rail = tuple(article for i, article in enumerate(selection.rail) if i not in rail_cut)
    smaller = dataclasses.replace(selection, leads=tuple(leads), rail=rail)
    return dataclasses.replace(plan, selection=smaller, dropped=plan.dropped + tuple(dropped))


def issue_slug(plan: Plan) -> str:
    """The issue's name in paths and URLs (see `select.issue_slug`)."""
    from digest.select import issue_slug as slug_of

    return slug_of(plan.spec, plan.selection.window)


def default_out_dir(plan: Plan) -> Path:
    """Where a build goes unless told otherwise: `<output>/<slug>/` under the newsletter."""
    return plan.config.output_dir / issue_slug(plan)


def write_outputs(rendered: RenderedIssue, out_dir: Path) -> list[Path]:
    """Write every output into `out_dir` atomically: all files are complete or none is replaced.

    Each file is written to a temporary name in the same folder and flushed to
    disk; only when all are written are they renamed into place.
    """
    import os

    from digest.errors import ExportError
    from digest.files import write_temp

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {display_path(out_dir)}: {exc.strerror}") from None
    staged: list[tuple[str, Path]] = []
    try:
        with _build_lock(out_dir):
            for name, data in rendered.files.items():
                staged.append((write_temp(out_dir / name, data), out_dir / name))
            for tmp, final in staged:
                os.replace(tmp, final)
    except OSError as exc:
        _discard(staged)
        raise ExportError(
            f"cannot write the issue to {display_path(out_dir)}: {exc.strerror}; the previous build is untouched"
        ) from None
    except BaseException:
        _discard(staged)  # Ctrl-C while writing: no temporary file is left behind
        raise
    return [final for _, final in staged]


def _discard(staged: list[tuple[str, Path]]) -> None:
    for tmp, _ in staged:
        Path(tmp).unlink(missing_ok=True)


class _build_lock:
    """An exclusive lock on an output folder, so two builds of one issue never mix their files.

    The folder itself is locked (flock on its descriptor): no lock file is left in it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fd = -1

    def __enter__(self) -> None:
        import fcntl
        import os

        self.fd = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        import os

        os.close(self.fd)  # closing releases the lock
