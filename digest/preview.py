"""`digest preview`: a local server that shows an issue as it is built, and rebuilds on save.

Stack: the standard library's `ThreadingHTTPServer`. The preview serves a few
pages and the outputs of builds held in memory, to one editor on loopback;
a thread per request is plenty, and it adds no dependency. Files are watched
with `watchfiles` (a Rust notify backend, debounced), which is well kept and
already what uvicorn and others rely on.

Nothing on disk is served by path: the built files are looked up by name in
the in-memory build, so no request can reach a file outside it.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from digest.build import IssueRequest, build_issue, plan_issue
from digest.config import Config, load_config
from digest.content import ID_PATTERN, list_issue_files
from digest.errors import DigestError
from digest.render import GMAIL_CLIP_BYTES, RenderedIssue

DEFAULT_SLUG = "_default"
CONTENT_TYPES = {
    "email.html": "text/html; charset=utf-8",
    "web.html": "text/html; charset=utf-8",
    "email.txt": "text/plain; charset=utf-8",
    "email.mjml": "text/plain; charset=utf-8",
    "email.eml": "text/plain; charset=utf-8",
    "manifest.json": "application/json; charset=utf-8",
}


@dataclass
class IssueState:
    """One previewed issue: the last good build, the last error, and a version that changes on every rebuild."""

    request: IssueRequest
    rendered: RenderedIssue | None = None
    error: dict[str, Any] | None = None
    version: int = 0
    built_at: float = 0.0


@dataclass
class Previewer:
    """Builds issues on demand and rebuilds the ones being previewed when files change."""

    root: Path
    base_request: IssueRequest = field(default_factory=IssueRequest)
    states: dict[str, IssueState] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    on_rebuild: Callable[[str, IssueState], None] | None = None
    # The web archive (`/site/`), built in memory on first request and dropped on every change.
    site_build: tuple[Any, dict[str, Any] | None] | None = None

    def config(self) -> Config:
        return load_config(self.root)

    def request_for(self, slug: str) -> IssueRequest:
        from dataclasses import replace

        return replace(self.base_request, issue=None if slug == DEFAULT_SLUG else slug)

    def state(self, slug: str) -> IssueState:
        """The state of one issue, built the first time it is asked for."""
        with self.lock:
            state = self.states.get(slug)
            if state is None:
                state = IssueState(self.request_for(slug))
                self.states[slug] = state
                self._build(slug, state)
            return state

    def rebuild_all(self) -> None:
        with self.lock:
            self.site_build = None
            for slug, state in self.states.items():
                self._build(slug, state)

    def _build(self, slug: str, state: IssueState) -> None:
        try:
            state.rendered = build_issue(self.config(), state.request)
            state.error = None
        except DigestError as exc:
            # Keep the last good build on screen; show what broke above it.
            state.error = {"message": exc.message, "problems": [p.to_dict() for p in exc.problems]}
        except Exception as exc:  # a bug or an unreadable file must not take the server down
            state.error = {"message": f"{type(exc).__name__}: {exc}", "problems": []}
        state.version += 1
        state.built_at = time.time()
        if self.on_rebuild:
            self.on_rebuild(slug, state)

    def site(self) -> tuple[Any, dict[str, Any] | None]:
        """The web archive as `digest site` builds it, in memory: (the `Site`, None) or (None, the error)."""
        from digest.site import render_site

        with self.lock:
            if self.site_build is None:
                try:
                    self.site_build = (render_site(self.config(), today=self.base_request.today), None)
                except DigestError as exc:
                    self.site_build = (None, {"message": exc.message, "problems": [p.to_dict() for p in exc.problems]})
                except Exception as exc:  # a bug or an unreadable file must not take the server down
                    self.site_build = (None, {"message": f"{type(exc).__name__}: {exc}", "problems": []})
            return self.site_build

    def issue_slugs(self) -> list[str]:
        try:
            return [p.stem for p in list_issue_files(self.config().issues_dir)]
        except DigestError:
            return []

    def watched_paths(self) -> list[Path]:
        """The content, issue definitions, templates and config: what a rebuild depends on."""
        from digest.render import BUNDLED_TEMPLATES

        config = self.config()
        paths = [config.content_dir, config.issues_dir, config.templates_dir, BUNDLED_TEMPLATES, self.root]
        if self.base_request.content:
            paths.append(self.base_request.content)
        return [p for p in paths if p.exists()]


def is_relevant(path: str) -> bool:
    """Changes worth a rebuild: articles, issue definitions, templates and config files."""
    name = Path(path).name
    if name.startswith(".") or name.endswith((".tmp", "~", ".swp")):
        return False
    if any(part in ("build", ".git", ".venv", "node_modules", "__pycache__") for part in Path(path).parts):
        return False
    return name.endswith((".yaml", ".yml", ".md", ".j2", ".toml"))


def watch(previewer: Previewer, stop: threading.Event, on_change: Callable[[set[str]], None] | None = None) -> None:
    """Rebuild every previewed issue whenever a relevant file changes, until `stop` is set."""
    from watchfiles import watch as watch_files

    paths = previewer.watched_paths()
    for changes in watch_files(*paths, stop_event=stop, debounce=150, step=50, recursive=True, raise_interrupt=False):
        changed = {path for _, path in changes if is_relevant(path)}
        if not changed:
            continue
        previewer.rebuild_all()
        if on_change:
            on_change(changed)


# --- pages ------------------------------------------------------------------


def page(title: str, body: str, script: str = "") -> bytes:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · digest preview</title><style>{PREVIEW_CSS}</style></head>"
        f"<body>{body}{f'<script>{script}</script>' if script else ''}</body></html>"
    ).encode()


PREVIEW_CSS = """
body{margin:0;font:15px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1a1d21}
header{display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:10px 16px;background:#1a1d21;color:#fff}
header a{color:#fff}
header h1{font-size:16px;margin:0 12px 0 0}
.group{display:flex;gap:4px}
button{font:inherit;padding:4px 10px;border:1px solid #888;border-radius:4px;background:#fff;color:#1a1d21;cursor:pointer}
button[aria-pressed=true]{background:#0b57b7;color:#fff;border-color:#0b57b7}
#error{display:none;margin:12px 16px;padding:10px 14px;border-left:4px solid #b00020;background:#fde7ea;color:#5f0010}
#error.on{display:block}
#error pre{white-space:pre-wrap;margin:6px 0 0;font-size:13px}
#stage{display:flex;justify-content:center;padding:16px}
iframe{border:1px solid #ccd;background:#fff;height:calc(100vh - 140px);max-width:100%}
main{max-width:900px;margin:0 auto;padding:16px}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border:1px solid #dde;padding:4px 8px;text-align:left;font-size:14px}
.status{font-size:13px;opacity:.8}
"""

ISSUE_SCRIPT = """
const slug = document.body.dataset.slug;
const frame = document.getElementById('frame');
const errorBox = document.getElementById('error');
const state = Object.assign({view: 'email', width: '700', scheme: 'light'},
  Object.fromEntries(new URLSearchParams(location.hash.slice(1))));
let version = Number(document.body.dataset.version);
function src() {
  const file = {email: 'email.html', text: 'email.txt', web: 'web.html', manifest: 'manifest'}[state.view] || 'email.html';
  return '/issue/' + slug + '/' + (file === 'manifest' ? 'manifest' : 'files/' + file) + '?v=' + version + '&scheme=' + state.scheme;
}
function apply() {
  frame.style.width = (state.view === 'email' ? state.width : '900') + 'px';
  frame.dataset.scheme = state.scheme;
  for (const b of document.querySelectorAll('button[data-key]')) {
    b.setAttribute('aria-pressed', String(state[b.dataset.key] === b.dataset.value));
  }
  history.replaceState(null, '', '#' + new URLSearchParams(state));
}
function show(next) {
  Object.assign(state, next);
  apply();
  frame.src = src();
}
for (const b of document.querySelectorAll('button[data-key]')) {
  b.addEventListener('click', () => show({[b.dataset.key]: b.dataset.value}));
}
function showError(err, problems) {
  problems = problems || [];
  if (!err && !problems.length) { errorBox.classList.remove('on'); errorBox.textContent = ''; return; }
  errorBox.classList.add('on');
  const all = (err ? err.problems || [] : []).concat(problems);
  const lines = all.map(p => p.path + (p.field ? ' ' + p.field : '') + ': ' + p.message + (p.fix ? ' (' + p.fix + ')' : ''));
  errorBox.innerHTML = '';
  const strong = document.createElement('strong');
  strong.textContent = err ? 'Rebuild failed, showing the last good version: ' + err.message
                           : problems.length + ' file(s) skipped because of problems:';
  const pre = document.createElement('pre');
  pre.textContent = lines.join('\\n');
  errorBox.append(strong, pre);
}
async function poll() {
  try {
    const r = await fetch('/issue/' + slug + '/status', {cache: 'no-store'});
    const s = await r.json();
    showError(s.error, s.problems);
    document.getElementById('status').textContent = 'build ' + s.version + (s.error ? ' (failed)' : '');
    if (s.version !== version) {
      version = s.version;
      if (s.has_build) frame.src = src();
    }
  } catch (e) { document.getElementById('status').textContent = 'server stopped'; }
  setTimeout(poll, 400);
}
showError(JSON.parse(document.getElementById('initial-error').textContent), []);
apply();
frame.src = src();
poll();
"""


def index_page(previewer: Previewer) -> bytes:
    config = previewer.config()
    rows = [
        f"<li><a href='/issue/{html.escape(slug)}/'>{html.escape(slug)}</a> "
        f"<span class='status'>issues/{html.escape(slug)}.yaml</span></li>"
        for slug in previewer.issue_slugs()
    ]

    try:
        # The same planning a build without a definition does (cached content, the config's time zone).
        window = plan_issue(config, previewer.request_for(DEFAULT_SLUG)).selection.window
        default = f"the newest week, {window.label()}"
    except DigestError as exc:
        default = f"unavailable: {exc.message}"
    body = (
        f"<header><h1>{html.escape(config.name)}: preview</h1></header><main>"
        f"<h2>Issues</h2><ul>{''.join(rows) or '<li>No issue definitions in issues/.</li>'}</ul>"
        f"<h2>Without a definition</h2><ul><li><a href='/issue/{DEFAULT_SLUG}/'>{html.escape(default)}</a></li></ul>"
        "<h2>Web archive</h2>"
        "<ul><li><a href='/site/'>Every issue as <code>digest site</code> publishes it</a></li></ul>"
        "</main>"
    )
    return page("Issues", body)


def issue_page(slug: str, state: IssueState) -> bytes:
    def buttons(key: str, options: Iterable[tuple[str, str]]) -> str:
        return (
            "<div class='group' role='group'>"
            + "".join(
                f"<button type='button' data-key='{key}' data-value='{value}'>{label}</button>"
                for value, label in options
            )
            + "</div>"
        )

    controls = (
        buttons("view", [("email", "Email"), ("text", "Text"), ("web", "Web"), ("manifest", "Manifest")])
        + buttons("width", [("700", "Desktop 700"), ("375", "Phone 375")])
        + buttons("scheme", [("light", "Light"), ("dark", "Dark")])
    )
    error_json = json.dumps(state.error).replace("<", "\\u003c")
    body = (
        f"<header><h1><a href='/'>digest</a> · {html.escape(slug)}</h1>{controls}"
        f"<span id='status' class='status'>build {state.version}</span></header>"
        "<div id='error' role='alert'></div>"
        f"<script type='application/json' id='initial-error'>{error_json}</script>"
        "<div id='stage'><iframe id='frame' title='Issue preview'></iframe></div>"
    )
    markup = page(slug, body, ISSUE_SCRIPT)
    return markup.replace(
        b"<body>", f"<body data-slug='{html.escape(slug)}' data-version='{state.version}'>".encode(), 1
    )


def manifest_page(slug: str, state: IssueState) -> bytes:
    if state.rendered is None:
        return page("Manifest", "<main><p>No build yet.</p></main>")
    manifest = state.rendered.manifest
    rows = "".join(
        f"<tr><td>{html.escape(a['role'])}</td><td>{html.escape(a['id'])}</td><td>{html.escape(a['title'])}</td></tr>"
        for a in manifest["articles"]
    )
    sizes = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{size:,}</td>"
        f"<td>{(f'{size / GMAIL_CLIP_BYTES:.0%} of 102 KB' if name == 'email.html' else '')}</td></tr>"
        for name, size in manifest["sizes"].items()
    )
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in manifest["warnings"]) or "<li>none</li>"
    body = (
        f"<main><h2>{html.escape(manifest['title'])}</h2>"
        f"<p>Window {html.escape(manifest['window']['since'])} to {html.escape(manifest['window']['until'])}</p>"
        f"<h3>Articles</h3><table><tr><th>role</th><th>id</th><th>title</th></tr>{rows}</table>"
        f"<h3>Sizes</h3><table><tr><th>file</th><th>bytes</th><th>Gmail clipping</th></tr>{sizes}</table>"
        f"<h3>Warnings</h3><ul>{warnings}</ul></main>"
    )
    return page(f"{slug} manifest", body)


_DARK_QUERY = re.compile(rb"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)")


def force_scheme(html_bytes: bytes, scheme: str) -> bytes:
    """The page as a reader in `scheme` sees it, whatever the previewing browser prefers.

    The dark-mode rules are switched on (`@media all`) or off (`@media not all`);
    the built file itself is not changed.
    """
    return _DARK_QUERY.sub(b"@media all" if scheme == "dark" else b"@media not all", html_bytes)


# --- the server -------------------------------------------------------------


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "digest-preview"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        if self.server.verbose:
            super().log_message(format, *args)

    def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: N802 - the stdlib's name
        try:
            status, content_type, body, *extra = self.route(self.path)
        except Exception as exc:  # never let one request take the server down
            status, content_type, body, extra = 500, "text/plain; charset=utf-8", f"internal error: {exc}".encode(), []
        self.send_response(status)
        for name, value in (extra[0] if extra else {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def route(self, raw_path: str) -> tuple[int, str, bytes] | tuple[int, str, bytes, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        previewer = self.server.previewer
        not_found = (404, "text/plain; charset=utf-8", b"not found")
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", index_page(previewer)
        if path == "/site" or path.startswith("/site/"):
            return site_route(previewer, path.removeprefix("/site"), parse_qs(parts.query).get("scheme", [""])[0])
        match = re.fullmatch(r"/issue/([^/]+)/(|status|manifest|files/([^/]+))", path)
        if not match:
            return not_found
        slug, action, name = match.group(1), match.group(2), match.group(3)
        if not (slug == DEFAULT_SLUG or (ID_PATTERN.match(slug) and slug in previewer.issue_slugs())):
            return not_found
        state = previewer.state(slug)
        if action == "":
            return 200, "text/html; charset=utf-8", issue_page(slug, state)
        if action == "status":
            problems = state.rendered.manifest["problems"] if state.rendered else []
            data = {
                "version": state.version,
                "error": state.error,
                "problems": problems,
                "has_build": state.rendered is not None,
            }
            return 200, "application/json", json.dumps(data).encode()
        if action == "manifest":
            return 200, "text/html; charset=utf-8", manifest_page(slug, state)
        if state.rendered is None or name not in state.rendered.files:
            return not_found
        body = state.rendered.files[name]
        scheme = parse_qs(parts.query).get("scheme", [""])[0]
        if name.endswith(".html") and scheme in ("light", "dark"):
            body = force_scheme(body, scheme)
        return 200, CONTENT_TYPES.get(name, "application/octet-stream"), body


def site_route(previewer: Previewer, rest: str, scheme: str) -> tuple[int, str, bytes, dict[str, str]]:
    """`/site/<path>`: a file of the archive built in memory, looked up by name; nothing is read from disk.

    `site.site_file` matches only names the build produced, so `..`, empty
    segments and backslashes never reach anything else.
    """
    from digest.site import content_type, site_file

    if rest == "":
        return 308, "text/plain; charset=utf-8", b"moved to /site/", {"Location": "/site/"}
    site, error = previewer.site()
    if site is None:
        problems = "".join(
            f"<li>{html.escape(p['path'])} {html.escape(p['field'])}: {html.escape(p['message'])}</li>"
            for p in (error or {}).get("problems", [])
        )
        message = html.escape((error or {}).get("message", ""))
        report = f"<main><h1>The archive cannot be built</h1><p>{message}</p><ul>{problems}</ul></main>"
        return 500, "text/html; charset=utf-8", page("Archive", report), {}
    found = site_file(site.files, rest[1:])
    if found is None:
        # A folder asked for without its slash: send the browser to it, so relative links resolve.
        if not rest.endswith("/") and site_file(site.files, rest[1:] + "/") is not None:
            return 308, "text/plain; charset=utf-8", b"moved", {"Location": f"/site{rest}/"}
        return 404, "text/plain; charset=utf-8", b"not found", {}
    name, body = found
    if name.endswith(".html") and scheme in ("light", "dark"):
        body = force_scheme(body, scheme)
    return 200, content_type(name), body, {}


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], previewer: Previewer, verbose: bool = False) -> None:
        super().__init__(address, PreviewHandler)
        self.previewer = previewer
        self.verbose = verbose


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def serve(
    previewer: Previewer,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    ready: Callable[[PreviewServer], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the preview server and the file watcher until `stop` is set or Ctrl-C."""
    import watchfiles  # noqa: F401 - fail here, loudly, rather than in the watcher thread

    stop = stop or threading.Event()
    server = PreviewServer((host, port), previewer)
    watcher = threading.Thread(target=watch, args=(previewer, stop), name="digest-watch", daemon=True)
    watcher.start()
    server_thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    server_thread.start()
    if ready:
        ready(server)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        watcher.join(timeout=5)


def watch_and_build(
    previewer: Previewer,
    slug: str,
    write: Callable[[RenderedIssue], None],
    report: Callable[[IssueState], None],
    stop: threading.Event,
) -> None:
    """`digest build --watch`: build once, then again after every relevant change, until `stop`."""

    def after(changed_slug: str, state: IssueState) -> None:
        if state.error is None and state.rendered is not None:
            write(state.rendered)
        report(state)

    previewer.on_rebuild = after
    previewer.state(slug)
    watch(previewer, stop)
