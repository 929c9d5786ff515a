"""Upload flow pieces: the report's Markdown, duplicates by content hash, the progress bar,
chunk progress from the ingest, the catalogue's content hashes, confirm before delete."""

from __future__ import annotations

import html
import os
import re
import sqlite3
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from rag.catalog import open_index_db
from rag.ingest import EMBED_STEP, SourceRecord
from rag.service import RagService
from tests.fakes import FakeEmbedder
from ui.app import ChatApp, UiConfig
from ui.upload_assets import limits_html, with_upload_js
from ui.uploads import UploadLimits, UploadProgress, content_hash, report_markdown, split_duplicates


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    d = tmp_path / f"in{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    (d / name).write_bytes(data)
    return d / name


REPORT = {"accepted": [{"name": "a.md", "status": "added", "chunks": 2}],
          "duplicates": [{"name": "b.md", "duplicate_of": "uploads/a.md"}],
          "rejected": [{"name": "tool.exe", "reason": "unsupported type .exe"}]}


def test_report_sections_are_separate_blocks_not_part_of_the_last_list_item():
    out = MarkdownIt().render(report_markdown(REPORT, lambda s: s))
    assert out.count("<ul>") == 3  # one list per section
    items = re.findall(r"<li>(.*?)</li>", out, re.S)
    assert len(items) == 3 and all("Rejected" not in i and "Not indexed again" not in i for i in items)
    assert "<strong>Rejected 1 file(s):</strong></p>" in out
    assert "same content as uploads/a.md" in out
    assert report_markdown({"accepted": [], "rejected": []}, str) == "No files received."


def test_duplicates_by_bytes_within_an_upload_and_against_the_index(tmp_path):
    a = _file(tmp_path, "a.md", b"# A\nalpha")
    a2 = _file(tmp_path, "a-copy.md", b"# A\nalpha")
    b = _file(tmp_path, "b.md", b"# B\nbeta")
    same_name = _file(tmp_path, "c.md", b"# C\ngamma")
    indexed = {content_hash(b): ["seeds/b-original.md"], content_hash(same_name): ["uploads/c.md"]}
    keep, dups = split_duplicates([("a.md", a), ("a-copy.md", a2), ("b.md", b), ("c.md", same_name)],
                                  lambda h: indexed.get(h, []), lambda name: f"uploads/{name}")
    assert [n for n, _ in keep] == ["a.md", "c.md"]  # c.md: itself re-uploaded, not a duplicate
    assert {(d.name, d.of) for d in dups} == {("a-copy.md", "a.md"), ("b.md", "seeds/b-original.md")}


def test_progress_moves_per_file_and_per_chunk_step():
    seen = []
    bar = UploadProgress(lambda value, desc: seen.append((value, desc)), files=2)
    bar.file(0, "a.md")
    bar.chunks(32, 64)
    bar.chunks(64, 64)
    bar.file(1, "b.md")
    bar.chunks(10, 10)
    values = [v for v, _ in seen]
    assert values == [0.0, 0.25, 0.5, 0.5, 1.0]
    assert seen[1][1] == "Indexing a.md (1/2): chunks and their sentences, step 32/64" and seen[3][1] == "Reading b.md (2/2)"


@pytest.fixture
def svc(make_settings):
    return RagService(make_settings(precompute_sentences=False), embedder=FakeEmbedder())


def test_ingest_reports_chunk_steps_and_keeps_the_content_hash(svc, tmp_path):
    text = "\n\n".join(f"Paragraph {i} tells that pump {i} runs at {i} bar in hall {i}." * 3
                       for i in range(500))
    steps = []
    report = svc.ingest_records([SourceRecord("big", text, "Big", "big", content_hash="h1")],
                                chunk_progress=lambda done, total: steps.append((done, total)))
    total = report.chunks_written
    assert total > 2 * EMBED_STEP
    assert steps == [(min(d, total), total) for d in range(EMBED_STEP, total + EMBED_STEP, EMBED_STEP)]
    assert svc.store.count() == total and svc.catalog.get("big").content_hash == "h1"
    assert svc.documents_with_content("h1") == ["big"] and svc.documents_with_content("") == []


def test_files_get_their_bytes_hash_and_old_rows_are_filled_from_their_file(svc, tmp_path):
    doc = tmp_path / "docs" / "pumps.md"
    doc.parent.mkdir()
    doc.write_bytes(b"# Pumps\nThe pump runs at 40 bar.\n")
    svc.ingest_paths([doc])
    digest = content_hash(doc)
    [doc_id] = svc.documents_with_content(digest)
    with svc.index_db.transaction() as conn:  # as a catalogue written before content hashes
        conn.execute("UPDATE documents SET content_hash = ''")
    assert svc.catalog.with_content(digest) == []
    assert svc.documents_with_content(digest) == [doc_id]  # filled from the unchanged file



