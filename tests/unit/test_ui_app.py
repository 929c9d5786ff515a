"""ChatApp handlers in-process: streamed messages, errors as messages, uploads, delete."""

import html
from types import SimpleNamespace

import pytest

from rag.errors import ConfigError
from rag.service import RagService
from rag.types import Answer, Citation, Event
from tests.fakes import FakeEmbedder
from ui.app import ChatApp, UiConfig
from ui.uploads import UploadLimits


def no_progress(*args, **kwargs):
    return None


def stub_service(settings, ask, chunks=1, tokens=()):
    """A service whose stream() is retrieval, the given tokens, then ask()'s answer."""
    def stream(question, history=None, mode=None, top_k=None):
        answer = ask(question, top_k)  # errors raise before the first event, like the real one
        events = [Event("retrieval", hits=answer.hits)] + [Event("token", text=t) for t in tokens]
        return iter(events + [Event("answer", answer=answer)])

    return SimpleNamespace(settings=settings, stream=stream,
                           store=SimpleNamespace(count=lambda: chunks))


def test_respond_streams_then_shows_sources_and_how(make_settings):
    cite = Citation(1, "a.txt", "a.txt#0", "Pumps run at 40 bar.", 0, 20, 0.9, "Pumps")
    answer = Answer("q", "Pumps run at 40 bar and never more than that. [1]", [cite], False,
                    timings_ms={"total": 5.0})
    app = ChatApp(stub_service(make_settings(), lambda q, top_k=None: answer))
    steps = list(app.respond("How hard?", [], "extractive", 4))
    assert steps[0][0]["metadata"]["status"] == "pending"
    partial = [s[0]["content"] for s in steps[1:-1]]
    assert len(partial) >= 2 and len(partial[0]) < len(partial[-1])
    final = steps[-1]
    assert "rag-source" in final[0]["content"] and 'class="rag-cite"' in final[0]["content"]
    assert final[1]["metadata"]["title"] == "How this was answered"


def test_respond_shows_model_tokens_then_the_verified_answer(make_settings):
    answer = Answer("q", "Verified. [1]", [Citation(1, "a.txt", "a.txt#0", "Verified.", 0, 9, 0.9)],
                    False, mode="generative")
    svc = stub_service(make_settings(), lambda q, top_k=None: answer, tokens=["Raw ", "model ", "text"])
    steps = list(ChatApp(svc).respond("q", [], "generative", 5))
    shown = [s[0]["content"] for s in steps[1:-1]]
    assert len(shown) == 3 and "Raw model text" in shown[-1] and "rag-provisional" in shown[-1]
    assert "Verified." in steps[-1][0]["content"] and "Raw" not in steps[-1][0]["content"]


def test_respond_turns_errors_into_messages(make_settings):
    def config_error(q, top_k=None):
        raise ConfigError("collection built with another embedder")

    def crash(q, top_k=None):
        raise RuntimeError("boom")

    settings = make_settings()
    last = list(ChatApp(stub_service(settings, config_error)).respond("q", [], None, 5))[-1]
    assert "another embedder" in last[0]["content"] and "rag-error" in last[0]["content"]
    last = list(ChatApp(stub_service(settings, crash)).respond("q", [], None, 5))[-1]
    assert "internal error (RuntimeError)" in html.unescape(last[0]["content"]) and "boom" not in last[0]["content"]
    last = list(ChatApp(stub_service(settings, crash, chunks=0)).respond("q", [], None, 5))[-1]
    assert "no documents are indexed yet" in last[0]["content"]


@pytest.fixture
def real_app(make_settings):
    svc = RagService(make_settings(), embedder=FakeEmbedder())
    return ChatApp(svc, UiConfig(limits=UploadLimits(max_bytes=2000, max_files=5)))


def test_upload_indexes_good_files_and_explains_rejects(real_app, tmp_path):
    src = tmp_path / "client"
    src.mkdir()
    (src / "pumps.md").write_text("# Pumps\nThe pump runs at 40 bar.\n")
    (src / "tool.exe").write_bytes(b"MZ")
    (src / "empty.txt").write_bytes(b"")
    (src / "notext.html").write_text("<html><script>x()</script></html>")
    files = [str(src / n) for n in ("pumps.md", "tool.exe", "empty.txt", "notext.html")]
    md, report, _table, _select, summary, cleared = real_app.upload(files, progress=no_progress)
    assert [a["name"] for a in report["accepted"]] == ["pumps.md"]
    assert report["accepted"][0]["chunks"] >= 1
    assert {r["name"]: r["reason"] for r in report["rejected"]} == {
        "tool.exe": "unsupported type .exe; allowed: .htm, .html, .markdown, .md, .pdf, .txt",
        "empty.txt": "empty file",
        "notext.html": "no text",
    }
    assert md.index("Indexed 1 file(s)") < md.index("**pumps.md**: added") < md.index(
        "Rejected 3 file(s)") < md.index("**tool.exe**: unsupported")
    assert "1 document(s)" in summary and cleared is None
    stored = sorted(p.name for p in real_app.upload_dir.iterdir())
    assert stored == ["pumps.md"]  # the unreadable html was not kept


def test_delete_removes_document_and_uploaded_copy(real_app, tmp_path):
    (tmp_path / "v.txt").write_text("Valves\nThe valve opens at 3 bar.\n")
    _, report, *_ = real_app.upload([str(tmp_path / "v.txt")], progress=no_progress)
    doc_id = report["accepted"][0]["doc_id"]
    note, _table, _select, summary = real_app.delete(doc_id)
    assert "Deleted" in note and "0 document(s)" in summary
    assert not (real_app.upload_dir / "v.txt").exists()
    assert real_app.delete(None)[0] == "Pick a document first."


def test_respond_shows_the_provisional_extractive_answer_then_the_verified_one(make_settings):
    cite = Citation(1, "a.txt", "a.txt#0", "Pumps run at 40 bar.", 0, 20, 0.9)
    quick = Answer("q", "Pumps run at 40 bar. [1]", [cite], False)
    final = Answer("q", "They run at 40 bar. [1]", [cite], False, mode="generative")

    def stream(question, history=None, mode=None, top_k=None):
        return iter([Event("retrieval"), Event("provisional", answer=quick),
                     Event("token", text="They "), Event("token", text="run"),
                     Event("answer", answer=final)])

    svc = SimpleNamespace(settings=make_settings(), stream=stream,
                          store=SimpleNamespace(count=lambda: 1))
    steps = list(ChatApp(svc).respond("q", [], "generative", 5))[1:]
    first = steps[0]
    assert "rag-provisional-answer" in first[0]["content"] and "Provisional" in first[0]["content"]
    assert "Pumps run at 40 bar." in first[0]["content"] and "rag-source" in first[0]["content"]
    assert first[1]["metadata"]["title"] == "Model draft (unverified)"
    assert "They run" in steps[2][1]["content"] and "Pumps run" in steps[2][0]["content"]
    last = steps[-1]
    assert "They run at 40 bar." in last[0]["content"] and "Provisional" not in last[0]["content"]
    assert last[1]["metadata"]["title"] == "How this was answered"
