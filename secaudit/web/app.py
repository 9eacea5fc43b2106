"""The served app: Starlette routes over ``secaudit.services``, Jinja2 pages, a JSON twin for each.

Each request opens the workspace, finds the signed-in user from the session cookie, checks what
that user may read, calls one service function and renders the result: an HTML page, or with
``?format=json`` (or a ``.json`` path) the same data as JSON. An agency the user may not read is
answered 404 exactly like one that does not exist, so guessing URLs tells nothing.

Security: sessions are server-side (``secaudit.store.accounts``), the cookie is HttpOnly and
SameSite=Strict (Secure under TLS); every POST carries a CSRF token (the sign-in form a
double-submit token tied to a pre-session cookie); every response gets a strict CSP without
inline script or style, frame-ancestors 'none', nosniff and no referrer. The app never fetches
anything from the network; its one stylesheet is served from the package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from secaudit import clock
from secaudit.errors import InputError, NotFoundError, SecauditError
from secaudit.web.labels import labels

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "secaudit_session"
SIGNIN_COOKIE = "secaudit_signin"
LANG_COOKIE = "secaudit_lang"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self';"
       " frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
STATIC = {"style.css": "text/css; charset=utf-8", "officer-upload.js": "text/javascript; charset=utf-8"}
#: Rows a page shows of a long list (the JSON twin and the reports have them all).
PAGE_ROWS = 200
REPORT_FORMATS = {"pdf": "application/pdf",
                  "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "json": "application/json"}

#: The evaluation days a request may ask for (``?as_of=``).
AS_OF_RANGE = (dt.date(2000, 1, 1), dt.date(2100, 12, 31))


@dataclass
class Config:
    workspace: Path
    secure_cookies: bool = False
    as_of: dt.date | None = None  # pinned evaluation date (tests); None = clock.today() per request


@dataclass
class View:
    """What a page handler returns: a template and its data (the data is the JSON twin).

    ``load`` gives the data when it is needed; ``cache`` (the workspace state and what else picks
    the data) lets the rendered page body be reused: it depends on the data and the language only,
    never on who asks (access was checked before the View was made).
    """

    template: str
    data: dict[str, Any] | None = None
    load: Callable[[], dict[str, Any]] | None = None
    cache: tuple[Any, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    def get_data(self) -> dict[str, Any]:
        if self.data is None:
            assert self.load is not None
            self.data = self.load()
        return self.data


class Fragments:
    """Rendered page bodies (title, main) by key, least recently used dropped first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.items: OrderedDict[tuple[Any, ...], tuple[str, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[str, str] | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: tuple[str, str]) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


# -- security headers --------------------------------------------------------------------------
class SecurityHeaders:
    """Adds the security headers to every HTTP response (errors and static files included)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in self.headers if k not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- templates ---------------------------------------------------------------------------------
def _vndate(value: Any) -> str:
    """A day as dd/mm/yyyy; an instant (ISO text with a time, stored in UTC) as its day in Vietnam."""
    if not value:
        return ""
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.VIETNAM).date() if value.tzinfo else value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return f"{value:%d/%m/%Y}"


def _vntime(value: Any) -> str:
    """An instant as Vietnam local time, dd/mm/yyyy HH:MM."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(clock.VIETNAM):%d/%m/%Y %H:%M}"


def _fmt(text: str, **values: Any) -> str:
    return text.format(**values)


def _shown(value: Any) -> Any:
    """Every ``{{ … }}`` output: invisible format characters (bidi overrides…) shown as <U+XXXX>.

    Markup comes from our macros, whose own ``{{ … }}`` were shown this way already. Labels and
    names repeat across a page's rows, so the check is remembered per string.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return _visible(value)
    return value


@functools.lru_cache(maxsize=16384)
def _visible(text: str) -> str:
    from secaudit.text import visible

    return visible(text)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=_shown,
    )
    env.filters.update(vndate=_vndate, vntime=_vntime, fmt=_fmt)
    return env


# -- request helpers -----------------------------------------------------------------------------
def request_lang(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if wanted == "en" else "vi"


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json" or request.url.path.endswith(".json")


def request_as_of(request: Request) -> dt.date:
    text = request.query_params.get("as_of")
    config: Config = request.app.state.config
    if not text:
        return config.as_of or clock.today()
    day = clock.parse_day(text)
    if day is None:
        raise InputError(f"Ngày '{text[:40]}' không hợp lệ; viết dd/mm/yyyy", en="invalid date; use dd/mm/yyyy")
    if not AS_OF_RANGE[0] <= day <= AS_OF_RANGE[1]:
        # deadlines are computed a year past the day: 31/12/9999 would overflow the calendar
        raise InputError(f"Ngày đánh giá {day:%d/%m/%Y} nằm ngoài khoảng {AS_OF_RANGE[0]:%d/%m/%Y}"
                         f"–{AS_OF_RANGE[1]:%d/%m/%Y}",
                         en=f"evaluation day out of range {AS_OF_RANGE[0]:%d/%m/%Y}–{AS_OF_RANGE[1]:%d/%m/%Y}")
    return day


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@contextlib.contextmanager
def opened(request: Request) -> Iterator[Any]:
    """The workspace for one request, closed when the request is done."""
    from secaudit.services.workspace import open_workspace

    ws = open_workspace(request.app.state.config.workspace)
    try:
        yield ws
    finally:
        ws.close()


def _session(request: Request, ws: Any) -> Any:
    from secaudit.services.accounts import current_session

    token = request.cookies.get(SESSION_COOKIE, "")
    return current_session(ws, token) if token else None


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str, indent=1).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json")


def _query_with(request: Request, **changes: str | None) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return request.url.path + ("?" + urlencode(params) if params else "")


def render(request: Request, template: str, *, status: int = 200, session: Any = None,
           **context: Any) -> HTMLResponse:
    lang = request_lang(request)
    env: jinja2.Environment = request.app.state.env
    page = env.get_template(template).render(
        lang=lang, L=labels(lang), session=session, path=request.url.path,
        other_lang_url=_query_with(request, lang="vi" if lang == "en" else "en"),
        json_url=_query_with(request, format="json", lang=None), **context)
    response = HTMLResponse(unicodedata.normalize("NFC", page), status_code=status)
    if request.query_params.get("lang") in ("vi", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="strict",
                            secure=request.app.state.config.secure_cookies)
    return response


def _render_body(request: Request, template: str, lang: str, **context: Any) -> tuple[str, str]:
    """The ``title`` and ``main`` blocks of a page template alone (they must not read the session)."""
    env: jinja2.Environment = request.app.state.env
    tpl = env.get_template(template)
    ctx = tpl.new_context({"lang": lang, "L": labels(lang), **context})
    title = "".join(tpl.blocks["title"](ctx))
    main = "".join(tpl.blocks["main"](ctx))
    return title, main


def not_found(request: Request, session: Any = None) -> Response:
    if wants_json(request):
        return json_response({"error": "not found"}, 404)
    return render(request, "error.html.j2", status=404, session=session, title_key="not_found",
                  message=labels(request_lang(request))["T"]["not_found_text"])


def _error(request: Request, exc: SecauditError, session: Any) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 400
    if status == 404:
        return not_found(request, session)
    text = (exc.en or exc.message) if request_lang(request) == "en" else exc.message
    if wants_json(request):
        return json_response({"error": text}, status)
    return render(request, "error.html.j2", status=status, session=session, title_key="error", message=text)


Handler = Callable[[Request, Any, Any], "View | Response"]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in page: opens the workspace, requires a session, renders the View (or its JSON twin)."""

    def run(request: Request) -> Response:
        with opened(request) as ws:
            session = _session(request, ws)
            if session is None:
                if wants_json(request):
                    return json_response({"error": "sign in first"}, 401)
                return RedirectResponse("/dang-nhap", status_code=303)
            try:
                result = handler(request, ws, session)
            except SecauditError as exc:
                return _error(request, exc, session)
            if isinstance(result, Response):
                return result
            if wants_json(request):
                return json_response(result.get_data(), result.status)
            if result.cache is None:
                return render(request, result.template, status=result.status, session=session,
                              d=result.get_data(), **result.extra)
            lang = request_lang(request)
            key = (result.template, lang, *result.cache)
            fragments: Fragments = request.app.state.fragments
            body = fragments.get(key)
            if body is None:
                body = _render_body(request, result.template, lang, d=result.get_data(), **result.extra)
                fragments.put(key, body)
            return render(request, "page.html.j2", status=result.status, session=session, title_text=Markup(body[0]),
                          main_html=Markup(body[1]))

    async def endpoint(request: Request) -> Response:
        return await run_in_threadpool(run, request)

    return endpoint


def readable_by(session: Any, agency: str) -> bool:
    from secaudit.store.accounts import can_read_agency

    return bool(can_read_agency(session.user, agency))


# -- sign in and out -----------------------------------------------------------------------------
def _signin_form(request: Request, *, status: int = 200, message: str | None = None,
                 token: str | None = None) -> Response:
    token = token or request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "signin.html.j2", status=status, csrf=token, message=message)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=request.app.state.config.secure_cookies)
    return response


