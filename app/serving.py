"""How the launcher's server hands a fresh browser Streamlit's page and its code: two ASGI middlewares.

Both serve the first page sooner on a freshly opened tab, which is when a presenter opens the dashboard
(bench/app_latency.py's "first page"); they change nothing a visitor sees. Without them (`streamlit run
app/dashboard.py`, or a Streamlit whose page is not what they expect) the dashboard is served as Streamlit
serves it.

* `FilesFromMemory`: Streamlit's page code (<base>/static/js, /static/css: files whose names carry their
  content's hash, cached by the browser for a year) and the dashboard's Plotly bundle (<base>/app/static/,
  app/scripts.py) are sent from memory in one piece. Streamlit sends a file in 64 KB pieces, each read in a
  worker thread, and each piece then waits for the GIL while the same process runs the first page's script
  (and, earlier, the start-up work: app/startup.py): the 1.6 MB bundle took 0.1-0.3 s to arrive on the
  2-core development machine. A request that asks for part of a file or only if it changed, a name that
  is not a plain file name there, and every other path go to Streamlit.
* `ElementCodeAtOnce`: Streamlit's page fetches each kind of element's code (slider, radio, the figures'
  component...) with React's `lazy`, the first time an element of that kind is drawn, and shows a grey
  placeholder until it has come. React then shows what was waiting no sooner than 500 ms after the last
  placeholder appeared (React 18's FALLBACK_THROTTLE_MS), and on a first page placeholders keep
  appearing as the run's elements arrive: the first page's widgets and figures were held back together,
  0.3-0.6 s after their code had come (and the page's own scripts with them, so Plotly began loading that
  much later). A small module put before Streamlit's own in its index.html (`HOOK`) notes the `lazy`
  components of the kinds every page shows (app/scripts.py: ELEMENT_KINDS, and the page's scripts'
  element, Html) and starts loading their code as Streamlit's entry script makes them, while the page
  itself loads: it has come before their first element does, and none of them shows a placeholder.
  It finds React where Streamlit's own entry script imports it from (`react_import`), read from the
  installed Streamlit's files when the server starts.

Measured on the 2-core development machine, full grid (README: Speed): the first page drawn, opened as the
server answers, median 3.39 -> 2.81 s over 12 fresh servers each (bench/app_latency.py --first-pages 6, twice,
against the release before); in a loop of launches alternating with SAE_PLAIN_SERVING=1 (ten each), from the
page's connection to the page drawn 1.16-1.60 -> 0.94-1.14 s.
"""

from __future__ import annotations

import json
import logging
import os
import re
from functools import cache
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from app import scripts

log = logging.getLogger("app.serving")