def test_old_rows_are_looked_at_once_not_on_every_upload(svc, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("kept", "changed", "gone"):
        (docs / f"{name}.md").write_bytes(f"# {name}\nThe {name} pump runs at 40 bar.\n".encode())
    svc.ingest_paths([docs])
    kept = content_hash(docs / "kept.md")
    ids = {Path(d["doc_id"]).stem: d["doc_id"] for d in svc.list_documents()}
    with svc.index_db.transaction() as conn:  # as a catalogue written before content hashes
        conn.execute("UPDATE documents SET content_hash = ''")
    (docs / "changed.md").write_bytes(b"# changed\nNow it runs at 50 bar.\n")
    later = (docs / "changed.md").stat().st_mtime + 60
    os.utime(docs / "changed.md", (later, later))
    (docs / "gone.md").unlink()
    looked_at: list[str] = []
    is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda self: (
        looked_at.append(self.name) if self.parent == docs else None) or is_file(self))
    for _ in range(3):  # three uploads
        assert svc.documents_with_content(kept) == [ids["kept"]]
    assert sorted(looked_at) == ["changed.md", "gone.md", "kept.md"]  # each once
    assert [r.doc_id for r in svc.catalog.rows() if not r.content_hash] == sorted([ids["changed"], ids["gone"]])
    looked_at.clear()
    other = RagService(svc.settings, embedder=svc.embedder)  # another process looks once too
    assert other.documents_with_content(kept) == [ids["kept"]]
    assert sorted(looked_at) == ["changed.md", "gone.md"]


def test_a_catalogue_without_the_column_gets_it(make_settings):
    settings = make_settings()
    settings.index_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(settings.index_path)
    conn.execute("CREATE TABLE documents(doc_id TEXT PRIMARY KEY, hash TEXT NOT NULL DEFAULT '',"
                 " chunks INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT '',"
                 " title TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',"
                 " ingested_at REAL NOT NULL DEFAULT 0, flagged INTEGER NOT NULL DEFAULT 0,"
                 " pending INTEGER NOT NULL DEFAULT 0)")
    conn.execute("INSERT INTO documents(doc_id, hash, chunks) VALUES ('old', 'x', 3)")
    conn.commit()
    conn.close()
    db = open_index_db(settings)
    assert db.query("SELECT doc_id, content_hash FROM documents") == [("old", "")]


def test_upload_reports_duplicates_and_indexes_them_once(make_settings, tmp_path):
    app = ChatApp(RagService(make_settings(), embedder=FakeEmbedder()),
                  UiConfig(limits=UploadLimits(max_bytes=5000, max_files=5)))
    body = b"# Valves\nThe valve opens at 3 bar.\n"
    first = [str(_file(tmp_path, "valves.md", body)), str(_file(tmp_path, "valves-copy.md", body))]
    md, report, *_ = app.upload(first, progress=lambda *a, **k: None)
    assert [a["name"] for a in report["accepted"]] == ["valves.md"]
    assert report["duplicates"] == [{"name": "valves-copy.md", "duplicate_of": "valves.md"}]
    _, again, *_ = app.upload([str(_file(tmp_path, "other-name.md", body))],
                              progress=lambda *a, **k: None)
    assert again["accepted"] == [] and again["duplicates"][0]["duplicate_of"].endswith("uploads/valves.md")
    _, same, *_ = app.upload([str(_file(tmp_path, "valves.md", body))], progress=lambda *a, **k: None)
    assert same["accepted"][0]["status"] == "unchanged"  # its own name: not a duplicate
    assert len(app.svc.list_documents()) == 1
    assert sorted(p.name for p in app.upload_dir.iterdir()) == ["valves.md"]
    assert "Not indexed again" in md and "valves-copy.md" in html.unescape(md)


def test_delete_asks_first_and_cancel_deletes_nothing(make_settings, tmp_path):
    from ui.app import CONFIRM_DELETE_JS

    app = ChatApp(RagService(make_settings(), embedder=FakeEmbedder()))
    doc = tmp_path / "x.md"
    doc.write_text("# X\nThe x valve is red.\n")
    app.svc.ingest_paths([doc])
    doc_id = app.svc.list_documents()[0]["doc_id"]
    assert "window.confirm(" in CONFIRM_DELETE_JS  # the page's click asks the browser first
    assert app.delete(doc_id, False)[0] == "Nothing deleted." and len(app.svc.list_documents()) == 1
    assert app.delete(doc_id)[0].startswith("Deleted") and app.svc.list_documents() == []



def test_documents_are_found_by_their_shown_path_and_counted_from_the_catalogue(make_settings, tmp_path):
    app = ChatApp(RagService(make_settings(), embedder=FakeEmbedder()))
    _md, report, *_ = app.upload([str(_file(tmp_path, "pumps.md", b"# Pumps\nThe pump runs at 40 bar.\n"))],
                                 progress=lambda *a, **k: None)
    [row] = app.svc.list_documents()
    [accepted] = report["accepted"]
    assert accepted["doc_id"] == "uploads/pumps.md" == app.shown(row["doc_id"])
    assert accepted["chunks"] == row["chunks"] > 0
    assert app.find_doc("uploads/pumps.md") == app.find_doc(row["doc_id"]) == row["doc_id"]
    assert app.find_doc("uploads/other.md") is None and app._chunks_of("uploads/other.md") == 0
    app.svc.catalog.mark_pending([row["doc_id"]])  # half-written: not indexed yet
    assert app.find_doc("uploads/pumps.md") is None and app._chunks_of(row["doc_id"]) == 0


def test_the_size_guard_js_runs_first_and_knows_the_cap_and_our_limit():
    js = with_upload_js("() => {\n  if (window.x) { return; }\n}")
    assert js.index("__ragUploadGuard") < js.index("window.x")
    out = limits_html(UploadLimits(max_bytes=20 * 1024 * 1024), cap_bytes=123)
    assert 'data-max-bytes="123"' in out and 'data-limit="20 MB"' in out
