"""The `digest` command line: parse options, make one library call, print.

Heavy modules (the loaders, Jinja2, MJML, premailer) are imported inside the
commands that need them, so `digest --help` stays fast. Errors become exit
codes here and nowhere else.
"""

import functools
import inspect
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from digest import __version__

app = typer.Typer(
    name="digest",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# --- the issue selectors, declared once and added to every issue command ------

SELECTORS: list[tuple[str, Any, Any]] = [
    (
        "issue",
        Optional[str],
        typer.Argument(
            None, help="Issue definition: a file, or a slug from issues/ (e.g. 2026-w48).", show_default=False
        ),
    ),
    (
        "week",
        Optional[str],
        typer.Option(None, "--week", "-w", help="ISO week to cover, e.g. 2026-W48.", rich_help_panel="Selection"),
    ),
    ("since", Optional[str], typer.Option(None, help="First day to cover (YYYY-MM-DD).", rich_help_panel="Selection")),
    ("until", Optional[str], typer.Option(None, help="Last day to cover (YYYY-MM-DD).", rich_help_panel="Selection")),
    (
        "category",
        Optional[list[str]],
        typer.Option(
            None, "--category", "-c", help="Only these categories (repeatable, any case).", rich_help_panel="Selection"
        ),
    ),
    (
        "exclude",
        Optional[list[str]],
        typer.Option(
            None, "--exclude", "-x", help="Leave out these categories (repeatable).", rich_help_panel="Selection"
        ),
    ),
    (
        "leads",
        Optional[str],
        typer.Option(
            None, help="Number of lead stories, or article ids separated by commas.", rich_help_panel="Selection"
        ),
    ),
    ("rail", Optional[int], typer.Option(None, help="Number of related-news items.", rich_help_panel="Selection")),
    (
        "content",
        Optional[Path],
        typer.Option(
            None,
            help="Content folder (default: from digest.yaml, else seeds/).",
            rich_help_panel="Selection",
            show_default=False,
        ),
    ),
    ("title", Optional[str], typer.Option(None, help="Issue title.", rich_help_panel="Issue")),
    ("number", Optional[int], typer.Option(None, help="Issue number.", rich_help_panel="Issue")),
    ("date", Optional[str], typer.Option(None, "--date", help="Send date (YYYY-MM-DD).", rich_help_panel="Issue")),
    ("subject", Optional[str], typer.Option(None, help="Email subject.", rich_help_panel="Issue")),
    (
        "preheader",
        Optional[str],
        typer.Option(None, help="Preview text shown beside the subject.", rich_help_panel="Issue"),
    ),
    ("intro", Optional[str], typer.Option(None, help="The editor's intro (Markdown).", rich_help_panel="Issue")),
    (
        "timezone",
        Optional[str],
        typer.Option(None, help="Time zone of the issue (IANA name).", rich_help_panel="Issue"),
    ),
    (
        "utm",
        Optional[bool],
        typer.Option(
            None,
            "--utm/--no-utm",
            help="Add UTM parameters to article links.",
            rich_help_panel="Issue",
            show_default=False,
        ),
    ),
    (
        "strict",
        bool,
        typer.Option(False, "--strict", help="Treat any content problem as fatal.", rich_help_panel="Selection"),
    ),
    ("today", Optional[str], typer.Option(None, hidden=True, help="Pretend today is this date (for tests).")),
]


def issue_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared selectors to a command; it receives them as one `request`."""
    own = [p for p in inspect.signature(func).parameters.values() if p.name != "request"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, annotation, default in SELECTORS
    ]
    params = [extra[0]] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra[1:]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        picked = {name: kwargs.pop(name) for name, _, _ in SELECTORS}
        with reporting():
            kwargs["request"] = make_request(picked)
            return func(**kwargs)

    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def make_request(picked: dict[str, Any]) -> Any:
    """The selectors as an `IssueRequest`; validation of their values happens in the library."""
    from digest.build import IssueRequest

    leads: Any = picked["leads"]
    if leads is not None:
        leads = int(leads) if leads.strip().isdigit() else [s.strip() for s in leads.split(",") if s.strip()]
    overrides = {
        "week": picked["week"],
        "since": picked["since"],
        "until": picked["until"],
        "categories": picked["category"],
        "exclude": picked["exclude"],
        "leads": leads,
        "rail": picked["rail"],
        "title": picked["title"],
        "number": picked["number"],
        "date": picked["date"],
        "subject": picked["subject"],
        "preheader": picked["preheader"],
        "intro": picked["intro"],
        "timezone": picked["timezone"],
        "utm": picked["utm"],
    }
    today = None
    if picked["today"]:
        try:
            today = date.fromisoformat(picked["today"])
        except ValueError:
            raise typer.BadParameter("--today must be YYYY-MM-DD") from None
    return IssueRequest(picked["issue"], overrides, picked["content"], picked["strict"], today)


class reporting:
    """Turn a `DigestError` into a readable report on stderr and its exit code."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        from digest.errors import DigestError

        if isinstance(exc, DigestError):
            print_problems(exc.problems, heading=exc.message)
            raise typer.Exit(exc.exit_code)
        return None


def print_problems(problems: list[Any], heading: str | None = None) -> None:
    """Every problem on stderr: file, field, what is wrong, how to fix it."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if heading:
        console.print(f"[bold red]error:[/] {escape(heading)}")
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        where = escape(p.path) + (f" [bold]{escape(p.field)}[/]" if p.field else "")
        fix = f"\n    [dim]fix: {escape(p.fix)}[/]" if p.fix else ""
        console.print(f"  [{colour}]{p.severity}[/] {where}: {escape(p.message)}{fix}")


def config_here() -> Any:
    from digest.config import load_config

    with reporting():
        config = load_config()
    if config.warnings:
        print_problems(list(config.warnings))
    return config


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"digest {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Turn a folder of news articles into a weekly newsletter.

    Example: [bold]digest build 2026-w48[/] builds the issue defined in issues/2026-w48.yaml.
    """


# --- commands ---------------------------------------------------------------


def article_json(article: Any, role: str, tz: Any) -> dict[str, Any]:
    return {
        "id": article.id,
        "role": role,
        "title": article.title,
        "url": article.url,
        "date": article.published.isoformat(),
        "day": article.local_date(tz).isoformat(),
        "source": article.source,
        "categories": list(article.categories),
        "pinned": article.pinned,
        "priority": article.priority,
        "path": article.path,
    }


@app.command("list")
@issue_command
def list_command(
    request: Any,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show what would go into an issue: the lead stories and the related rail.

    Example: [bold]digest list --week 2026-W48 --category "artificial intelligence" --json[/]
    """
    from digest.build import plan_issue

    config = config_here()
    plan = plan_issue(config, request)
    tz = plan.tz
    sel = plan.selection
    if as_json:
        data = {
            "window": {"since": sel.window.since.isoformat(), "until": sel.window.until.isoformat()},
            "leads": [article_json(a, "lead", tz) for a in sel.leads],
            "rail": [article_json(a, "rail", tz) for a in sel.rail],
            "duplicates": [{"id": dropped.id, "same_as": kept.id} for dropped, kept in sel.duplicates],
            "problems": [p.to_dict() for p in plan.problems],
            "warnings": list(sel.warnings),
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{plan.spec.title or 'Issue'} · {sel.window.label()} ({sel.window.since} to {sel.window.until})",
        expand=True,
    )
    table.add_column("role", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("category", max_width=16)
    table.add_column("title", ratio=3, overflow="fold")
    table.add_column("id", ratio=2, overflow="fold", style="dim")
    for role, articles in (("lead", sel.leads), ("rail", sel.rail)):
        for a in articles:
            table.add_row(role, a.local_date(tz).isoformat(), a.primary_category, a.title, a.id)
    Console(highlight=False).print(table)
    for dropped, kept in sel.duplicates:
        typer.echo(f"duplicate: {dropped.id} is the same story as {kept.id}; left out", err=True)
    for warning in sel.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if plan.problems:
        print_problems(
            plan.problems, heading=f"{len(plan.problems)} problem(s) in the content; those files were skipped"
        )


@app.command("check")
@issue_command
def check_command(
    request: Any,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")] = False,
    online: Annotated[bool, typer.Option("--online", help="Also check every link with a HEAD request.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each link with --online.")] = 10.0,
    headroom: Annotated[
        int, typer.Option(help="Headroom under Gmail's clipping line for the ESP's link rewriting, in %.")
    ] = 15,
    esp: Annotated[
        Optional[str], typer.Option(help="Check the export for this ESP profile (its merge tags in place).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every note, not only their count per rule.")
    ] = False,
) -> None:
    """Check the content and the built email: size, client support, accessibility, links, text, spam; exit 1 on errors.

    Warnings fail too with --strict. Example: [bold]digest check 2026-w48 --strict[/] or [bold]digest check --json[/]
    """
    from digest.check import CheckOptions, check_issue
    from digest.config import load_config

    with reporting():
        config = load_config()
    options = CheckOptions(headroom=headroom / 100, online=online, timeout=timeout, esp=esp)
    report = check_issue(config, request, options)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_check_report(report, verbose)
    if report.failed(strict=request.strict):
        raise typer.Exit(1)


def print_check_report(report: Any, verbose: bool) -> None:
    """Content problems, then errors and warnings by rule on stderr, notes counted; the verdict on stdout."""
    from rich.console import Console
    from rich.markup import escape

    if report.problems:
        print_problems(report.problems, heading=f"{len(report.problems)} problem(s) in the content")
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    for severity, colour, mark in (("error", "red", "✗"), ("warning", "yellow", "!"), ("info", "blue", "i")):
        for rule, findings in report.by_rule(severity).items():
            if severity == "info" and not verbose:
                first = escape(findings[0].message.split(":")[0])
                more = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
                console.print(f"[{colour}]{mark} {rule}[/] [dim]{first}{more}[/]")
                continue
            console.print(f"[bold {colour}]{mark} {rule}[/] ({len(findings)})")
            shown = findings if verbose else findings[:12]
            for f in shown:
                console.print(
                    f"    {escape(f.where)}: {escape(f.message)}"
                    + (f"\n      [dim]fix: {escape(f.fix)}[/]" if f.fix else "")
                )
            if len(shown) < len(findings):
                console.print(
                    f"    [dim]… and {len(findings) - len(shown)} more (--verbose or --json lists them all)[/]"
                )
    figures = report.figures
    verdict = "failed" if report.errors else "ok"
    typer.echo(
        f"{verdict}: {report.articles} articles, {report.errors} error(s), {report.warnings} warning(s), {report.count('info')} note(s); "
        f"email.html {figures['email_html_bytes']:,} bytes = {figures['clip_share']:.0%} of Gmail's clipping line "
        f"({figures['bytes_with_headroom'] / figures['clip_bytes']:.0%} with {figures['headroom']:.0%} headroom), "
        f"<style> {figures['style_bytes']:,} of {figures['style_limit']:,} bytes"
    )


@app.command("build")
@issue_command
def build_command(
    request: Any,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out", "-o", help="Folder to write the outputs to (default: build/<issue>/).", show_default=False
        ),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Rebuild whenever an article, issue, template or the config changes.")
    ] = False,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Over Gmail's clipping line? Drop rail items from the end, then lead takeaways, until it fits.",
        ),
    ] = False,
) -> None:
    """Build an issue: email.html, email.txt, email.mjml, web.html, email.eml and manifest.json.

    Example: [bold]digest build 2026-w48[/] or [bold]digest build --week 2026-W47 --out /tmp/w47[/]
    """
    from digest.build import default_out_dir, fit_issue, plan_issue, require_stories, write_outputs
    from digest.render import render_issue

    config = config_here()
    if watch:
        watch_build(config, request, out)
        return
    plan = plan_issue(config, request)
    require_stories(plan)
    rendered, dropped = fit_issue(plan) if fit else (render_issue(plan), [])
    folder = out or default_out_dir(plan)
    write_outputs(rendered, folder)
    if plan.problems:
        print_problems(
            plan.problems, heading=f"{len(plan.problems)} problem(s) in the content; those files were skipped"
        )
    for warning in rendered.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for item in dropped:
        what = (
            f"rail item {item['id']} ({item['title']})"
            if item["role"] == "rail"
            else f"takeaway {item['index'] + 1} of {item['id']}"
        )
        typer.echo(f"fit: dropped {what}", err=True)
    sizes = rendered.manifest["sizes"]
    rail = len(plan.selection.rail) - sum(1 for item in dropped if item["role"] == "rail")
    typer.echo(
        f"built {rendered.slug}: {len(plan.selection.leads)} leads, {rail} related → {folder}/ "
        f"(email.html {sizes['email.html']:,} bytes, {rendered.manifest['gmail_clip_share']:.0%} of Gmail's clip size)"
    )
    over = sizes["email.html"] - rendered.manifest["gmail_clip_bytes"]
    if over > 0:
        from rich.console import Console

        advice = (
            "even --fit cannot cut enough: lower `leads:`"
            if fit
            else "build with --fit to drop rail items and trim takeaways until it fits"
        )
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]over Gmail's clipping line:[/] email.html is {over:,} bytes over {rendered.manifest['gmail_clip_bytes']:,}; "
            f"Gmail will clip it, hiding the end of the issue and its unsubscribe link. Fix: {advice}."
        )


def watch_build(config: Any, request: Any, out: Optional[Path]) -> None:
    """The preview loop without a server: rebuild on every save, print the result."""
    import threading

    from digest.build import write_outputs
    from digest.errors import Problem
    from digest.preview import DEFAULT_SLUG, Previewer, watch_and_build

    def write(rendered: Any) -> None:
        write_outputs(rendered, out or config.output_dir / rendered.slug)

    def report(state: Any) -> None:
        if state.error:
            print_problems([Problem(**p) for p in state.error["problems"]], heading=state.error["message"])
            typer.echo("build failed; the last good build is kept. Watching for changes…", err=True)
        else:
            size = state.rendered.manifest["sizes"]["email.html"]
            typer.echo(
                f"built {state.rendered.slug} (email.html {size:,} bytes). Watching for changes… (Ctrl-C to stop)"
            )

    previewer = Previewer(config.root, request)
    stop = threading.Event()
    try:
        watch_and_build(previewer, request.issue or DEFAULT_SLUG, write, report, stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("preview")
@issue_command
def preview_command(
    request: Any,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but loopback exposes your drafts.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the preview in a browser.")] = True,
) -> None:
    """Preview issues in a browser, at phone and desktop widths, light and dark, rebuilt on every save.

    Example: [bold]digest preview 2026-w48[/] then open http://127.0.0.1:8000/
    """
    from digest.preview import DEFAULT_SLUG, Previewer, is_loopback, serve

    config = config_here()
    if not is_loopback(host):
        from rich.console import Console

        Console(stderr=True).print(
            f"[bold yellow]warning:[/] listening on {host}: anyone who can reach this address can read your drafts"
        )
    previewer = Previewer(config.root, request)
    slug = DEFAULT_SLUG
    if request.issue:
        from digest.content import find_issue_file

        with reporting():
            slug = find_issue_file(request.issue, config.issues_dir).stem

    def ready(server: Any) -> None:
        url = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_address[1]}/issue/{slug}/"
        typer.echo(f"previewing at {url} (Ctrl-C to stop)")
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(previewer, host, port, ready=ready)
    except OSError as exc:
        from digest.errors import UsageError

        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    typer.echo("preview stopped")


@app.command("init")
def init_command(
    folder: Annotated[Path, typer.Argument(help="The new newsletter folder (must not exist or be empty).")],
    name: Annotated[str, typer.Option(help="The newsletter's name.")] = "My Newsletter",
) -> None:
    """Create a new newsletter folder: config, one example article, one issue definition.

    Example: [bold]digest init mynews && cd mynews && digest build[/]
    """
    from datetime import date as date_type

    from digest.scaffold import init_newsletter

    with reporting():
        written = init_newsletter(folder, name, date_type.today())
    for path in written:
        typer.echo(f"created {path}")
    typer.echo(f"next: cd {folder} && digest build")


@app.command("export")
@issue_command
def export_command(
    request: Any,
    esp: Annotated[
        str,
        typer.Option(help="ESP profile: generic, mailchimp, listmonk, buttondown, sendgrid, or one from digest.yaml."),
    ] = "generic",
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="html (a folder of files), eml, or zip (html, txt, eml, manifest).")
    ] = "zip",
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            help="Where to write (default: build/<issue>/export-<esp>/ or build/<issue>/<issue>-<esp>.<format>).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Export an issue for an email service provider, with its merge tags and UTM links.

    Example: [bold]digest export 2026-w48 --esp mailchimp --format zip[/]
    """
    from digest.build import default_out_dir, plan_issue
    from digest.export import FORMATS, export_issue, write_export

    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    config = config_here()
    plan = plan_issue(config, request)
    rendered = export_issue(plan, esp)
    folder = default_out_dir(plan)
    target = out or (folder / f"export-{esp}" if fmt == "html" else folder / f"{rendered.slug}-{esp}.{fmt}")
    written = write_export(rendered, fmt, target)
    for warning in rendered.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"exported {rendered.slug} for {esp} ({fmt}) → {written[0] if fmt != 'html' else target}")


@app.command("send")
@issue_command
def send_command(
    request: Any,
    to: Annotated[
        Optional[list[str]], typer.Option("--to", help="Send a test to these addresses (repeatable).")
    ] = None,
    recipients_file: Annotated[
        Optional[Path], typer.Option("--list", help="CSV with an email column and merge fields (first_name, name).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get the issue; send nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send again to recipients the ledger says already got it.")
    ] = False,
    rate: Annotated[
        Optional[float], typer.Option(help="At most this many messages per second (default: smtp.rate, else 5).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Send an issue over SMTP: a test to --to, or one message per subscriber in --list.

    The server comes from `smtp:` in digest.yaml and DIGEST_SMTP_HOST/PORT/SECURITY/USERNAME/PASSWORD/CAFILE;
    a ledger beside the issue makes sure nobody gets it twice.

    Example: [bold]DIGEST_SMTP_PASSWORD=... digest send 2026-w48 --list subscribers.csv[/]
    """
    import dataclasses

    from digest.build import plan_issue
    from digest.send import recipients_from_addresses, recipients_from_csv, send_issue, smtp_settings

    if bool(to) == bool(recipients_file):
        raise typer.BadParameter("give either --to ADDRESS... or --list FILE.csv", param_hint="--to/--list")
    config = config_here()
    with reporting():
        recipients, invalid = (
            recipients_from_csv(recipients_file) if recipients_file else recipients_from_addresses(to or [])
        )
        if not recipients:
            from digest.errors import UsageError

            raise UsageError("nobody to send to: every address was invalid", invalid)
        settings = smtp_settings(config.smtp)
        if rate is not None and rate > 0:
            settings = dataclasses.replace(settings, rate=rate)
        plan = plan_issue(config, request)

        def progress(email: str, status: str) -> None:
            if not as_json:
                typer.echo(f"{status}: {email}")

        report = send_issue(
            plan,
            recipients,
            settings,
            kind="list" if recipients_file else "test",
            dry_run=dry_run,
            force=force,
            progress=progress,
        )
    report.invalid = invalid
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        if invalid:
            print_problems(invalid, heading=f"{len(invalid)} address(es) skipped")
        if report.dry_run:
            typer.echo(f"dry run: would send to {len(report.would_send)}: {', '.join(report.would_send) or 'nobody'}")
        if report.already:
            typer.echo(f"already sent (ledger), skipped: {len(report.already)} (--force to send again)")
        for email, reason in report.failed:
            typer.echo(f"failed: {email}: {reason}", err=True)
        if report.not_attempted:
            typer.echo(
                f"not attempted: {', '.join(report.not_attempted)}; run the same command again to send to them",
                err=True,
            )
        typer.echo(f"sent: {len(report.sent)}; failed: {len(report.failed)}; ledger: {report.ledger}")
    if report.failed or report.not_attempted:
        raise typer.Exit(1)


@app.command("site")
def site_command(
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Folder to write the archive to (default: build/_site/).", show_default=False),
    ] = None,
    base_url: Annotated[
        Optional[str],
        typer.Option(
            "--base-url",
            help="Public address of the archive (default: links.website from digest.yaml).",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat any content problem as fatal.")] = False,
) -> None:
    """Build a static web archive of every issue: issue and category pages, an Atom feed and a sitemap.

    Only files that changed are written; pages of removed issues are deleted.

    Example: [bold]digest site --base-url https://theaiweek.example/ --out public[/]
    """
    from digest.site import build_site, default_site_dir

    config = config_here()
    folder = out or default_site_dir(config)
    with reporting():
        report = build_site(config, folder, base_url, strict=strict)
    if report.problems:
        print_problems(
            report.problems, heading=f"{len(report.problems)} problem(s) in the content; those files were skipped"
        )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"archived {len(report.issues)} issue(s) → {folder}/: {len(report.written)} written, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; served at {report.base_url}"
    )


@app.command("import")
def import_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Feeds (RSS, Atom, JSON Feed) and article pages like the seed: files or http(s) URLs.",
            show_default=False,
        ),
    ],
    into: Annotated[
        Optional[Path],
        typer.Option(
            "--into", help="Folder for the new article files, by default <content>/imported/.", show_default=False
        ),
    ] = None,
    content: Annotated[
        Optional[Path],
        typer.Option(
            help="Content folder to check for duplicates, by default the one in digest.yaml.", show_default=False
        ),
    ] = None,
    category_map: Annotated[
        Optional[Path],
        typer.Option(
            "--category-map",
            help="YAML file mapping feed categories to yours, e.g. `AI: Artificial Intelligence`.",
            show_default=False,
        ),
    ] = None,
    default_category: Annotated[
        str, typer.Option("--default-category", help="Category of entries that have none.")
    ] = "News",
    since: Annotated[
        Optional[str], typer.Option(help="Skip entries dated before this day (YYYY-MM-DD).", show_default=False)
    ] = None,
    url: Annotated[
        Optional[str],
        typer.Option(
            "--url",
            help="Address of an article page that has no link of its own (one page at a time).",
            show_default=False,
        ),
    ] = None,
    page_date: Annotated[
        Optional[str],
        typer.Option(
            "--date",
            help="Date of article pages that carry none (YYYY-MM-DD or ISO datetime); by default the import date.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be imported; write nothing.")] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update", help="Rewrite imported files whose entry changed at the source, unless you edited them."
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a URL.")] = 20.0,
    max_size: Annotated[float, typer.Option("--max-size", help="Largest feed or page to read, in MB.")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    today: Annotated[Optional[str], typer.Option(hidden=True, help="Pretend today is this date (for tests).")] = None,
) -> None:
    """Import feeds and article pages as article files: each story once, never over your edits.

    New files go to <content>/imported/<week>/; importing the same feed again adds nothing.

    Example: [bold]digest import https://example.com/feed.xml page.html --category-map categories.yaml[/]
    """
    from datetime import datetime, time

    from digest.errors import Problem, UsageError
    from digest.importer import IMPORT_FOLDER, import_sources, load_category_map

    def when(value: str, flag: str) -> Any:
        try:
            return date.fromisoformat(value) if len(value.strip()) == 10 else datetime.fromisoformat(value)
        except ValueError:
            problem = Problem("command line", flag, f"{value!r} is not a date", "write e.g. 2026-11-24")
            raise UsageError(f"{flag} must be a date (YYYY-MM-DD)", [problem]) from None

    config = config_here()
    with reporting():
        tz = config.tz()
        since_day = when(since, "--since") if since else None
        if isinstance(since_day, datetime):
            since_day = since_day.date()
        day = when(page_date, "--date") if page_date else None
        if isinstance(day, datetime) and day.tzinfo is None:
            day = day.replace(tzinfo=tz)
        now = datetime.now(tz) if today is None else datetime.combine(when(today, "--today"), time(12), tzinfo=tz)
        content_dir = content or config.content_dir
        report = import_sources(
            sources,
            into or content_dir / IMPORT_FOLDER,
            now=now,
            content=content_dir,
            category_map=load_category_map(category_map) if category_map else None,
            default_category=default_category,
            since=since_day,
            dry_run=dry_run,
            update=update,
            page_url=url,
            page_date=day,
            timeout=timeout,
            max_bytes=int(max_size * 1_000_000),
        )
    counts = report.counts()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        colours = {
            "added": "green",
            "updated": "cyan",
            "changed": "yellow",
            "duplicate": "dim",
            "skipped": "dim",
            "failed": "red",
        }
        table = Table(
            title=Text(f"import into {report.into}" + (" (dry run: nothing written)" if report.dry_run else ""))
        )
        for column in ("status", "title", "file or reason"):
            table.add_column(column, overflow="fold")
        for item in report.items:
            detail = item.reason if item.status in ("failed", "skipped", "changed") or not item.path else item.path
            table.add_row(Text(item.status, style=colours[item.status]), Text(item.title), Text(detail))
        Console(highlight=False).print(table)
        problems = report.problems()
        if problems:
            failed = (
                f"{counts['failed_sources']} source(s) and {counts['failed']} entry(ies) failed; the rest was imported"
            )
            print_problems(problems, heading=None if report.ok else failed)
        summary = ", ".join(
            f"{counts[s]} {s}" for s in ("added", "updated", "changed", "duplicate", "skipped", "failed")
        )
        typer.echo(("dry run, nothing written: " if report.dry_run else f"imported into {report.into}: ") + summary)
    if not report.ok:
        raise typer.Exit(1)


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
