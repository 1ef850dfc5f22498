"""The launcher's serving (app/serving.py): Streamlit's page code from memory, and its elements' code at once.

The middlewares are called as the server calls them (ASGI), around a stand-in for Streamlit that says when it
was asked; then, in Debian's Chromium, a fresh server's first page, with and without them.
"""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import pytest
from test_e2e import wait_for_page

from app import scripts, serving
from serve import CHROMIUM, serve

ENTRY = next((serving.STREAMLIT_STATIC / "static" / "js").glob("index.*.js"))
BUNDLE = serving.APP_STATIC / "plotly-sae.min.js"
PAGE = b'<html><head><script type="module" crossorigin src="./static/js/index.X.js"></script></head></html>'


class Streamlit:
    """Stands in for Streamlit's app: answers `body` with `headers`, and counts what it was asked."""

    def __init__(self, body: bytes = b"streamlit", headers=(("content-type", "text/plain"),), pieces: int = 1):
        self.asked: list[str] = []
        self.body, self.headers, self.pieces = body, headers, pieces

    async def __call__(self, scope, receive, send):
        self.asked.append(scope["path"])
        headers = [(k.encode(), v.encode()) for k, v in self.headers]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        step = max(1, len(self.body) // self.pieces)
        chunks = [self.body[i : i + step] for i in range(0, len(self.body), step)] or [b""]
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})


def _get(app, path: str, method: str = "GET", headers: dict | None = None) -> tuple[dict, bytes]:
    """(headers, body) of `app`'s answer to one request."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert all(m.get("more_body") for m in sent[1:-1]) and not sent[-1].get("more_body")
    return {k.decode(): v.decode() for k, v in sent[0]["headers"]}, b"".join(m.get("body", b"") for m in sent[1:])


# ------------------------------------------------------------------ the page code, from memory
def test_streamlits_page_code_and_the_bundle_come_from_memory_whole_with_streamlits_headers():
    inner = Streamlit()
    app = serving.FilesFromMemory(inner)
    headers, body = _get(app, f"/static/js/{ENTRY.name}")
    assert body == ENTRY.read_bytes()
    assert headers == {
        "content-type": "application/javascript",
        "content-length": str(len(body)),
        "cache-control": "public, immutable, max-age=31536000",
    }
    css = next((serving.STREAMLIT_STATIC / "static" / "css").glob("*.css"))
    headers, body = _get(app, f"/static/css/{css.name}")
    assert body == css.read_bytes() and headers["content-type"] == "text/css; charset=utf-8"
    headers, body = _get(app, "/" + scripts.BUNDLE_URL)
    assert body == BUNDLE.read_bytes()
    assert headers["access-control-allow-origin"] == "*" and "cache-control" not in headers
    assert inner.asked == [], "Streamlit was not asked"


@pytest.mark.parametrize(
    "path, method, headers",
    [
        ("/static/js/../../config.py", "GET", {}),  # outside the folder
        ("/static/js/..%2F..%2Fconfig.py", "GET", {}),
        ("/static/js/.hidden.js", "GET", {}),
        ("/static/js/no-such-file.abc.js", "GET", {}),
        ("/static/media/anything.woff2", "GET", {}),  # not code: Streamlit's own answer
        ("/app/static/../serving.py", "GET", {}),
        ("/_stcore/health", "GET", {}),
        (f"/static/js/{ENTRY.name}", "HEAD", {}),
        (f"/static/js/{ENTRY.name}", "GET", {"Range": "bytes=0-9"}),  # part of it: Streamlit answers
        (f"/static/js/{ENTRY.name}", "GET", {"If-None-Match": '"x"'}),
    ],
)
def test_anything_else_is_streamlits_to_answer(path, method, headers):
    inner = Streamlit()
    _get(serving.FilesFromMemory(inner), path, method, headers)
    assert inner.asked == [path]


def test_under_a_base_path_the_files_are_found_there_and_app_static_only_when_streamlit_serves_it(monkeypatch):
    inner = Streamlit()
    app = serving.FilesFromMemory(inner)
    monkeypatch.setattr(serving, "_base_path", lambda: "/talk")
    assert _get(app, f"/talk/static/js/{ENTRY.name}")[1] == ENTRY.read_bytes()
    _get(app, f"/static/js/{ENTRY.name}")
    assert inner.asked == [f"/static/js/{ENTRY.name}"]
    monkeypatch.setattr(serving, "_app_static_served", lambda: False)
    _get(app, "/talk/" + scripts.BUNDLE_URL)
    assert inner.asked[-1] == "/talk/" + scripts.BUNDLE_URL


def test_a_file_changed_while_the_server_runs_is_sent_as_it_is_now(tmp_path, monkeypatch):
    monkeypatch.setattr(serving, "APP_STATIC", tmp_path)
    app = serving.FilesFromMemory(Streamlit())
    f = tmp_path / "code.js"
    f.write_text("one();")
    assert _get(app, "/app/static/code.js")[1] == b"one();"
    f.write_text("two(2);")
    assert _get(app, "/app/static/code.js")[1] == b"two(2);"


# ------------------------------------------------------------------ the elements' code, at once
def test_react_is_found_where_streamlits_entry_script_imports_it_from():
    found = serving.react_import()
    assert found is not None, "Streamlit's page changed: app/serving.py no longer finds React"
    chunk, export = found
    text = (ENTRY.parent / chunk).read_text()
    assert "react.lazy" in text and f" as {export}" in text.rsplit("export{", 1)[1]
    hook = serving.hook()
    assert hook is not None and f'from "./static/js/{chunk}"'.encode() in hook
    for kind in serving.HOOK_KINDS:
        assert scripts._chunk(kind).encode() in hook, kind


@pytest.mark.parametrize("pieces", [1, 3])
def test_the_hook_goes_into_streamlits_page_just_before_its_entry_script(pieces):
    inner = Streamlit(PAGE, (("content-type", "text/html; charset=utf-8"), ("content-length", str(len(PAGE)))), pieces)
    headers, body = _get(serving.ElementCodeAtOnce(inner), "/filters")
    script = serving.hook()
    assert body == PAGE.replace(serving.ENTRY_TAG, script + serving.ENTRY_TAG)
    assert headers["content-length"] == str(len(body))


@pytest.mark.parametrize(
    "headers",
    [
        (("content-type", "application/javascript"),),
        (("content-type", "text/html"), ("content-encoding", "gzip")),
    ],
)
def test_anything_but_a_plain_html_page_passes_unchanged(headers):
    inner = Streamlit(PAGE, headers, pieces=2)
    assert _get(serving.ElementCodeAtOnce(inner), "/")[1] == PAGE


def test_without_react_found_the_page_is_streamlits_own(monkeypatch):
    monkeypatch.setattr(serving, "hook", lambda: None)
    inner = Streamlit(PAGE, (("content-type", "text/html"),))
    assert _get(serving.ElementCodeAtOnce(inner), "/")[1] == PAGE


def test_the_launcher_serves_through_both_unless_told_not_to(monkeypatch):
    assert [m.cls for m in serving.middleware()] == [serving.ElementCodeAtOnce, serving.FilesFromMemory]
    monkeypatch.setenv("SAE_PLAIN_SERVING", "1")
    assert serving.middleware() == []


# ------------------------------------------------------------------ in the browser
FIGURES = "[data-testid=stMain] .js-plotly-plot .main-svg"  # the overview's four figures, drawn
# every placeholder Streamlit shows for an element whose code has not come (React's Suspense fallback)
PLACEHOLDERS = """(() => { window.__placeholders = 0;
  new MutationObserver((records) => { for (const r of records) for (const n of r.addedNodes)
    if (n.nodeType === 1 && (n.matches('[data-testid=stSkeleton]') || n.querySelector('[data-testid=stSkeleton]')))
      window.__placeholders += 1; }).observe(document, {childList: true, subtree: true}); })()"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
