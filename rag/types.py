"""Answers as data: rendered by the CLI, the web chat and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Chunk:
    """One indexed passage: text == extracted source text[start:end]."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    section: str = ""  # heading path "A > B" (title left out)
    page: int | None = None  # PDF page the chunk starts on
    blocks: str = ""  # its block structure (rag.structure.encode_blocks JSON), "" if unknown

    @property
    def index_text(self) -> str:
        """Title and section, then the text: what is embedded and indexed lexically."""
        from rag.structure import index_text

        return index_text(self.title, self.section, self.text)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the per-retriever ranks behind it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    bm25_score: float | None = None


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    chunk_id: str
    quote: str
    start: int
    end: int
    score: float
    title: str = ""
    page: int | None = None  # PDF page of the quote
    section: str = ""  # heading path of the quote, "A > B"

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("page", "section"):
            if not out[key]:
                del out[key]
        return out

    @property
    def location(self) -> str:
        """ "Section A > B, p. 3" (either part may be missing)."""
        return ", ".join(x for x in (self.section, f"p. {self.page}" if self.page else "") if x)


@dataclass(frozen=True)
class SentenceSupport:
    """How well one generated sentence is supported by the sources (generative mode)."""

    text: str
    supported: bool
    score: float  # best support, 0..1
    citations: tuple[int, ...] = ()  # numbers in Answer.citations, after repair
    cited: tuple[int, ...] = ()  # source numbers the model wrote
    reason: str = ""  # why it is unsupported

    def to_dict(self) -> dict:
        return {"text": self.text, "supported": self.supported, "score": self.score,
                "citations": list(self.citations), "cited": list(self.cited),
                **({"reason": self.reason} if self.reason else {})}


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    mode: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    notice: str | None = None
    sentences: list[SentenceSupport] = field(default_factory=list)  # generative only
    llm: dict = field(default_factory=dict)  # generative only: model, prompt_tokens, sources...

    def to_dict(self) -> dict:
        out = {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.notice:
            out["notice"] = self.notice
        if self.sentences:
            out["sentences"] = [s.to_dict() for s in self.sentences]
        if self.llm:
            out["llm"] = dict(self.llm)
        return out


@dataclass
class Event:
    """One step of `RagService.stream`: "retrieval", ["provisional"], "token"s, one "answer".

    retrieval: `question` is the (condensed) question searched, `hits` what was found;
    provisional: `answer` is the extractive Answer, cited, shown until the verified one
      arrives (generative mode, when the refusal gate passes; before any LLM work);
    token: `text` is the next piece of the raw model output (provisional);
    answer: `answer` is the final verified Answer (authoritative; replaces the others).
    """

    type: str  # "retrieval" | "provisional" | "token" | "answer"
    text: str = ""
    question: str = ""
    hits: list[Hit] = field(default_factory=list)
    answer: Answer | None = None


REFUSAL_TEXT = "I can't find that in the documents."
