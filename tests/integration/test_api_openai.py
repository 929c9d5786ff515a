"""The OpenAI-compatible API of a real `rag serve`, through the official `openai` client.

One server (seeds indexed, RAG_API_KEY set) for the module; raw httpx where the client would
hide what is checked (error bodies, status codes, multipart uploads).
"""

from __future__ import annotations

import httpx
import pytest

from rag.types import REFUSAL_TEXT
from tests.conftest import SEED_FILE, SEEDS
from ui.testing import run_rag, serve

openai = pytest.importorskip("openai")

KEY = "test-key-8c1f"
SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
QUESTION = "What does Stoltenberg say about China?"
PUMP_DOC = ("# Zephyr-9 pump\n\nThe Zephyr-9 pump was designed by Ingrid Halvorsen in 1987.\n"
            "It runs at a pressure of 40 bar and needs new seals every 2000 hours.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("api")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    with serve(data, cwd=base, env={"RAG_API_KEY": KEY}) as url:
        yield url.rstrip("/"), data


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server[0]}/v1", api_key=KEY, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server[0], headers={"Authorization": f"Bearer {KEY}"},
                      timeout=120) as c:
        yield c


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _check_citations(text: str, citations: list[dict], source_text: str = SEED_TEXT) -> None:
    assert citations
    for c in citations:
        assert source_text[c["start"]:c["end"]] == c["quote"]
        assert f"[{c['n']}]" in text
        assert c["chunk_id"].startswith(c["source"]) and c["title"] and c["score"] > 0
        assert "page" in c


def test_completion_has_exact_citations(client):
    resp = client.chat.completions.create(model="rag-extractive", messages=_user(QUESTION))
    text = resp.choices[0].message.content
    assert resp.object == "chat.completion" and resp.model == "rag-extractive"
    assert resp.choices[0].finish_reason == "stop" and "China" in text
    extra = resp.model_extra
    assert extra["refused"] is False and extra["mode"] == "extractive"
    _check_citations(text, extra["citations"])
    assert resp.usage.total_tokens == 0  # extractive answers use no model tokens (documented)


def test_stream_reassembles_to_the_completion(client):
    whole = client.chat.completions.create(model="rag-extractive", messages=_user(QUESTION))
    chunks = list(client.chat.completions.create(model="rag-extractive", messages=_user(QUESTION),
                                                 stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3 and text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert last.model_extra["refused"] is False and last.model_extra["answer"] == text
    assert all("citations" not in c.model_extra for c in chunks[:-1])


def test_stream_ends_with_done_and_usage_when_asked(http):
    body = {"model": "rag-auto", "messages": _user(QUESTION), "stream": True,
            "stream_options": {"include_usage": True}}
    with http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    usage_chunk = httpx.Response(200, content=lines[-2][6:]).json()
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == 0


def test_out_of_document_question_is_refused(client):
    resp = client.chat.completions.create(model="rag-extractive",
                                          messages=_user("What is the boiling point of mercury?"))
    assert resp.choices[0].message.content == REFUSAL_TEXT
    assert resp.model_extra["refused"] is True and resp.model_extra["citations"] == []


def test_follow_up_uses_the_history(client):
    follow_up = "What did it get in return?"
    alone = client.chat.completions.create(model="rag-extractive", messages=_user(follow_up))
    history = [{"role": "system", "content": "Be brief."},
               {"role": "user", "content": "What has North Korea supplied to Russia?"},
               {"role": "assistant", "content": "Artillery shells."},
               {"role": "user", "content": follow_up}]
    resp = client.chat.completions.create(model="rag-extractive", messages=history)
    assert alone.model_extra["refused"] is True
    assert resp.model_extra["refused"] is False
    assert "in return" in resp.choices[0].message.content
    _check_citations(resp.choices[0].message.content, resp.model_extra["citations"])


def test_wrong_or_missing_key_is_401(server):
    url, _ = server
    bad = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.chat.completions.create(model="rag-extractive", messages=_user(QUESTION))
    assert exc.value.status_code == 401
    r = httpx.get(f"{url}/v1/models", timeout=30)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert KEY not in r.text


def test_models_and_health(client, server):
    assert {m.id for m in client.models.list()} == {"rag-extractive", "rag-auto"}  # no LLM set
    health = httpx.get(f"{server[0]}/health", timeout=30)  # liveness needs no key
    body = health.json()
    assert health.status_code == 200 and body["status"] == "ok"
    assert body["documents"] >= 1 and body["chunks"] >= 5
    assert body["llm"] == {"configured": False, "reachable": None, "model": None}
    assert KEY not in health.text


def _error(http, body, status=400) -> dict:
    r = http.post("/v1/chat/completions", json=body) if not isinstance(body, bytes) else \
        http.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["type"]
    return err


@pytest.mark.parametrize("body, status, needle", [
    (b'{"model": "rag-extractive", "messages": [', 400, "not valid JSON"),
    ({"model": "rag-extractive"}, 400, "messages"),
    ({"model": "rag-extractive", "messages": []}, 400, "messages"),
    ({"model": "rag-extractive", "messages": [{"role": "system", "content": "hi"}]}, 400, "no user message"),
    ({"model": "rag-extractive", "messages": _user("   ")}, 400, "empty"),
    ({"model": "gpt-4o", "messages": _user(QUESTION)}, 404, "does not exist"),
    ({"model": "rag-extractive", "messages": _user("why " * 1000)}, 400, "too long"),
    ({"model": "rag-extractive", "messages": _user(QUESTION), "n": 2}, 400, "n > 1"),
    ({"model": "rag-extractive", "messages": _user(QUESTION),
      "tools": [{"type": "function", "function": {"name": "f"}}]}, 400, "tools"),
    ({"model": "rag-extractive", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "x"}}]}]}, 400, "image_url"),
    ({"model": "rag-generative", "messages": _user(QUESTION)}, 400, "RAG_LLM"),
])
def test_bad_requests_get_openai_shaped_4xx(http, body, status, needle):
    assert needle in _error(http, body, status)["message"]


