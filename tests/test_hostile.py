"""Hostile content, faults and load: nothing injected, nothing lost, the server stays up."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
import yaml

from digest.build import IssueRequest, build_issue, plan_issue, write_outputs
from digest.config import load_config
from digest.content import load_articles
from digest.errors import ContentError

TODAY = date(2026, 11, 28)
ROOT = Path(__file__).resolve().parents[1]


class Tags:
    """Tag names, attribute names and URLs of a document, from a real parser."""

    def __init__(self) -> None:
        from html.parser import HTMLParser

        self.names: list[str] = []
        self.attributes: list[str] = []
        self.urls: list[str] = []
        self.in_body = False
        parser = HTMLParser()
        parser.handle_starttag = self._start  # type: ignore[method-assign]
        self.feed = parser.feed

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        self.names.append("style-in-body" if tag == "style" and self.in_body else tag)
        for key, value in attrs:
            self.attributes.append(key)
            if key in ("href", "src") and value:
                self.urls.append(value)


def base_article(i: int = 0, **fields: object) -> dict:
    return {
        "title": f"Story {i}",
        "url": f"https://news.example.com/s{i}",
        "date": "2026-11-25",
        "source": "Example",
        "categories": ["AI"],
        "summary": "A summary.",
        **fields,
    }


def newsletter(tmp_path: Path, articles: dict[str, dict | str | bytes], config: str = "") -> Path:
    (tmp_path / "content").mkdir(parents=True, exist_ok=True)
    (tmp_path / "digest.yaml").write_text(
        "name: Hostile Weekly\ncontent: content\ncache: 'off'\n" + config, encoding="utf-8"
    )
    for name, body in articles.items():
        path = tmp_path / "content" / name
        if isinstance(body, bytes):
            path.write_bytes(body)
        elif isinstance(body, str):
            path.write_text(body, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return tmp_path


def build(root: Path, **overrides: object):
    request = IssueRequest(overrides={"week": "2026-W48", **overrides}, today=TODAY)
    return build_issue(load_config(root), request)


# --- hostile content through load, render, text, eml and export -------------------------------

HOSTILE = {
    "title": "<style>body{display:none}</style><iframe src=//evil></iframe> \u202eevil\u200b {% raw %}{{ 7*7 }}",
    "summary": '<img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a> [data](data:text/html;base64,PHNjcmlwdD4=) '
    "<![CDATA[ ]]> <mj-raw><p>raw</p></mj-raw> {% for x in range(9) %}loop{% endfor %}",
    "key_takeaways": [
        "Label: <script>alert(1)</script>",
        {"label": "</mj-text>", "text": "on*=<b onclick=alert(1)>b</b>"},
    ],
    "impact": "<svg onload=alert(1)>",
    "source": "Evil <script>",
}


def test_hostile_article_is_text_in_every_output(tmp_path: Path) -> None:
    from digest.export import export_issue

    root = newsletter(tmp_path, {"evil.yaml": base_article(0, **HOSTILE), "ok.yaml": base_article(1)})
    rendered = build(root, subject="Hi\r\nBcc: victim@example.com")
    for name in ("email.html", "web.html", "email.mjml"):
        out = rendered.files[name].decode()
        tags = Tags()
        tags.feed(out)
        assert not {"script", "iframe", "svg", "style-in-body", "mj-raw"} & set(tags.names) - (
            {"mj-raw"} if name == "email.mjml" else set()
        ), name
        assert not [a for a in tags.attributes if a.startswith("on")], name
        assert not [u for u in tags.urls if u.lower().startswith(("javascript:", "data:"))], name
        assert "&lt;script&gt;" in out and "&lt;iframe" in out, name
        assert "\u202e" not in out and "\u200b" not in out, name
        assert "{{ 7*7 }}" in out and "{% for x in range(9) %}loop{% endfor %}" in out and "looploop" not in out, name
    text = rendered.files["email.txt"].decode()
    assert "<script>alert(1)</script>" in text, "the text version shows the text as written"
    assert "javascript:" not in text.split("Links:")[1]
    msg = email.message_from_bytes(rendered.files["email.eml"], policy=email.policy.default)
    assert msg["Bcc"] is None
    for esp in ("mailchimp", "sendgrid"):
        exported = export_issue(
            plan_issue(load_config(root), IssueRequest(overrides={"week": "2026-W48"}, today=TODAY)), esp
        )
        assert "<script" not in exported.files["email.html"].decode().lower()


def test_header_injection_through_the_config_is_refused(tmp_path: Path) -> None:
    from digest.errors import ConfigError

    root = newsletter(
        tmp_path,
        {"a.yaml": base_article()},
        config='sender: {name: "Evil\\r\\nBcc: x@example.com", email: "a@example.com"}\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert any(p.field == "sender.name" for p in info.value.problems)
    root2 = newsletter(
        tmp_path / "two",
        {"a.yaml": base_article()},
        config='sender: {name: "N", email: "a@example.com\\r\\nBcc: x@example.com"}\n',
    )
    with pytest.raises(ConfigError):
        load_config(root2)


BILLION_LAUGHS = textwrap.dedent(
    """\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    title: *g
    id: *g
    categories: *g
    url: https://news.example.com/lol
    date: 2026-11-25
    source: x
    summary: x
    """
)


@pytest.mark.parametrize(
    ("name", "body", "field", "words"),
    [
        ("bomb.yaml", BILLION_LAUGHS, "", "aliases"),
        ("binary.yaml", b"\x00\x01\x02\xff" * 100, "", "binary"),
        ("latin1.yaml", "title: Caf\xe9\n".encode("latin-1"), "", "UTF-8"),
        ("huge-title.yaml", {**base_article(7), "title": "x" * 1_000_000}, "title", "characters long"),
        ("nested.md", "---\n" + yaml.safe_dump(base_article(8)) + "---\n" + "> " * 5000 + "deep\n", None, None),
        ("badid.yaml", {**base_article(9), "id": "../../x"}, "id", "not a valid id"),
        ("abs-id.yaml", {**base_article(10), "id": "/etc/passwd"}, "id", "not a valid id"),
        ("bidi-url.yaml", {**base_article(11), "url": "https://news.example.com/\u202egnp.exe"}, "url", "invisible"),
        ("js-url.yaml", {**base_article(12), "url": "javascript:alert(1)"}, "url", "not an http"),
        (
            "data-img.yaml",
            {**base_article(13), "image": {"src": "data:image/png;base64,AAAA", "alt": "x"}},
            "image.src",
            "not an http",
        ),
    ],
)
def test_hostile_files_are_reported_and_the_rest_loads(
    tmp_path: Path, name: str, body, field: str | None, words: str | None
) -> None:
    root = newsletter(tmp_path, {"good.yaml": base_article(1, title="The good one"), name: body})
    started = time.perf_counter()
    result = load_articles(root / "content")
    assert time.perf_counter() - started < 10, "no exponential blow-up"
    assert "The good one" in [a.title for a in result.articles]
    mine = [p for p in result.problems if p.path.endswith(name)]
    if words is None:  # accepted, and harmless
        assert len(result.articles) == 2
        rendered = build(root)
        assert b"deep" in rendered.files["web.html"] or b"deep" not in rendered.files["email.html"]
    else:
        assert mine and any(words in p.message for p in mine), [str(p) for p in result.problems]
        assert all(p.field == field for p in mine if p.severity == "error") or field == ""


def test_symlink_out_of_the_content_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(yaml.safe_dump(base_article(5, title="Secret from outside")), encoding="utf-8")
    root = newsletter(tmp_path / "news", {"a.yaml": base_article()})
    (root / "content" / "link.yaml").symlink_to(secret)
    (root / "content" / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    result = load_articles(root / "content")
    assert "Secret from outside" not in [a.title for a in result.articles]
    assert any(p.path.endswith("link.yaml") and "outside" in p.message for p in result.problems)


def test_issue_slugs_and_names_cannot_escape(tmp_path: Path) -> None:
    from digest.content import find_issue_file

    root = newsletter(tmp_path, {"a.yaml": base_article()})
    (root / "issues").mkdir()
    for name in ("../x", "/etc/passwd", "..", "a/b"):
        with pytest.raises(ContentError):
            find_issue_file(name, root / "issues")
    (root / "issues" / "bad name!.yaml").write_text("week: 2026-W48\n", encoding="utf-8")
    from digest.content import load_issue_spec

    with pytest.raises(ContentError, match="problem"):
        load_issue_spec(root / "issues" / "bad name!.yaml")


# --- faults ---------------------------------------------------------------------------------


def test_ctrl_c_while_writing_leaves_the_previous_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = newsletter(tmp_path, {"a.yaml": base_article()})
    rendered = build(root)
    out = tmp_path / "out"
    write_outputs(rendered, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = os.replace, []

    def interrupted(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    changed = type(rendered)(rendered.slug, {k: v + b"!" for k, v in rendered.files.items()}, rendered.manifest)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(changed, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_sigint_during_a_real_build_process(tmp_path: Path) -> None:
    """A build interrupted by Ctrl-C exits 130 with no traceback and no temporary files."""
    articles = {f"a{i:04d}.yaml": base_article(i, title=f"Story {i} " + "word " * 40) for i in range(3000)}
    root = newsletter(tmp_path, articles)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "build", "--week", "2026-W48", "--out", str(out)],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    if out.exists():
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_two_builds_of_the_same_issue_at_once(tmp_path: Path) -> None:
    root = newsletter(tmp_path, {f"a{i}.yaml": base_article(i) for i in range(20)})
    out = tmp_path / "out"
    code = "import sys; from digest.cli import run; sys.argv = ['digest', 'build', '--week', '2026-W48', '--out', sys.argv[1], '--today', '2026-11-28']; run()"  # noqa: E501
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=root, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    expected = build(root).files
    assert {p.name: p.read_bytes() for p in out.iterdir()} == expected


# --- the preview server under load and malformed requests -----------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.fixture
def preview_process(tmp_path: Path):
    root = newsletter(tmp_path, {f"a{i}.yaml": base_article(i, **(HOSTILE if i == 0 else {})) for i in range(12)})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "preview", "--no-open", "--port", str(port), "--week", "2026-W48", "--today", "2026-11-28"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield proc, port
    proc.send_signal(signal.SIGINT)  # Ctrl-C: the server and its watcher stop, exit 0
    try:
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "preview stopped" in out


LOAD_SCRIPT = """
import http.client, sys, threading
from concurrent.futures import ThreadPoolExecutor
port, total, workers = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
paths = ["/", "/issue/_default/", "/issue/_default/status", "/issue/_default/files/email.html", "/issue/_default/files/email.txt", "/missing"]
local = threading.local()
def get(i):
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = paths[i % len(paths)]
    try:
        conn.request("GET", path)
        r = conn.getresponse(); r.read()
        return r.status == (404 if path == "/missing" else 200)
    except Exception:
        local.conn = None
        return False
