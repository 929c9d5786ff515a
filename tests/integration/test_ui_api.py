"""`rag serve` as a real subprocess, driven through its API (gradio_client and raw REST)."""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS
from ui.testing import call_raw, run_rag, serve, upload_raw

gradio_client = pytest.importorskip("gradio_client")

SEED_QUESTION = "What does Stoltenberg say about China?"
MAX_BYTES = int(0.05 * 1024 * 1024)  # --max-upload-mb 0.05 below
PUMP_DOC = ("# Zephyr-9 pump\n\nThe Zephyr-9 pump was designed by Ingrid Halvorsen in 1987.\n"
            "It runs at a pressure of 40 bar and needs new seals every 2000 hours.\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    data = base / "data"
    run_rag("--data-dir", str(data), "ingest", str(SEEDS), "--no-progress", cwd=base)
    with serve(data, "--max-upload-mb", "0.05", "--max-files", "4", cwd=base) as url:
        yield url, data, base


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server[0], verbose=False, download_files=False)


def test_endpoints_are_named(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/chat", "/ask", "/upload_documents", "/delete_document", "/reindex_document"} <= names


def test_ask_seed_question_gives_cited_answer(client):
    answer = client.predict(SEED_QUESTION, 5, api_name="/ask")
    assert not answer["refused"] and "China" in answer["answer"]
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["answer"] and c["quote"] in answer["answer"]
        assert c["source"].endswith(".txt") and c["score"] > 0


def test_chat_endpoint_streams_to_answer_sources_and_how(client):
    job = client.submit(SEED_QUESTION, "extractive", 5, api_name="/chat")
    final = job.result(timeout=120)
    steps = job.outputs()
    assert len(steps) > 2  # pending, growing text, final
    answer, how = final
    assert 'class="rag-cite"' in answer["content"] and "<mark>" in answer["content"]
    assert 'class="rag-source"' in answer["content"]
    assert how["metadata"]["title"] == "How this was answered" and "Timings" in how["content"]


def test_refusal_is_an_answer_not_an_error(client):
    answer, _how = client.predict("What is the boiling point of mercury?", "extractive", 5,
                                  api_name="/chat")
    assert "rag-refusal" in answer["content"] and "rag-error" not in answer["content"]


def test_upload_then_ask_about_it(client, server, tmp_path):
    _url, data, _base = server
    doc = tmp_path / "zephyr.md"
    doc.write_text(PUMP_DOC)
    md, report, *_ = client.predict([gradio_client.handle_file(str(doc))],
                                    api_name="/upload_documents")
    assert [a["name"] for a in report["accepted"]] == ["zephyr.md"] and not report["rejected"]
    assert (data / "uploads" / "zephyr.md").read_text() == PUMP_DOC
    assert "Indexed 1 file(s)" in md
    answer = client.predict("Who designed the Zephyr-9 pump?", 5, api_name="/ask")
    assert "Ingrid Halvorsen" in answer["answer"]
    assert answer["citations"][0]["source"].endswith("uploads/zephyr.md")


def test_upload_rejects_each_bad_file_with_a_reason(client, tmp_path):
    files = {"big.txt": b"word " * (MAX_BYTES // 5 + 1), "tool.exe": b"MZ\x90\x00",
             "empty.txt": b"", "fine.txt": b"Fine file\nValves open at 3 bar.\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    _md, report, *_ = client.predict([gradio_client.handle_file(str(tmp_path / n)) for n in files],
                                     api_name="/upload_documents")
    reasons = {r["name"]: r["reason"] for r in report["rejected"]}
    assert "big.txt" in reasons, report
    assert reasons["big.txt"].startswith("too large") and "limit 51.2 KB" in reasons["big.txt"]
    assert reasons["tool.exe"].startswith("unsupported type .exe")
    assert reasons["empty.txt"] == "empty file"
    assert [a["name"] for a in report["accepted"]] == ["fine.txt"]


def test_path_like_names_never_leave_the_uploads_folder(server):
    url, data, base = server
    files = [upload_raw(url, "../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
             upload_raw(url, "../../escape.txt", b"Escape\nThis text tried to escape.\n")]
    event, out = call_raw(url, "upload_documents", [files])
    assert event == "complete", out
    report = out[1]
    assert [r["name"] for r in report["rejected"]] == ["passwd"]
    assert "unsupported type" in report["rejected"][0]["reason"]
    assert [a["name"] for a in report["accepted"]] == ["escape.txt"]
    assert (data / "uploads" / "escape.txt").is_file()
    assert not (base / "escape.txt").exists() and not (data / "escape.txt").exists()


def test_server_files_cannot_be_smuggled_in_as_uploads(server):
    url, _data, _base = server
    outside = {"path": str(SEEDS / next(p.name for p in SEEDS.iterdir())),
               "meta": {"_type": "gradio.FileData"}}
    event, _out = call_raw(url, "upload_documents", [[outside]])
    assert event == "error"


def test_delete_and_reindex_through_the_api(client, tmp_path):
    doc = tmp_path / "gone.md"
    doc.write_text("# Gone\nThe Orion valve opens at 7 bar.\n")
    _md, report, *_ = client.predict([gradio_client.handle_file(str(doc))],
                                     api_name="/upload_documents")
    doc_id = report["accepted"][0]["doc_id"]
    note, *_ = client.predict(doc_id, api_name="/reindex_document")
    assert note.startswith("Re-indexed")
    note, table, *_ = client.predict(doc_id, api_name="/delete_document")
    assert note.startswith("Deleted") and doc_id not in str(table)
    answer = client.predict("At what pressure does the Orion valve open?", 5, api_name="/ask")
    assert all("gone.md" not in c["source"] for c in answer["citations"])


def test_auth_is_required_when_set(tmp_path):
    with serve(tmp_path / "data", "--auth", "ann:secret", cwd=tmp_path) as url:
        import httpx

        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        with pytest.raises(Exception):
            gradio_client.Client(url, verbose=False)
        authed = gradio_client.Client(url, auth=("ann", "secret"), verbose=False)
        assert "/ask" in authed.view_api(print_info=False, return_format="dict")["named_endpoints"]