def test_oversized_bodies_and_wrong_methods(http):
    huge = b'{"model": "rag-extractive", "messages": [{"role": "user", "content": "' + b"a" * (2 << 20) + b'"}]}'
    r = http.post("/v1/chat/completions", content=huge, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
    r = http.get("/v1/chat/completions")
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and r.json()["error"]
    assert http.request("TRACE", "/health").status_code == 405


def test_harmless_parameters_are_accepted(client):
    resp = client.chat.completions.create(
        model="rag-extractive", messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        temperature=0.7, max_tokens=20, top_p=0.9, seed=1, user="u", n=1, stop=["\n\n"])
    assert "China" in resp.choices[0].message.content


def test_retrieve_returns_ranked_exact_chunks(http):
    r = http.post("/v1/retrieve", json={"question": "nuclear warheads", "top_k": 2})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["rank"] for d in data] == [1, 2] and data[0]["score"] >= data[1]["score"]
    assert "warheads" in data[0]["text"]
    for d in data:
        assert SEED_TEXT[d["start"]:d["end"]] == d["text"]
    assert http.post("/v1/retrieve", json={"question": " "}).status_code == 400
    assert http.post("/v1/retrieve", json={"question": "x", "top_k": 0}).status_code == 400


def test_upload_list_ask_delete(http, client, server):
    _, data = server
    files = [("files", ("zephyr.md", PUMP_DOC.encode())), ("files", ("tool.exe", b"MZ\x90\x00")),
             ("files", ("../../escape.txt", b""))]
    r = http.post("/v1/documents", files=files)
    assert r.status_code == 200, r.text
    report = r.json()
    assert [a["name"] for a in report["accepted"]] == ["zephyr.md"]
    reasons = {x["name"]: x["reason"] for x in report["rejected"]}
    assert reasons["tool.exe"].startswith("unsupported type .exe") and reasons["escape.txt"] == "empty file"
    doc_id = report["accepted"][0]["doc_id"]
    assert (data / "uploads" / "zephyr.md").read_text() == PUMP_DOC
    listed = http.get("/v1/documents").json()["data"]
    assert any(d["doc_id"] == doc_id and d["chunks"] >= 1 for d in listed)

    resp = client.chat.completions.create(model="rag-extractive",
                                          messages=_user("Who designed the Zephyr-9 pump?"))
    text = resp.choices[0].message.content
    assert "Ingrid Halvorsen" in text
    _check_citations(text, resp.model_extra["citations"], PUMP_DOC)

    r = http.delete(f"/v1/documents/{doc_id}")
    assert r.status_code == 200 and r.json() == {"id": doc_id, "object": "document", "deleted": True}
    assert not (data / "uploads" / "zephyr.md").exists()
    assert doc_id not in {d["doc_id"] for d in http.get("/v1/documents").json()["data"]}
    again = http.delete(f"/v1/documents/{doc_id}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "document_not_found"


def test_openapi_and_offline_docs(server):
    url, _ = server
    schema = httpx.get(f"{url}/openapi.json", timeout=30).json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/retrieve", "/v1/documents",
            "/v1/documents/{doc_id}", "/health"} <= set(schema["paths"])
    docs = httpx.get(f"{url}/docs", timeout=30).text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{url}/docs-assets/swagger-ui-bundle.js", timeout=30).status_code == 200


def test_page_is_still_served_at_root(server):
    url, _ = server
    page = httpx.get(f"{url}/", timeout=30)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert httpx.get(f"{url}/config", timeout=30).status_code == 200  # the page needs no API key


def test_page_login_and_api_key_are_separate(tmp_path):
    output: list[str] = []
    with serve(tmp_path / "data", "--auth", "ann:secret", cwd=tmp_path,
               env={"RAG_API_KEY": KEY}, output=output) as url:
        url = url.rstrip("/")
        wrong = {"Authorization": "Bearer wrong-key-5521"}
        assert httpx.get(f"{url}/v1/models", headers=wrong, timeout=30).status_code == 401
        assert httpx.get(f"{url}/config", timeout=30).status_code == 401  # the page wants its login
        headers = {"Authorization": f"Bearer {KEY}"}
        assert httpx.get(f"{url}/v1/models", headers=headers, timeout=30).status_code == 200
        r = httpx.post(f"{url}/v1/chat/completions", headers=headers, timeout=60,
                       json={"model": "rag-extractive", "messages": _user(QUESTION)})
        assert r.status_code == 400 and "no documents are indexed" in r.json()["error"]["message"]
        assert httpx.get(f"{url}/v1/documents", headers=headers, timeout=30).json()["data"] == []
    printed = "".join(output)
    assert "Web chat on" in printed  # the server's whole output was captured
    assert KEY not in printed and "wrong-key-5521" not in printed and "secret" not in printed
