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


SECTIONED = (
    "# Pump manual\n\n"
    "## Seals\n\n" + "The seal is changed every 500 hours by the operator on duty. " * 12 + "\n\n"
    "## Valves\n\n" + "The valve is checked weekly for leaks and corrosion damage. " * 12 + "\n\n"
    "## Notes\n\nShort note.\n"
)


def _section_chunks(text, on=True, size=120):
    s = Settings(chunk_size=size, chunk_overlap=min(16, size // 2), section_chunks=on)
    return chunk_records(s, FakeEmbedder(), [SourceRecord("m.md", text, "Pump manual", "m.md")])


def test_chunks_never_straddle_a_heading_and_carry_their_section():
    nodes = _section_chunks(SECTIONED)
    seals, valves = SECTIONED.index("## Seals"), SECTIONED.index("## Valves")
    for n in nodes:
        start, end = n.metadata["start"], n.metadata["end"]
        assert SECTIONED[start:end] == n.text
        assert not (start < valves < end - 1), "a chunk crosses the Valves heading"
        if "seal is changed" in n.text:
            assert n.metadata["section"] == "Seals" and (start >= seals or start == 0)
        if "valve is checked" in n.text and "Short note" not in n.text:
            assert n.metadata["section"] == "Valves"
    # the title heading (tiny) is merged into the first section; the tiny last one into its neighbour
    assert nodes[0].metadata["start"] == 0 and "seal is changed" in nodes[0].text
    assert "Short note." in nodes[-1].text and "valve is checked" in nodes[-1].text


def test_without_section_chunks_a_chunk_may_cross_headings():
    nodes = _section_chunks(SECTIONED, on=False)
    valves = SECTIONED.index("## Valves")
    assert any(n.metadata["start"] < valves < n.metadata["end"] for n in nodes)


def test_title_and_section_are_embedded_not_quoted():
    from llama_index.core.schema import MetadataMode

    from rag.retrieve import chunk_from

    node = [n for n in _section_chunks(SECTIONED) if n.metadata.get("section") == "Valves"][0]
    embedded = node.get_content(metadata_mode=MetadataMode.EMBED)
    assert embedded.startswith("Pump manual\nValves\n\n") and embedded.endswith(node.text)
    assert "m.md" not in embedded and "blocks" not in embedded
    assert node.get_content(metadata_mode=MetadataMode.LLM) == node.text
    chunk = chunk_from(node.id_, node.text, {**node.metadata, "ref_doc_id": "m.md"})
    assert chunk.index_text == embedded and chunk.section == "Valves" and chunk.text == node.text


def test_pdf_pages_reach_chunk_metadata():
    text = "First page sentence one is here.\n\f\nSecond page has the answer: 42 bar.\n"
    nodes = _section_chunks(text, size=8)
    pages = {n.text: n.metadata.get("page") for n in nodes}
    assert pages[[t for t in pages if "42 bar" in t][0]] == 2
