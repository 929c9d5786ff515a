"""Fuzz (hypothesis, bounded): the chunker, the sentence splitter and citation handling never
crash on structured or arbitrary text, and their span invariants hold.

- chunks: text == source[start:end], ordered, ids "<doc>#<n>", every non-space character
  covered, block metadata inside the chunk, on structured text (headings, lists, tables,
  code, page breaks) and on arbitrary Unicode;
- sentences (real spaCy): text == source[start:end], inside their chunk, stripped, ordered
  and non-overlapping;
- extractive citations: quote == source[start:end], every [n] in the answer, numbered 1..k;
- generated-answer citations (the verifier, any markers the model writes, in or out of
  range): no crash; a kept answer's markers are exactly its citations 1..k, each quote the
  exact source span.

The existing fuzz tests cover the rest: tests/unit/test_chunking.py (word alphabet),
test_structure.py and test_sentences.py (exactness on arbitrary text), test_fuzz_question.py,
test_ui_render.py (markers and markup on the page).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rag.ingest import SourceRecord, chunk_records
from rag.llm.prompt import Source
from rag.llm.verify import MARKER_RE, RegexSegmenter, Verifier, split_cited
from rag.settings import Settings
from rag.structure import decode_blocks, detect, encode_blocks
from rag.types import REFUSAL_TEXT, Chunk, Hit
from tests.fakes import FakeEmbedder

WORDS = st.sampled_from(
    "NATO China the of valve opens at 3 bar é 2% U.S. e.g. Dr. Smith “quoted” — 20 firms "
    "1.5 v2.4.1 https://x.example/a?b=1 a@b.org 東京 İstanbul ﬁle".split())
SENTENCE = st.builds(lambda ws, end: " ".join(ws) + end, st.lists(WORDS, min_size=1, max_size=14),
                     st.sampled_from([".", "!", "?", "", "...", ".)", ":"]))
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=5).map(" ".join)
BLOCK = st.one_of(
    PARAGRAPH,
    PARAGRAPH.map(lambda p: "\n".join(p[i:i + 37] for i in range(0, len(p), 37))),  # hard-wrapped
    SENTENCE.map(lambda s: "# " + s), SENTENCE.map(lambda s: "## " + s),
    st.lists(SENTENCE, min_size=1, max_size=4).map(lambda xs: "\n".join("- " + x for x in xs)),
    st.lists(SENTENCE, min_size=1, max_size=3).map(lambda xs: "\n".join(f"{i}. {x}" for i, x in enumerate(xs, 1))),
    st.lists(SENTENCE, min_size=2, max_size=3).map(lambda xs: "| " + " | ".join(xs) + " |"),
    SENTENCE.map(lambda s: "```\n" + s + "\n```"),
    st.just("\f"),  # a PDF page break
    SENTENCE.map(lambda s: "09:15 UTC: " + s),
)
SEPARATOR = st.sampled_from(["\n\n", "\n", "\n\n\n", "\r\n\r\n", " \n\n"])
STRUCTURED = st.lists(st.tuples(BLOCK, SEPARATOR), min_size=1, max_size=25).map(
    lambda parts: "".join(b + sep for b, sep in parts))
ARBITRARY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=600)
ANY_TEXT = st.one_of(STRUCTURED, ARBITRARY)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPACY_FUZZ = settings(max_examples=35, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _nodes(text: str, size: int, sections: bool):
    s = Settings(chunk_size=size, chunk_overlap=min(8, size // 4), section_chunks=sections)
    return chunk_records(s, FakeEmbedder(), [SourceRecord("doc.txt", text, "Doc", "doc.txt")])


@FUZZ
@given(ANY_TEXT, st.sampled_from([12, 40, 160]), st.booleans())
def test_chunks_are_exact_ordered_covering_spans(text, size, sections):
    nodes = _nodes(text, size, sections)
    if not text.strip():
        return
    assert [n.id_ for n in nodes] == [f"doc.txt#{i}" for i in range(len(nodes))]
    spans = [(n.metadata["start"], n.metadata["end"]) for n in nodes]
    for node, (start, end) in zip(nodes, spans):
        assert 0 <= start < end <= len(text) and text[start:end] == node.text
        if node.metadata.get("blocks"):
            for b in decode_blocks(node.metadata["blocks"]):
                assert start <= b.start < b.end <= end
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)
    assert [e for _, e in spans] == sorted(e for _, e in spans)
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
    assert [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered] == []


@pytest.fixture(scope="module")
def analyzer():
    from rag.sentences import SentenceAnalyzer

    return SentenceAnalyzer()


def _chunk(text: str, offset: int = 0) -> tuple[Chunk, str]:
    """A chunk holding text at `offset` of its document (blocks from the whole document)."""
    full = "x" * offset + text
    blocks = encode_blocks(detect(full), offset, len(full))
    return Chunk("d#0", "d", "d.txt", "Doc", text, offset, len(full), blocks=blocks), full


@SPACY_FUZZ
@given(ANY_TEXT, st.sampled_from([0, 7]))
def test_sentences_are_exact_inside_ordered_and_disjoint(analyzer, text, offset):
    chunk, full = _chunk(text, offset)
    sentences = analyzer.analyze([chunk])
    last_end = chunk.start
    for s in sentences:
        assert chunk.start <= s.start < s.end <= chunk.end
        assert full[s.start:s.end] == s.text and s.text == s.text.strip() and s.text
        assert s.start >= last_end, "sentences overlap or are out of order"
        last_end = s.end


@SPACY_FUZZ
@given(STRUCTURED, st.sampled_from(["What opens at 3 bar?", "Who is Dr. Smith?",
                                    "How many firms?", "valve", "What does China say?"]))
def test_extractive_citations_are_exact_spans_and_every_marker_is_there(analyzer, text, question):
    from rag.answer import ExtractiveAnswerer

    chunk, full = _chunk(text)
    emb = FakeEmbedder(dimension=128)
    answerer = ExtractiveAnswerer(emb, analyzer, idf=lambda t: 1.0, min_coverage=0.0,
                                  min_similarity=0.0, min_score=0.0)  # let sentences through
    answer = answerer.run(question, [Hit(chunk, 1.0)], emb.embed([question])[0])
    if answer.refused:
        assert answer.text == REFUSAL_TEXT and answer.citations == []
        return
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert full[c.start:c.end] == c.quote and f"[{c.n}]" in answer.text


def _sources(text: str) -> tuple[list[Source], Chunk]:
    chunk = Chunk("d#0", "d", "d.txt", "Doc", text, 0, len(text))
    spans = [m.span() for m in re.finditer(r"[^.!?\n]+[.!?]?", text) if m.group().strip()]
    return [Source(i, chunk, a, b, text[a:b], 0.5) for i, (a, b) in enumerate(spans[:6], 1)], chunk


MARKER = st.one_of(st.integers(-2, 12).map(lambda n: f" [{n}]"),
                   st.lists(st.integers(0, 9), min_size=2, max_size=3).map(
                       lambda ns: " [" + ", ".join(map(str, ns)) + "]"),
                   st.sampled_from([" [1;2]", "[1]", " [ 2 ]", " [x]", " []", " [99999999999999999999]"]))
GENERATED = st.lists(st.tuples(st.one_of(SENTENCE, ARBITRARY.map(lambda t: t[:80])), st.lists(MARKER, max_size=2)),
                     min_size=1, max_size=6).map(
    lambda parts: " ".join(s + "".join(ms) for s, ms in parts))


@FUZZ
@given(GENERATED)
def test_split_cited_never_crashes_and_strips_every_marker(answer):
    for sentence, cited, _ents in split_cited(answer, RegexSegmenter()):
        assert MARKER_RE.search(sentence) is None
        assert all(isinstance(n, int) for n in cited)


@FUZZ
@given(STRUCTURED, GENERATED)
def test_verified_answers_cite_exact_spans_with_markers_one_to_k(source_text, answer):
    sources, _chunk = _sources(source_text)
    v = Verifier(FakeEmbedder(dimension=128), RegexSegmenter()).verify("What opens?", answer, sources)
    if v.refused:
        assert v.text == REFUSAL_TEXT and v.citations == []
        return
    numbers = [c.n for c in v.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    shown = {int(n) for m in MARKER_RE.finditer(v.text) for n in re.split(r"[,;]\s*", m.group(1))}
    assert shown == set(numbers)  # no dangling marker, no citation without its marker
    by_span = {(s.start, s.end): s.text for s in sources}
    for c in v.citations:
        assert by_span[(c.start, c.end)] == c.quote == source_text[c.start:c.end]
