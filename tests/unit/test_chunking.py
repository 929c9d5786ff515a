"""Chunk/span invariants: every chunk's text is exactly source[start:end]."""

from hypothesis import HealthCheck, example, given, settings, strategies as st

from rag.ingest import SourceRecord, chunk_records
from rag.settings import Settings
from tests.fakes import FakeEmbedder

WORDS = st.sampled_from(
    "NATO China Russia the of a sanctions Stoltenberg missile é 2% U.S. warheads — “quoted” 20 firms".split()
)
SENTENCE = st.builds(
    lambda ws, end: " ".join(ws) + end, st.lists(WORDS, min_size=1, max_size=25), st.sampled_from(".!?")
)
TEXT = st.lists(
    st.tuples(SENTENCE, st.sampled_from([" ", "  ", "\n", "\n\n", "\r\n", " \t"])), min_size=1, max_size=60
).map(lambda parts: "".join(s + sep for s, sep in parts))


def _chunks(text, chunk_size=40, overlap=8):
    settings_ = Settings(chunk_size=chunk_size, chunk_overlap=overlap)
    return chunk_records(settings_, FakeEmbedder(), [SourceRecord("doc.txt", text, "t", "doc.txt")])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_every_chunk_is_exact_source_slice(text):
    nodes = _chunks(text)
    assert nodes
    for node in nodes:
        start, end = node.metadata["start"], node.metadata["end"]
        assert text[start:end] == node.text


REPEATED = ("NATO. NATO NATO NATO. NATO NATO NATO. NATO NATO U.S.. NATO NATO U.S. NATO NATO NATO. "
            "“quoted”. NATO NATO U.S. NATO NATO NATO. ")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
@example(REPEATED)  # repeated passages: each chunk must point at its own occurrence
def test_chunks_cover_all_words_in_order(text):
    nodes = _chunks(text)
    starts = [n.metadata["start"] for n in nodes]
    ends = [n.metadata["end"] for n in nodes]
    assert starts == sorted(starts) and ends == sorted(ends)
    covered = set()
    for n in nodes:
        covered.update(range(n.metadata["start"], n.metadata["end"]))
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert missing == []


def test_chunk_ids_are_stable_and_sized_to_the_embedder():
    text = ("Stoltenberg spoke about China and Russia at length. " * 40).strip()
    first = _chunks(text, chunk_size=60, overlap=10)
    second = _chunks(text, chunk_size=60, overlap=10)
    assert [n.id_ for n in first] == [n.id_ for n in second] == [f"doc.txt#{i}" for i in range(len(first))]
    emb = FakeEmbedder()
    assert all(emb.count_tokens(n.text) <= 60 for n in first)
    assert len(first) > 1
