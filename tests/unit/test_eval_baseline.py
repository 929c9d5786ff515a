"""The llama-index baseline on a tiny corpus with fakes: default retriever, CitationQueryEngine path."""

from types import SimpleNamespace

from evals.baseline import BaselineRunner
from evals.data import EvalQuestion, EvalSet
from evals.evaluate import BASELINE
from evals.runner import Config
from rag.ingest import SourceRecord
from tests.fakes import FakeEmbedder

RECORDS = [SourceRecord("d1", "Peskov criticized the remarks about warheads.", "T1", "s1"),
           SourceRecord("d2", "The Rhine flows into the North Sea.", "T2", "s2"),
           SourceRecord("d3", "Rollo swore fealty to King Charles.", "T3", "s3")]
QUESTION = EvalQuestion("q", "Who criticized the remarks about warheads?", True, ["Peskov"], ["d1"])


def runner(make_settings, **overrides):
    ds = EvalSet("tiny", "t", RECORDS, [QUESTION], "h")
    r = BaselineRunner(make_settings(**overrides), ds, FakeEmbedder())
    return r, r.ingest()


def test_default_retriever_returns_two_exact_chunks_and_never_refuses(make_settings):
    r, info = runner(make_settings)
    assert info["chunks"] == 3 and not info["reused"]
    r.check(BASELINE)
    row = r.answer(BASELINE, QUESTION)
    assert row["ranked_doc_ids"][0] == "d1" and len(row["context_doc_ids"]) == 2
    assert not row["refused"] and "Peskov" in row["answer"] and row["answer_kind"] == "retrieved-chunks"
    assert all(c["exact"] for c in row["citations"])
    again, info = runner(make_settings)
    assert info["reused"] and again.answer(BASELINE, QUESTION)["ranked_doc_ids"][0] == "d1"


def test_citation_query_engine_with_a_configured_llm(make_settings):
    r, _ = runner(make_settings, llm_base_url="http://127.0.0.1:9/v1")
    cfg = Config("baseline/gen", pipeline="baseline", top_k=2, mode="generative")
    r.check(cfg)
    prompts = []

    def create(**kwargs):
        prompts.append(kwargs["messages"][0]["content"])
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content="Peskov did [1]."))])

    r._engines[cfg.slug]._response_synthesizer._llm._client = SimpleNamespace(
        chat=SimpleNamespace(completions=SimpleNamespace(create=create)))
    row = r.answer(cfg, QUESTION)
    assert row["answer"] == "Peskov did [1]." and "Source 1" in prompts[0]
    assert row["context_doc_ids"][0] == "d1" and row["citations"][0]["doc_id"] == "d1"
