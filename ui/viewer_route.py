"""GET /view: the document viewer's route (ui/viewer.py renders), with the page's login rule.

A page user must be logged in when the page has a login (Gradio's own session cookie), or the
request must carry the API key (Authorization: Bearer). No `from __future__ import annotations`
here: FastAPI reads the endpoint's annotations at runtime.
"""

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ui.viewer import (CSP, ROUTE, DocumentTexts, ViewRequest, locate, message_html, page_html,
                       parse_span)


def page_login_ok(request) -> bool:
    """True when the Gradio page mounted on this app has no login, or the request carries
    the cookie of a logged-in page user; False when no page is mounted."""
    page = mounted_page(request.app)
    return page is not None and gradio_page_user(page, request) is not None


def mounted_page(app):
    """The Gradio app (gradio.routes.App) mounted on this FastAPI app, if any."""
    from gradio.routes import App

    return next((r.app for r in app.routes if isinstance(getattr(r, "app", None), App)), None)


def gradio_page_user(page, request) -> str | None:
    """Who is logged in on a mounted Gradio page: "" when the page has no login, the user
    name when the request carries a logged-in user's cookie, else None.

    GRADIO INTERNALS, kept to this one function: Gradio 6 offers no public way to ask this
    outside its own event handlers (gr.Request.username exists only there; its GET
    /gradio_api/user and /gradio_api/login_check answer the browser over HTTP). This mirrors
    their get_current_user (gradio/routes.py, gradio 6.31): the App's `auth` and
    `auth_dependency`, its token table `tokens` (token -> user name) and the cookies
    `access-token-{cookie_id}` and `access-token-unsecure-{cookie_id}`. A page with an
    `auth_dependency` (not used here) logs nobody in through these cookies: refused.
    tests/unit/test_ui_viewer_login.py compares it with Gradio's own /login_check and
    fails loudly if Gradio changes any of them."""
    if page.auth is None and page.auth_dependency is None:
        return ""
    token = (request.cookies.get(f"access-token-{page.cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{page.cookie_id}"))
    return page.tokens.get(token) if token else None


def api_key_ok(request, api_key) -> bool:
    given = request.headers.get("authorization", "")
    if api_key is None or not given.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(given[7:].strip().encode(), api_key.get_secret_value().encode())


def build_router(chat, api_key=None):
    """GET /view for a ChatApp's service: a logged-in page user (when the page has a login) or
    the API key (Authorization: Bearer) may read; documents are named as the page shows them."""
    from rag.doc_texts import DocTexts

    texts = DocumentTexts(chat.svc.catalog, chat.svc.lexical, stored=DocTexts(chat.svc.index_db).get)
    router = APIRouter()
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}

    def reply(status: int, body: str) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=headers)

    @router.get(ROUTE, include_in_schema=False)
    def view(request: Request, doc: str = "", start: str | None = None,
             end: str | None = None, q: str | None = None) -> HTMLResponse:
        if not (page_login_ok(request) or api_key_ok(request, api_key)):
            return reply(401, message_html("Log in first", "Log in on the chat page, then open "
                                           "the source again."))
        with chat.gate.read():
            doc_id = chat.find_doc(doc)
            found = texts.get(doc_id) if doc_id else None
        if found is None:
            return reply(404, message_html("Document not found", "This document is not indexed "
                                           "(any more). It may have been deleted."))
        span = parse_span(start, end, len(found.text))
        if span is None:
            return reply(400, message_html("Bad passage", "start and end must be character "
                                           "offsets of the document, start ≤ end."))
        a, b, note = locate(found.text, span[0], span[1], q)
        source = chat.shown(chat.svc.catalog.get(doc_id).source or doc_id)
        return reply(200, page_html(found, ViewRequest(a, b, source, note)))

    return router