def _same_origin(request: Request) -> bool:
    """A browser's POST says where its form came from; when it does, it must be this server.

    Under ``Referrer-Policy: no-referrer`` Chromium sends ``Origin: null`` on form posts, so the
    origin is checked only when named; ``Sec-Fetch-Site`` (sent regardless) must be same-origin.
    The CSRF token remains the defence; this only refuses what is visibly cross-site.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


def same_token(expected: str, given: str) -> bool:
    """Whether a submitted CSRF token is the expected one, in constant time.

    Compared as UTF-8 bytes: ``secrets.compare_digest`` raises TypeError on ``str`` with non-ASCII
    characters, and a form field may hold anything.
    """
    return bool(expected) and secrets.compare_digest(expected.encode("utf-8", "surrogatepass"),
                                                     given.encode("utf-8", "surrogatepass"))


def _forbidden(request: Request) -> Response:
    if wants_json(request):
        return json_response({"error": "csrf"}, 403)
    return render(request, "error.html.j2", status=403, title_key="forbidden",
                  message=labels(request_lang(request))["T"]["bad_form"])


#: Why a submitted form could not be read, by the start of Starlette's (English) reason.
FORM_ERRORS = {
    "vi": {"Too many files": "Gửi quá nhiều tệp một lần (tối đa {files} tệp). Không có gì được lưu.",
           "Too many fields": "Biểu mẫu có quá nhiều trường (tối đa {fields}). Không có gì được lưu.",
           "exceeded maximum size": "Một trường của biểu mẫu quá dài (tối đa 1 MB). Không có gì được lưu.",
           "": "Không đọc được biểu mẫu gửi lên (dữ liệu hỏng). Không có gì được lưu."},
    "en": {"Too many files": "Too many files at once (at most {files}). Nothing was stored.",
           "Too many fields": "Too many form fields (at most {fields}). Nothing was stored.",
           "exceeded maximum size": "A form field is too long (at most 1 MB). Nothing was stored.",
           "": "The submitted form could not be read (damaged data). Nothing was stored."},
}


async def read_form(request: Request, *, max_files: int, max_fields: int) -> Any:
    """The submitted form, or (a Response) a 400 page in the user's language when it cannot be read: too
    many files or fields, a field over 1 MB, a damaged multipart body. Starlette itself would answer
    those with its own English plain text."""
    from starlette.exceptions import HTTPException

    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        detail = str(exc.detail)
        texts = FORM_ERRORS[request_lang(request)]
        text = next(t for key, t in texts.items() if key in detail)  # "" matches any
        text = text.format(files=max_files, fields=max_fields)
        if wants_json(request):
            return json_response({"error": text}, 400)
        return render(request, "error.html.j2", status=400, title_key="error", message=text)


async def signin_page(request: Request) -> Response:
    return _signin_form(request)


async def signin(request: Request) -> Response:
    form = await read_form(request, max_files=0, max_fields=20)
    if isinstance(form, Response):
        return form
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    given = str(form.get("csrf", ""))
    if not expected or not given or not same_token(expected, given) or not _same_origin(request):
        return _forbidden(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))

    def attempt() -> Response:
        from secaudit.services.accounts import sign_in
        from secaudit.store.accounts import SignInRefusedError

        text = labels(request_lang(request))["T"]
        with opened(request) as ws:
            try:
                token, _session = sign_in(ws, username, password, client=_client(request))
            except SignInRefusedError as exc:
                fresh = secrets.token_urlsafe(32)
                return _signin_form(request, status=429 if exc.throttled else 401, token=fresh,
                                    message=text["throttled"] if exc.throttled else text["wrong"])
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.app.state.config.secure_cookies)
        response.delete_cookie(SIGNIN_COOKIE)
        return response

    return await run_in_threadpool(attempt)


ActionHandler = Callable[[Request, Any, Any, Any], Response]


def action(*, writes: bool = True,
           max_files: int = 0) -> Callable[[ActionHandler], Callable[[Request], Awaitable[Response]]]:
    """A state-changing POST: signed in, the session's CSRF token, same origin, and (``writes``) not a viewer.

    Every form of the next issue (answers, evidence, inventory) goes through this; its handler gets
    the open workspace, the session and the form, and names ``session.user.username`` as the actor.
    """

    def wrap(handler: ActionHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = await read_form(request, max_files=max_files, max_fields=200)
            if isinstance(form, Response):
                return form

            def run() -> Response:
                with opened(request) as ws:
                    session = _session(request, ws)
                    if session is None:
                        return RedirectResponse("/dang-nhap", status_code=303)
                    given = str(form.get("csrf", ""))
                    if not same_token(session.csrf, given) or not _same_origin(request):
                        return _forbidden(request)
                    if writes and session.user.read_only:
                        return render(request, "error.html.j2", status=403, session=session, title_key="forbidden",
                                      message=labels(request_lang(request))["T"]["read_only"])
                    try:
                        return handler(request, ws, session, form)
                    except SecauditError as exc:
                        return _error(request, exc, session)

            return await run_in_threadpool(run)

        return endpoint

    return wrap


@action(writes=False)
def signout(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.accounts import sign_out

    sign_out(ws, request.cookies.get(SESSION_COOKIE, ""), session.user)
    response = RedirectResponse("/dang-nhap", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- pages ---------------------------------------------------------------------------------------
@page
def dashboard(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.dashboard import dashboard as view

    if not session.user.province_wide:
        suffix = ".json" if wants_json(request) else ""
        return RedirectResponse(f"/co-quan/{session.user.agency}{suffix}", status_code=303)
    from secaudit.services.dashboard import state

    as_of, lang = request_as_of(request), request_lang(request)
    filters = {k: v for k, v in request.query_params.items() if k not in ("lang", "format")}
    return View("dashboard.html.j2", load=lambda: view(ws, as_of=as_of, filters=filters, lang=lang),
                cache=(state(ws), as_of, tuple(sorted(filters.items()))))


@page
def agency(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.dashboard import agency as view
    from secaudit.services.dashboard import state

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    as_of, lang = request_as_of(request), request_lang(request)
    return View("agency.html.j2", load=lambda: view(ws, code, as_of=as_of, lang=lang),
                cache=(state(ws), code, as_of))


@page
def system(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.dashboard import state
    from secaudit.services.dashboard import system as view

    code, system_code = request.path_params["code"], request.path_params["system"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.system_id(code, system_code)  # NotFoundError (404) for an unknown agency or system
    as_of, lang = request_as_of(request), request_lang(request)
    return View("system.html.j2", load=lambda: view(ws, code, system_code, as_of=as_of, lang=lang),
                cache=(state(ws), code, system_code, as_of))


@page
def audit_log(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.dashboard import audit_log as view

    scope = None if session.user.province_wide else session.user.agency
    return View("log.html.j2", view(ws, scope))  # not cached: what it shows depends on who asks


@page
def agency_report(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.reports import agency_report as build

    code, fmt = request.path_params["code"], request.path_params["fmt"]
    if not readable_by(session, code) or fmt not in REPORT_FORMATS:
        return not_found(request, session)
    ws.require_agency(code)
    as_of = request_as_of(request)
    body = build(ws, code, fmt=fmt, as_of=as_of, lang=request_lang(request))
    name = f"bao-cao-{code}-{as_of:%Y%m%d}.{fmt}"
    return Response(body, media_type=REPORT_FORMATS[fmt],
                    headers={"content-disposition": f'attachment; filename="{name}"'})


@page
def province_report(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.reports import province_report as build

    if not session.user.province_wide:
        return not_found(request, session)
    as_of = request_as_of(request)
    body = build(ws, fmt="pdf", as_of=as_of, lang=request_lang(request))
    return Response(body, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="tong-hop-tinh-{as_of:%Y%m%d}.pdf"'})


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return Response(status_code=404)
    return FileResponse(HERE / "static" / name, media_type=STATIC[name],
                        headers={"cache-control": "public, max-age=3600"})


async def no_route(request: Request, exc: Exception) -> Response:
    """A path no route matches: the same 404 page as any other (Starlette's own is English plain text)."""
    return not_found(request)


async def bad_method(request: Request, exc: Exception) -> Response:
    """A method the route does not take (405, with its ``Allow`` header), in the user's language."""
    text = labels(request_lang(request))["T"]["bad_method"].format(method=request.method[:20])
    allow = dict(getattr(exc, "headers", None) or {})
    if wants_json(request):
        response = json_response({"error": text}, 405)
    else:
        response = render(request, "error.html.j2", status=405, title_key="error", message=text)
    response.headers.update(allow)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: a short page, never a traceback."""
    lang = request_lang(request)
    if wants_json(request):
        return json_response({"error": "server error"}, 500)
    return HTMLResponse(f"<!doctype html><title>500</title><p>{labels(lang)['T']['server_error']}</p>",
                        status_code=500)


#: Every route: (path, endpoint, methods, name). Pages accept ``?format=json``; the ``.json`` paths
#: are the same pages' JSON twins.
ROUTES: list[tuple[str, Callable[..., Any], list[str], str]] = [
    ("/dang-nhap", signin_page, ["GET"], "signin_form"),
    ("/dang-nhap", signin, ["POST"], "signin"),
    ("/dang-xuat", signout, ["POST"], "signout"),
    ("/", dashboard, ["GET"], "dashboard"),
    ("/tong-hop.json", dashboard, ["GET"], "dashboard_json"),
    ("/nhat-ky", audit_log, ["GET"], "log"),
    ("/nhat-ky.json", audit_log, ["GET"], "log_json"),
    ("/bao-cao/tong-hop.pdf", province_report, ["GET"], "province_report"),
    ("/co-quan/{code}.json", agency, ["GET"], "agency_json"),
    ("/co-quan/{code}", agency, ["GET"], "agency"),
    ("/co-quan/{code}/he-thong/{system}.json", system, ["GET"], "system_json"),
    ("/co-quan/{code}/he-thong/{system}", system, ["GET"], "system"),
    ("/co-quan/{code}/bao-cao.{fmt}", agency_report, ["GET"], "agency_report"),
    ("/tai-nguyen/{name}", static, ["GET"], "static"),
]


def create_app(workspace: Path | str, *, secure_cookies: bool = False, as_of: dt.date | None = None,
               extra_routes: list[tuple[str, Callable[..., Any], list[str], str]] | None = None) -> ASGIApp:
    """The ASGI app serving ``workspace`` (which must exist: ``secaudit init``) with the read pages of this
    module plus ``extra_routes`` (the work pages; ``secaudit.web.site`` assembles them)."""
    table = ROUTES + list(extra_routes or [])
    app = Starlette(
        routes=[Route(path, endpoint, methods=methods, name=name) for path, endpoint, methods, name in table],
        exception_handlers={404: no_route, 405: bad_method, 500: server_error},
    )
    app.state.config = Config(Path(workspace), secure_cookies=secure_cookies, as_of=as_of)
    app.state.env = environment()
    app.state.fragments = Fragments()
    return SecurityHeaders(app, hsts=secure_cookies)
