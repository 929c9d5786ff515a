"""Fakes that plug in through the real interfaces (the Embedder protocol)."""

from __future__ import annotations

import hashlib
import math
import re


class FakeEmbedder:
    """Deterministic bag-of-words hashing vectors: same words → similar vectors."""

    def __init__(self, dimension: int = 64, name: str | None = None) -> None:
        self.dimension = dimension
        self.name = name or f"fake-hash/{dimension}"
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def embed(self, texts):
        self.calls += 1
        out = []
        for text in texts:
            vec = [0.0] * self.dimension
            for word in re.findall(r"\w+", text.lower()):
                vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with Helvetica text lines (ASCII), xref offsets computed."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
        "(" + ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for ln in lines
    ) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


class SwappablePipeline:
    """The real AnswerPipeline + LLMBackend over a service's components, rebuilt whenever a
    test assigns new `settings` (the components themselves are reused)."""

    def __init__(self, svc, settings, local=None) -> None:
        self.svc, self.local = svc, local
        self.settings = settings

    @property
    def settings(self):
        return self._settings

    @settings.setter
    def settings(self, settings) -> None:
        from rag.llm.backend import LLMBackend
        from rag.pipeline import AnswerPipeline

        svc = self.svc
        self._settings = settings
        self.backend = LLMBackend(settings, svc.embedder, svc.analyzer,
                                  lambda t: svc.retriever.bm25.idf(t), local=self.local)
        self.pipeline = AnswerPipeline(settings, svc.embedder, svc.retriever, svc.extractive,
                                       svc.analyzer, generator=self.backend)

    def stream(self, *args, **kwargs):
        return self.pipeline.stream(*args, **kwargs)

    def ask(self, *args, **kwargs):
        return self.pipeline.ask(*args, **kwargs)
