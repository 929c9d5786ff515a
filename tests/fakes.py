"""Fakes that plug in through the real interfaces: the Embedder protocol, the answer
pipeline over a service's components, and an OpenAI-compatible chat server on loopback."""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


class RecordingEmbedder(FakeEmbedder):
    """FakeEmbedder that keeps every text it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return super().embed(texts)

    def embed_one(self, text):
        """The vector of `text`, not recorded."""
        return FakeEmbedder.embed(self, [text])[0]


class FakeRetriever:
    """The Retriever interface answering every question with the same hits."""

    def __init__(self, hits: list) -> None:
        self.hits = hits

    def start_bm25(self, question, top_k=None, mode=None):
        return None

    def retrieve(self, question, top_k=None, query_vec=None, bm25=None):
        return list(self.hits)


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


# --- an OpenAI-compatible chat server on loopback ------------------------------------------
def numbered_sources(prompt: str) -> dict[int, str]:
    """The sources of a prompt, as the pipeline numbers them ("[n] text" lines)."""
    return {int(n): text for n, text in re.findall(r"^\[(\d+)\] (.*)$", prompt, re.M)}


def quote_first_source(sources: dict[int, str], question: str) -> str:
    """A model that answers with its first source, cited."""
    return f"{sources[1]} [1]" if 1 in sources else "Nothing."


class FakeLLM:
    """How a loopback OpenAI-compatible server answers, and every request it received.

    `behaviour`: "ok"; "timeout" (waits `delay` s, then an empty body); "500" or "429" (that
    error); "garbage" (a stream that is not JSON); "cut" (the connection closed after two
    words). `reply(sources, question)` is the answer, streamed a word at a time, `word_delay`
    s apart; `after_first_word` may hold the stream (subclasses)."""

    def __init__(self, reply: Callable[[dict[int, str], str], str] = quote_first_source,
                 word_delay: float = 0.0) -> None:
        self.behaviour = "ok"
        self.reply = reply
        self.delay = 0.0
        self.word_delay = word_delay
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.base_url = ""  # http://127.0.0.1:PORT/v1 once served
        self.hung_up = threading.Event()  # the client closed a stream before its end

    def after_first_word(self, send: Callable[[str], None]) -> None:
        """Called once the first word is out; `send(text)` streams more."""


def _llm_handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # /v1/models: the endpoint probe
            self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if not self.path.endswith("/chat/completions"):  # e.g. llama.cpp's /tokenize
                return self._json(404, {"error": "not found"})
            fake.requests.append(body)
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            try:
                self._answer(body["messages"][-1]["content"])
            except OSError:  # the client closed the stream
                fake.hung_up.set()

        def _answer(self, prompt: str) -> None:
            b = fake.behaviour
            if b == "timeout":
                time.sleep(fake.delay)
                return self._json(200, {})
            if b in ("500", "429"):
                return self._json(int(b), {"error": {"message": "nope", "type": "server_error"}})
            question = re.search(r"^Question: (.*)$", prompt, re.M)
            text = fake.reply(numbered_sources(prompt), question.group(1) if question else "")
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            if b == "garbage":
                self.wfile.write(b"data: {this is not json\n\ndata: \x00\x01garbage\n\n")
                return
            for i, word in enumerate(re.findall(r"\S+\s*", text)):
                if b == "cut" and i == 2:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._chunk({"content": word}, None)
                if i == 0:
                    fake.after_first_word(lambda more: self._chunk({"content": more}, None))
                if fake.word_delay:
                    time.sleep(fake.word_delay)
            self._chunk({}, "stop")
            self.wfile.write(b"data: [DONE]\n\n")

        def _chunk(self, delta: dict, finish: str | None) -> None:
            event = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            self.wfile.flush()

        def _json(self, code: int, obj: dict) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def serving(fake: FakeLLM) -> Iterator[FakeLLM]:
    """`fake` answering on a free loopback port (`fake.base_url`) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _llm_handler(fake))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
