"""The local web server: standard-library HTTP, read-only store access, one write path.

Safe by default: it binds to 127.0.0.1; on a loopback address it answers only requests whose
Host names a loopback address (so a web page elsewhere cannot reach it by DNS rebinding);
every response carries a strict Content-Security-Policy (scripts only from /static, no inline
script or style); a disposition is accepted only with the page's token from the same origin.
Each request opens the store read-only and closes it, so a scan can take the store between
requests; while a scan holds it, pages answer 503 "store is busy".
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

from engine.errors import InputError, StoreError, StoreLockedError
from engine.store import Store, open_store
from engine.web import routes
from engine.web.context import Context
from engine.web.pages import error_page, layout

__all__ = ["CSP", "App", "Response", "WorkbenchServer", "make_server"]

STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",
}
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_BODY = 64 * 1024


@dataclass(slots=True)
class Response:
    """What a route returns."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class _ReadWriteLock:
    """Many readers or one writer: DuckDB refuses a read-write and a read-only connection
    to one file at once inside one process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class App:
    """The workbench over one store: its context, token and locks."""

    def __init__(self, db: Path, *, context: Context | None = None) -> None:
        self.db = db
        self.context = context or Context()
        self.token = secrets.token_urlsafe(24)
        self.lock = _ReadWriteLock()

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """The store, opened read-only for one request."""
        with self.lock.reading(), open_store(self.db, read_only=True) as store:
            yield store

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Exclusive use of the store inside this process, for one disposition write."""
        with self.lock.writing():
            yield

    def page(self, status: int, title: str, body: Any, *, network: bool = False) -> Response:
        """An HTML page response (`network`: with the network view's scripts)."""
        footer = f"context: {self.context.describe()}"
        html = layout(title, body, db=str(self.db), footer=footer, network=network)
        return Response(status, html.encode())

    def json(self, payload: Any, status: int = 200) -> Response:
        """A JSON response (values from the data are plain JSON strings)."""
        text = json.dumps(payload, default=str, ensure_ascii=True)
        return Response(status, text.encode(), "application/json")


def _static(path: str) -> Response | None:
    target = (STATIC / path).resolve()
    if not target.is_file() or STATIC not in target.parents:
        return None
    kind = TYPES.get(target.suffix, "application/octet-stream")
    return Response(200, target.read_bytes(), kind, {"Cache-Control": "no-cache"})


class _Handler(BaseHTTPRequestHandler):
    server: WorkbenchServer
    protocol_version = "HTTP/1.1"
    server_version = "moneytrail"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _host_ok(self) -> bool:
        if not self.server.loopback:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in LOOPBACK

    def _send(self, response: Response, *, head: bool = False) -> None:
        self.send_response(response.status)
        headers = HEADERS | response.headers
        headers["Content-Type"] = response.content_type
        headers["Content-Length"] = str(len(response.body))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        try:
            if not self._host_ok():
                response = app.page(
                    HTTPStatus.MISDIRECTED_REQUEST,
                    "Wrong host",
                    error_page(
                        "Wrong host", "This workbench answers only on its loopback address."
                    ),
                )
            else:
                parts = urlsplit(self.path)
                segments = [unquote(s) for s in parts.path.split("/") if s]
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                if method == "GET" and segments[:1] == ["static"]:
                    found = _static("/".join(segments[1:]))
                    response = found or app.page(404, "Not found", error_page("Not found", ""))
                else:
                    body = self._body() if method == "POST" else {}
                    response = routes.route(app, method, segments, query, body, self._origin_ok())
        except StoreLockedError as exc:
            response = app.page(
                503,
                "Store is busy",
                error_page(
                    "The alert store is busy",
                    str(exc),
                    "A scan is writing to it. This page works again as soon as the scan has "
                    "finished: reload in a few seconds.",
                ),
            )
            response.headers["Retry-After"] = "5"
        except StoreError as exc:
            response = app.page(
                503,
                "No alert store",
                error_page(
                    "No alert store to show",
                    str(exc),
                    f"Run `moneytrail scan ... --db {app.db}` to create it, then reload.",
                ),
            )
        except InputError as exc:
            response = app.page(400, "Bad request", error_page("Bad request", str(exc)))
        except duckdb.Error as exc:
            response = app.page(
                503,
                "Store unreadable",
                error_page(
                    "The alert store could not be read",
                    str(exc).splitlines()[0],
                    "Is it a moneytrail store written by this version?",
                ),
            )
        except Exception:  # a bug: say so on the page, keep serving, log the traceback
            traceback.print_exc(file=sys.stderr)
            response = app.page(
                500,
                "Internal error",
                error_page(
                    "Something went wrong",
                    "The workbench hit an internal error; the console of "
                    "`moneytrail serve` shows the details.",
                ),
            )
        self._send(response, head=method == "HEAD")

    def _body(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise InputError(f"request body over {MAX_BODY:,} bytes")
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        return dict(parse_qsl(raw, keep_blank_values=True))

    def _origin_ok(self) -> bool:
        """A write must come from a page of this server, not from another site."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin == f"http://{self.headers.get('Host', '')}"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")


class WorkbenchServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the `App`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, *, quiet: bool = False) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.quiet = quiet
        self.loopback = address[0] in LOOPBACK
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """Where the workbench answers."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


def make_server(
    db: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    context: Context | None = None,
    quiet: bool = False,
) -> WorkbenchServer:
    """A server over the store at `db` (not started: call `serve_forever`)."""
    return WorkbenchServer((host, port), App(db, context=context), quiet=quiet)
