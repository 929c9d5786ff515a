"""The baseline: a plain llama-index pipeline over the same corpus and embedder.

Built the default llama-index way: VectorStoreIndex over a Chroma collection (Chroma's
default l2 space) through ChromaVectorStore, default SentenceSplitter (1,024 tokens, 200
overlap), our embedder wrapped by rag.llama_adapters.EmbedderAdapter, and the default
retriever (similarity_top_k=2). Without an LLM its "answer" is the two retrieved chunks
(it never refuses); with an LLM configured (RAG_LLM_*), CitationQueryEngine answers through
evals.llama_llm.OpenAICompatibleLLM.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from evals.data import EvalQuestion, EvalSet
from evals.runner import Config, Unavailable, _ms, base_row, collection_name

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 2  # llama-index's default similarity_top_k
DEPTH = 20
INSERT_BATCH = 256
META_KEYS = ["doc_id", "title", "source"]


class BaselineRunner:
    def __init__(self, settings: Settings, ds: EvalSet, embedder) -> None:
        self.settings = settings
        self.ds = ds
        self.texts = ds.texts
        self.embedder = embedder
        self.collection = collection_name("baseline", ds, settings, embedder.name)
        self.path = settings.data_dir / "eval-baseline"
        self._index = None
        self._engines: dict = {}

    # --- index ---------------------------------------------------------------------------
    def _client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False))

    def _marker(self):
        return self.path / f"{self.collection}.done"

    def ingest(self, progress_factory=None) -> dict:
        """Build the index once; a completed build is marked and reused on reruns."""
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from rag.llama_adapters import EmbedderAdapter

        client = self._client()
        done = self._marker().exists()
        if not done and self.collection in [c.name for c in client.list_collections()]:
            client.delete_collection(self.collection)  # a killed build: start again
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection(self.collection))
        ctx = StorageContext.from_defaults(vector_store=store)
        embed = EmbedderAdapter.wrap(self.embedder)
        t0 = time.perf_counter()
        if done:
            self._index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
            return {"collection": self.collection, "reused": True, **json.loads(self._marker().read_text())}
        nodes = self._nodes()
        self._index = VectorStoreIndex([], storage_context=ctx, embed_model=embed)
        progress = progress_factory(len(nodes), "baseline ingest") if progress_factory else None
        for lo in range(0, len(nodes), INSERT_BATCH):
            self._index.insert_nodes(nodes[lo:lo + INSERT_BATCH])
            if progress:
                progress(len(nodes[lo:lo + INSERT_BATCH]))
        info = {"chunks": len(nodes), "seconds": round(time.perf_counter() - t0, 2)}
        self._marker().write_text(json.dumps(info))
        return {"collection": self.collection, "reused": False, **info}

    def _nodes(self):
        """What VectorStoreIndex.from_documents would index: the default transformations."""
        from llama_index.core import Document
        from llama_index.core import Settings as LlamaSettings
        from llama_index.core.ingestion import run_transformations

        docs = [
            Document(id_=r.doc_id, text=r.text, metadata={"doc_id": r.doc_id, "title": r.title, "source": r.source},
                     excluded_embed_metadata_keys=META_KEYS, excluded_llm_metadata_keys=META_KEYS)
            for r in self.ds.records
        ]
        return run_transformations(docs, LlamaSettings.transformations)

    # --- questions -----------------------------------------------------------------------
    def check(self, cfg: Config) -> None:
        if cfg.mode == "generative":
            self._engines[cfg.slug] = self._citation_engine(cfg)

    def _citation_engine(self, cfg: Config):
        s = self.settings
        if not (s.llm_base_url or s.llm_api_key):
            raise Unavailable("no LLM endpoint configured (RAG_LLM_BASE_URL / RAG_LLM_API_KEY)")
        from llama_index.core.query_engine import CitationQueryEngine

        from evals.llama_llm import OpenAICompatibleLLM

        llm = OpenAICompatibleLLM.from_settings(s)
        return CitationQueryEngine.from_args(self._index, llm=llm, similarity_top_k=cfg.top_k)

    def answer(self, cfg: Config, q: EvalQuestion) -> dict:
        row = base_row(q)
        t0 = time.perf_counter()
        engine = self._engines.get(cfg.slug)
        if engine is not None:
            row.update(self._generate(engine, q))
        else:
            nodes = self._index.as_retriever(similarity_top_k=cfg.top_k).retrieve(q.question)
            row.update(answer="\n\n".join(n.node.get_content() for n in nodes), answer_kind="retrieved-chunks",
                       citations=self._citations(nodes), context_doc_ids=[_doc_id(n.node) for n in nodes])
        row["latency_ms"] = _ms(t0)
        ranked = self._index.as_retriever(similarity_top_k=DEPTH).retrieve(q.question)
        row["ranked_doc_ids"] = [_doc_id(n.node) for n in ranked]
        return row

    def _generate(self, engine, q: EvalQuestion) -> dict:
        response = engine.query(q.question)
        nodes = response.source_nodes
        return {"answer": str(response), "citations": self._citations(nodes),
                "context_doc_ids": [_doc_id(n.node) for n in nodes]}

    def _citations(self, nodes) -> list[dict]:
        out = []
        for n in nodes:
            node, doc_id = n.node, _doc_id(n.node)
            text = self.texts.get(doc_id)
            quote = node.get_content()
            start, end = node.start_char_idx, node.end_char_idx
            exact = text is not None and start is not None and text[start:end] == quote
            out.append({"doc_id": doc_id, "start": start, "end": end, "quote": quote, "exact": exact})
        return out


def _doc_id(node) -> str:
    """The source document of a node (citation chunks keep it only in metadata)."""
    return node.metadata.get("doc_id") or node.ref_doc_id or ""