with ThreadPoolExecutor(workers) as pool:
    ok = sum(pool.map(get, range(total)))
print(ok)
"""


def test_preview_under_load_from_another_process(preview_process) -> None:
    proc, port = preview_process
    warm = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(port), "300", "10"], capture_output=True, text=True, timeout=120
    )
    assert warm.stdout.strip() == "300", warm.stderr
    before = rss_kb(proc.pid)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(port), "5000", "50"], capture_output=True, text=True, timeout=300
    )
    elapsed = time.perf_counter() - started
    after = rss_kb(proc.pid)
    print(
        f"\n5,000 requests, 50 concurrent: {elapsed:.1f} s ({5000 / elapsed:,.0f} req/s); RSS {before:,} KB -> {after:,} KB"
    )
    assert result.stdout.strip() == "5000", result.stderr
    assert after < before + 30_000, "memory stays steady under load"
    assert proc.poll() is None


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"b" * 70000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(200)) + b"\r\n",
        b"POST /issue/_default/ HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /issue/_default/files/email.html HTTP/1.1\r\nHost: x\r\n",  # never finished
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
    ],
)
def test_malformed_requests_do_not_hurt_the_server(preview_process, raw: bytes) -> None:
    proc, port = preview_process
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            sock.recv(65536)
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/issue/_default/status")
    assert conn.getresponse().status == 200
    assert proc.poll() is None


def test_preview_pages_do_not_run_article_text(preview_process) -> None:
    import http.client

    _, port = preview_process
    for path in (
        "/",
        "/issue/_default/",
        "/issue/_default/manifest",
        "/issue/_default/files/email.html",
        "/issue/_default/files/web.html",
    ):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        body = conn.getresponse().read().decode()
        tags = Tags()
        tags.feed(body)
        assert not {"svg", "img"} & set(tags.names), path
        assert tags.names.count("iframe") == (1 if path == "/issue/_default/" else 0), "only the preview's own frame"
        assert not [a for a in tags.attributes if a.startswith("on")], path
        assert "\u202e" not in body, path