STREAMLIT_STATIC = Path(st.__file__).parent / "static"
APP_STATIC = Path(__file__).parent / "static"
# the headers Streamlit 1.67 sends with each (measured with curl), so that a file comes the same either way
CODE_TYPES = {".js": "application/javascript", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, immutable, max-age=31536000"  # Streamlit's for its hashed files
APP_STATIC_HEADERS = [(b"access-control-allow-origin", b"*"), (b"x-content-type-options", b"nosniff")]
CONDITIONAL = (b"range", b"if-none-match", b"if-modified-since", b"if-range")  # Streamlit answers these itself
PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
ENTRY_TAG = b'<script type="module" crossorigin src="./static/js/index.'  # Streamlit's entry script in index.html
HOOK_KINDS = (*scripts.ELEMENT_KINDS, "Html")  # the page's scripts are an Html element: the first to arrive


def _base_path() -> str:
    """Streamlit's server.baseUrlPath as a path prefix: "" or "/some/path"."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _app_static_served() -> bool:
    from streamlit import config

    return bool(config.get_option("server.enableStaticServing"))


def _file_under(root: Path, rel: str) -> Path | None:
    """`root`/`rel` if `rel` is made of plain names (no "..", no hidden file) and names a file there; else None."""
    parts = rel.split("/")
    if not all(PLAIN_NAME.match(p) for p in parts):
        return None
    path = root.joinpath(*parts)
    try:
        if path.resolve().is_relative_to(root.resolve()) and path.is_file():
            return path
    except OSError:
        pass
    return None


class FilesFromMemory:
    """ASGI middleware: Streamlit's page code and app/static's JavaScript sent from memory in one message."""

    def __init__(self, app):
        self.app = app
        self._kept: dict[str, tuple[tuple[int, int], bytes]] = {}  # path -> ((size, mtime_ns), contents)

    def _find(self, path: str) -> tuple[Path, list[tuple[bytes, bytes]]] | None:
        base = _base_path()
        if not path.startswith(base + "/"):
            return None
        rel = path[len(base) + 1 :]
        if rel.startswith(("static/js/", "static/css/")):
            file = _file_under(STREAMLIT_STATIC, rel)
            extra = [(b"cache-control", IMMUTABLE.encode())]
        elif rel.startswith("app/static/") and _app_static_served():
            file = _file_under(APP_STATIC, rel[len("app/static/") :])
            extra = APP_STATIC_HEADERS
        else:
            return None
        if file is None or file.suffix not in CODE_TYPES:
            return None
        return file, extra

    def _contents(self, file: Path) -> bytes:
        st_ = file.stat()
        version = (st_.st_size, st_.st_mtime_ns)
        kept = self._kept.get(str(file))
        if kept is None or kept[0] != version:  # a file rebuilt while the server runs is read again
            kept = self._kept[str(file)] = (version, file.read_bytes())
        return kept[1]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            return await self.app(scope, receive, send)
        if any(name.lower() in CONDITIONAL for name, _ in scope.get("headers", ())):
            return await self.app(scope, receive, send)
        found = self._find(scope.get("path", ""))
        if found is None:
            return await self.app(scope, receive, send)
        file, extra = found
        try:
            body = self._contents(file)
        except OSError:
            return await self.app(scope, receive, send)  # Streamlit says what is wrong, as it would have
        headers = [
            (b"content-type", CODE_TYPES[file.suffix].encode()),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# Put before Streamlit's entry script: `react` is the function Streamlit's entry script calls for React's exports
# (a CommonJS module, initialised on the first call); its `lazy` is wrapped before the entry script makes its
# element components, and those whose code is in `chunks` are started at once with React's own initialiser,
# which loads the code and keeps it for the component's first drawing. (Started when the page opens its
# connection instead, the code had not always come when the first elements did: placeholders in 3 of 8 launches.)
HOOK = """import { %(export)s as react } from "./static/js/%(chunk)s";
(function () {
  const React = react(), lazy = React && React.lazy;
  if (typeof lazy !== "function" || lazy.saeStarts) return;
  const chunks = %(chunks)s;
  const starting = function (load) {
    const made = lazy(load);
    if (chunks.some((c) => String(load).includes(c))) {
      try { made._init(made._payload); } catch (loading) { /* on its way: React finds it loaded */ }
    }
    return made;
  };
  starting.saeStarts = true;
  React.lazy = starting;
})();"""


@cache
def react_import() -> tuple[str, str] | None:
    """(chunk, export name): where Streamlit's entry script imports React from; None if it cannot be told.

    The entry script makes its element components with `(0,X.lazy)(...)`, where `X=f(g())` and `g` is
    imported from a chunk (`import{...,g,...}from"./chunk.js"` or `h as g`).
    """
    try:
        entry = next((STREAMLIT_STATIC / "static" / "js").glob("index.*.js"))
        text = entry.read_text(encoding="utf-8")
    except (OSError, StopIteration, UnicodeDecodeError):
        return None
    ns = re.search(r"\(0,([\w$]+)\.lazy\)\(", text)
    if ns is None:
        return None
    made = re.search(rf"[,;\s]{re.escape(ns.group(1))}=[\w$]+\(([\w$]+)\(\)\)", text)
    if made is None:
        return None
    local = made.group(1)
    for names, chunk in re.findall(r'import\{([^}]*)\}from"\./([\w.$-]+\.js)"', text):
        for spec in names.split(","):
            export, _, bound = spec.strip().partition(" as ")
            if (bound or export) == local:
                path = entry.parent / chunk
                try:
                    holds_react = "react.lazy" in path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    return None
                return (chunk, export) if holds_react else None
    return None


@cache
def hook() -> bytes | None:
    """The module put before Streamlit's entry script, as a <script> element; None where React is not found."""
    found = react_import()
    chunks = [c for c in map(scripts._chunk, HOOK_KINDS) if c]
    if found is None or not chunks:
        log.info("Streamlit's page is not as expected: its element code loads as Streamlit loads it")
        return None
    js = HOOK % {"chunk": found[0], "export": found[1], "chunks": json.dumps(chunks)}
    return f"<script type=module>{js}</script>".encode()


class ElementCodeAtOnce:
    """ASGI middleware: Streamlit's index.html (the answer to any page's address) with `hook()` before its entry."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        script = hook()
        if script is None or scope["type"] != "http" or scope.get("method") != "GET":
            return await self.app(scope, receive, send)
        start: dict | None = None
        parts: list[bytes] = []

        async def sending(message):
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", ())}
                page = message.get("status") == 200 and headers.get(b"content-type", b"").startswith(b"text/html")
                if page and b"content-encoding" not in headers:
                    start = message  # held until the whole page is here
                    return
                return await send(message)
            if start is None:
                return await send(message)
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(parts)
            if ENTRY_TAG in body:
                body = body.replace(ENTRY_TAG, script + ENTRY_TAG, 1)
            headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        return await self.app(scope, receive, sending)


def middleware() -> list[Middleware]:
    """The launcher's middlewares (outermost first); SAE_PLAIN_SERVING=1 leaves Streamlit's serving alone."""
    if os.environ.get("SAE_PLAIN_SERVING") == "1":
        return []
    return [Middleware(ElementCodeAtOnce), Middleware(FilesFromMemory)]
