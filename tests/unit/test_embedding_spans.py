"""Sentence vectors pooled from a chunk's own forward pass (OnnxMiniLM.embed_spans)."""

import re

import numpy as np
import pytest

from rag.embeddings import MINILM_MAX_TOKENS, SpanEmbedder, span_tokens


def _spans(text: str) -> list[tuple[int, int]]:
    """Sentences of a small test text: up to a full stop, whitespace (line breaks too) around."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\s.][^.]*\.", text)]


def _encode(embedder, text: str):
    return embedder._tok.encode(text)


@pytest.mark.parametrize("text", [
    "The alpha pump runs\nat 40 bar. It was serviced in\nMay by the night crew.",  # hard-wrapped
    "Café naïve — Ünïcödé wörks. 日本語のテキスト も 大丈夫. Émile's “quoted” façade stood.",
])
def test_span_tokens_are_exactly_the_span(onnx_embedder, text):
    enc = _encode(onnx_embedder, text)
    for a, b in _spans(text):
        toks = span_tokens(enc, (a, b))
        assert toks is not None
        offs = [enc.offsets[j] for j in toks]
        assert offs[0][0] == a and offs[-1][1] == b  # first and last token at the span's ends
        assert toks == list(range(toks[0], toks[-1] + 1))  # contiguous
        assert not any(enc.special_tokens_mask[j] for j in toks)
        outside = [j for j, (s, e) in enumerate(enc.offsets) if not enc.special_tokens_mask[j] and j not in toks]
        assert all(e <= a or s >= b for s, e in (enc.offsets[j] for j in outside))


def test_span_past_the_window_is_none(onnx_embedder):
    words = " ".join(f"word{i}" for i in range(400))
    text = f"Opening line here. {words}. Closing line here."
    enc = _encode(onnx_embedder, text)
    assert len(enc.ids) == MINILM_MAX_TOKENS and enc.overflowing
    first, last = (0, len("Opening line here.")), (text.rindex("Closing"), len(text))
    assert span_tokens(enc, first) is not None
    assert span_tokens(enc, last) is None


def test_text_vectors_are_those_of_embed(onnx_embedder):
    texts = ["Short one.", "A second, rather longer text. It has two sentences."]
    vecs, spans = onnx_embedder.embed_spans(texts, [[(0, 10)], _spans(texts[1])])
    assert np.allclose(vecs, onnx_embedder.embed(texts), atol=1e-5)
    assert [len(s) for s in spans] == [1, 2]
    assert isinstance(onnx_embedder, SpanEmbedder)


@pytest.mark.parametrize("prefix", ["", "Alpha report\n\n"])
def test_pooled_vector_of_a_one_sentence_chunk_is_the_standalone_one(onnx_embedder, prefix):
    sentence = "The alpha pump runs at 40 bar and was serviced in May by the night crew."
    _, spans = onnx_embedder.embed_spans([prefix + sentence], [[(len(prefix), len(prefix) + len(sentence))]])
    pooled = np.asarray(spans[0][0])
    alone = np.asarray(onnx_embedder.embed([sentence])[0])
    assert abs(np.linalg.norm(pooled) - 1) < 1e-5
    assert float(pooled @ alone) > 0.97


def test_pooled_vector_is_about_its_own_sentence(onnx_embedder):
    """In a two-topic chunk each sentence's pooled vector is nearer its own standalone vector."""
    text = "The beta valve leaks when it is cold. Lisbon hosted the football final in May."
    spans = _spans(text)
    _, pooled = onnx_embedder.embed_spans([text], [spans])
    alone = onnx_embedder.embed([text[a:b] for a, b in spans])
    sims = np.asarray(pooled[0]) @ np.asarray(alone).T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]
