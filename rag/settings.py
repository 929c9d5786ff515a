"""One typed Settings object, built once at the entry point and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the product. Read from `RAG_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # where things live
    data_dir: Path = Field(Path("data"), description="Index, docstore, uploads, models.")
    seeds_dir: Path = Path("seeds")
    collection: str = "documents"

    # vector store: embedded Chroma by default, a Chroma server when one machine is not enough
    chroma_mode: Literal["embedded", "server"] = "embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000
    # server mode: "shared" = the collection is named `collection` (replicas over one data dir);
    # "data_dir" = its name also carries a hash of the data dir's path, so independent data
    # dirs (CI's server-mode test pass) can share one server without seeing each other's chunks
    chroma_collection_scope: Literal["shared", "data_dir"] = "shared"

    # embeddings
    embedder: Literal["onnx", "torch", "openai"] = "onnx"
    embed_model: str = "text-embedding-3-small"  # only for embedder=openai
    embed_base_url: str | None = None  # only for embedder=openai
    embed_batch_size: int = 8  # measured: 8 is faster than 32 on 2 cores and peaks at ~1/3 the memory

    # chunking, in the embedder's word pieces (MiniLM reads at most 256)
    chunk_size: int = 160
    chunk_overlap: int = 32
    section_chunks: bool = True  # chunks never straddle a heading (tiny sections merged)

    # retrieval
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = 5
    # fusion of dense and BM25 (EVALS.md "Fusion"): convex = alpha * minmax(dense) +
    # (1 - alpha) * minmax(bm25) over the top fusion_depth of each; rrf = reciprocal rank
    fusion: Literal["convex", "rrf"] = "convex"
    fusion_alpha: float = Field(0.6, ge=0.0, le=1.0)
    fusion_depth: int = Field(60, ge=1)
    rrf_k: int = 60
    # dense candidates re-scored with their best stored sentence (BENCHMARKS.md "sentence-first"):
    # (1 - w) * chunk cosine + w * max(chunk cosine, best sentence cosine); 0 = off
    dense_sentence_weight: float = Field(0.0, ge=0.0, le=1.0)

    # ingest
    ingest_batch_docs: int = 32  # documents per pipeline run (one Chroma + SQLite commit each)
    precompute_sentences: bool = True  # sentence spans, entities and vectors stored at ingest
    # stored sentence vectors: "pooled" from the chunk's own forward pass (no second pass; fails the
    # seed gate, BENCHMARKS.md "Ingest: pooled sentence vectors"; the
    # embedder must support it, else standalone) or "standalone" (each sentence embedded alone)
    # or "sentence_first" (each sentence embedded alone, and a chunk's vector is the word-piece
    # weighted mean of its sentences' and header's: no chunk pass; 0.57 of raw, not the default:
    # squad/rgb refusals drop, BENCHMARKS.md "Ingest: sentence-first chunk vectors")
    sentence_vectors: Literal["pooled", "standalone", "sentence_first"] = "standalone"

    # answering
    mode: Literal["extractive", "generative", "auto"] = "auto"
    max_question_chars: int = 2000
    max_answer_sentences: int = 3

    # one writer per data dir: seconds to wait for another process's ingest lock
    ingest_lock_wait: float = 600.0

    # generative LLM (OpenAI-compatible); never used unless configured
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_temperature: float = 0.0
    llm_max_tokens: int = 128  # answers are 1-3 short sentences (~15-40 tokens); bounds a runaway
    llm_context_window: int = 4096
    llm_timeout: float = 60.0
    # generative path details (rag/llm)
    llm_max_sources: int = 4  # source sentences put in the prompt (fewer = faster first token)
    llm_source_chars: int = 480  # ...and at most this many characters of them, beyond the gate's
    llm_history_turns: int = 3  # chat turns used to condense a follow-up question
    llm_condense: bool = True  # let the LLM rewrite follow-ups (validated; heuristic otherwise)
    llm_probe_timeout: float = 1.5  # auto mode: seconds to wait for the endpoint's /models
    llm_threads: int = 0  # `rag llm serve`: CPU threads; 0 = cores less one (at least 1)
    llm_batch_threads: int = 0  # `rag llm serve`: prompt-processing threads; 0 = one per core
    llm_speculative: str = ""  # `rag llm serve`: llama.cpp n-gram speculation (e.g. ngram_simple); "" = off
    llm_port: int = 8080  # `rag llm serve`: port on 127.0.0.1 (0 = any free port)
    # the bundled model server `rag serve` manages when no endpoint is configured (rag/llm/managed.py)
    local_llm: Literal["auto", "off"] = "auto"  # off: never start one
    local_llm_model: Literal["default", "small"] = "default"  # small: SmolLM2-135M (tests)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def chroma_collection(self) -> str:
        """The Chroma collection's name (see chroma_collection_scope)."""
        if self.chroma_mode != "server" or self.chroma_collection_scope == "shared":
            return self.collection
        import hashlib

        digest = hashlib.sha1(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        return f"{self.collection}-{digest}"

    @property
    def index_path(self) -> Path:
        """SQLite (WAL): lexical index, documents catalogue, stored sentences."""
        return self.data_dir / f"index-{self.collection}.sqlite"

    @property
    def docstore_path(self) -> Path:
        """What ingest's killed-write recovery is keyed on: now the SQLite index file."""
        return self.index_path

    @property
    def legacy_docstore_path(self) -> Path:
        """The JSON docstore of data dirs built before the SQLite catalogue (migrated once)."""
        return self.data_dir / f"docstore-{self.collection}.json"
