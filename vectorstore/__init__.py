"""Chroma: embedded (default) or a Chroma server, with the embedder's identity recorded."""

from vectorstore.chroma import ChromaStore, open_store

__all__ = ["ChromaStore", "open_store"]
