"""The viewer's login rule reads Gradio internals (ui/viewer_route.gradio_page_user): checked
here against Gradio's own answer (GET /gradio_api/login_check) on a real mounted Gradio app,
so a Gradio upgrade that changes them fails this test instead of locking users out of /view
(or letting everybody in)."""

from __future__ import annotations

import gradio as gr
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from ui.viewer_route import gradio_page_user, mounted_page, page_login_ok

CHANGED = ("Gradio's login internals changed (see ui/viewer_route.gradio_page_user): "
           "update it to what gradio/routes.py get_current_user reads now")


def _client(auth) -> TestClient:
    app = FastAPI()

    @app.get("/probe")
    def probe(request: Request) -> dict:
        page = mounted_page(request.app)
        return {"ok": page_login_ok(request), "user": gradio_page_user(page, request)}

    with gr.Blocks() as demo:
        gr.Markdown("page")
    return TestClient(gr.mount_gradio_app(app, demo, "/", auth=auth))


def _agree(client: TestClient) -> dict:
    """What our check says, asserted equal to what Gradio's own login check says."""
    ours = client.get("/probe").json()
    gradio_says = client.get("/gradio_api/login_check").status_code
    assert gradio_says in (200, 401), CHANGED
    assert ours["ok"] == (gradio_says == 200), CHANGED
    return ours


def test_the_internals_read_are_still_there():
    client = _client(("ann", "s3cret"))
    page = mounted_page(client.app)
    assert page is not None, CHANGED
    for name in ("auth", "auth_dependency", "tokens", "cookie_id"):
        assert hasattr(page, name), f"{CHANGED}: no App.{name}"
    assert isinstance(page.tokens, dict) and isinstance(page.cookie_id, str), CHANGED


def test_a_page_with_a_login_lets_in_only_its_logged_in_users():
    client = _client(("ann", "s3cret"))
    assert _agree(client) == {"ok": False, "user": None}
    assert client.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 400
    assert _agree(client)["ok"] is False
    assert client.post("/login", data={"username": "ann", "password": "s3cret"}).status_code == 200
    names = set(client.cookies.keys())
    assert any(n.startswith("access-token-unsecure-") for n in names), f"{CHANGED}: cookies {names}"
    assert _agree(client) == {"ok": True, "user": "ann"}
    client.get("/logout", follow_redirects=False)
    assert _agree(client)["ok"] is False
    client.cookies.set(next(iter(names)), "forged-token")
    assert _agree(client)["ok"] is False


def test_a_page_without_a_login_is_open():
    assert _agree(_client(None)) == {"ok": True, "user": ""}


def test_no_page_mounted_means_nobody_is_logged_in():
    app = FastAPI()

    @app.get("/probe")
    def probe(request: Request) -> dict:
        return {"ok": page_login_ok(request)}

    assert TestClient(app).get("/probe").json() == {"ok": False}