@pytest.mark.parametrize("plain", [False, True], ids=["launcher", "streamlits-own"])
def test_a_fresh_first_page_shows_no_placeholder_for_element_code(tiny_cache, chromium, monkeypatch, plain):
    """On a fresh server's first page no element waits for its code (Streamlit's grey placeholder), and the
    page code came the same; served as Streamlit serves it, the same page shows placeholders (the control)."""
    monkeypatch.setenv("SAE_PLAIN_SERVING", "1" if plain else "0")
    with serve(tiny_cache) as (url, _):
        page = chromium.new_page(viewport={"width": 1280, "height": 720})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(PLACEHOLDERS)
        page.goto(f"{url}/?lambda_k=0&lambda_a=0")
        wait_for_page(page)
        page.wait_for_function(f"() => document.querySelectorAll('{FIGURES}').length >= 4", timeout=60_000)
        placeholders = page.evaluate("() => window.__placeholders")
        figures = page.locator(FIGURES).count()
        page.close()
        with urllib.request.urlopen(f"{url}/static/js/{ENTRY.name}") as answer:
            assert answer.read() == ENTRY.read_bytes()
            assert answer.headers["content-type"] == "application/javascript"
            assert answer.headers["cache-control"] == "public, immutable, max-age=31536000"
    assert figures >= 4 and not errors, errors
    assert (placeholders > 0) if plain else (placeholders == 0), placeholders
