"""The OpenAI-compatible HTTP API: thin routes over the RagService the web page uses.

Routes validate, take a slot from the shared Limiter (full → 429 at once), run the
synchronous service in the threadpool (never on the event loop) and render its Answer
in OpenAI's shapes. Errors are OpenAI-shaped: {"error": {"message", "type", "param", "code"}}.

Streaming (`stream: true`): server-sent events in OpenAI's chunk format, ending with
`data: [DONE]`. Events of `RagService.stream` are mapped as: "token" → content deltas (raw
model output, generative mode); "answer" → the answer's text in pieces when no token was
streamed (extractive mode), then a last chunk with `finish_reason` and the extra fields
`citations`, `refused`, `mode`, `answer` (the verified text) and `notice`; "provisional" (the
gate's cited extractive answer, generative mode, before the model is called) → one early chunk
with an empty delta and the extra field `provisional: {answer, citations, mode, notice}`, which
plain OpenAI clients ignore (the content deltas stay the generated answer) and clients that know
it show at once, then replace with the verified `answer` of the last chunk. Other event types
are ignored.
"""

from __future__ import annotations

import hmac
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import ConfigError, InputError, RagError, StoreUnavailableError
from rag.types import Answer, Event, Hit

log = logging.getLogger(__name__)

MODELS = {"rag-extractive": "extractive", "rag-generative": "generative", "rag-auto": "auto"}
MAX_MESSAGES = 200
MAX_TOTAL_CHARS = 200_000  # all messages together (the question alone: settings.max_question_chars)
MAX_TOP_K = 50
RETRY_AFTER_S = 2
LOAD_WAIT_S = 120.0  # a request sent while the server loads its models waits this long, then 503
REJECTED_PARAMS = ("tools", "tool_choice", "functions", "function_call")


# --- errors ---------------------------------------------------------------------------
class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def busy() -> ApiError:
    return ApiError(429, "the server is busy answering other requests; retry shortly",
                    "rate_limit_error", "rate_limit_exceeded",
                    headers={"Retry-After": str(RETRY_AFTER_S)})


def from_rag_error(exc: RagError) -> ApiError:
    if isinstance(exc, InputError):
        return ApiError(400, str(exc), code="invalid_input")
    if isinstance(exc, StoreUnavailableError):  # the Chroma server is down: retry later
        return ApiError(503, str(exc), "server_error", "store_unavailable",
                        headers={"Retry-After": str(RETRY_AFTER_S)})
    if isinstance(exc, ConfigError):
        return ApiError(400, str(exc), code="unavailable")
    return ApiError(500, f"internal error ({type(exc).__name__})", "server_error")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    param = ".".join(loc) or None
    return (f"{param}: {first.get('msg')}" if param else str(first.get("msg"))), param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        message, param = _validation_message(exc)
        return ApiError(400, message, param=param).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        return ApiError(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})).response()


# --- request / response models --------------------------------------------------------
class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat request. Sampling knobs are accepted and ignored (the server's apply)."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description="rag-extractive | rag-generative | rag-auto")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, description="only 1 is supported")
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    tools: list[Any] | None = Field(None, description="not supported (rejected)")
    tool_choice: Any = Field(None, description="not supported (rejected)")
    response_format: dict[str, Any] | None = Field(None, description="only {'type': 'text'}")
    logprobs: bool | None = Field(None, description="not supported (rejected when true)")
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K, description="extension: passages to retrieve")
    stream_tokens: bool = Field(True, description=(
        "extension, generative mode: stream the model's tokens as they come (provisional; the "
        "last chunk's `answer` is the verified text); false: stream only the verified text"))


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class CitationOut(BaseModel):
    n: int
    source: str
    title: str
    chunk_id: str
    quote: str = Field(description="exactly text[start:end] of the source")
    start: int
    end: int
    score: float
    page: int | None = Field(None, description="PDF page of the quote, where known")
    section: str | None = Field(None, description="heading path of the quote (\"A > B\"), where known")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[CitationOut]
    refused: bool
    mode: str = Field(description="the mode that produced the answer")
    notice: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "rag-chat"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class RetrieveRequest(BaseModel):
    question: str = Field(validation_alias=AliasChoices("question", "query"))
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K)


class RetrievedChunk(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None


class RetrieveResponse(BaseModel):
    object: Literal["list"] = "list"
    question: str
    data: list[RetrievedChunk]


class DocumentOut(BaseModel):
    doc_id: str
    source: str
    title: str
    chunks: int


class DocumentList(BaseModel):
    object: Literal["list"] = "list"
    data: list[DocumentOut]


class AcceptedFile(BaseModel):
    name: str
    doc_id: str
    status: str
    chunks: int


class RejectedFile(BaseModel):
    name: str
    reason: str


class DuplicateFile(BaseModel):
    name: str
    duplicate_of: str = Field(description="the indexed document (or earlier file) with the same bytes")


class UploadReport(BaseModel):
    accepted: list[AcceptedFile]
    duplicates: list[DuplicateFile] = Field(default_factory=list, description=(
        "files whose bytes are already indexed under another name: not indexed again"))
    rejected: list[RejectedFile]


class Deleted(BaseModel):
    id: str
    object: Literal["document"] = "document"
    deleted: bool = True


class LlmHealth(BaseModel):
    configured: bool
    reachable: bool | None = None
    model: str | None = None


class Health(BaseModel):
    status: Literal["ok", "loading"] = Field("ok", description=(
        "loading: the page is served, the models are still loading (counts are null)"))
    documents: int | None
    chunks: int | None
    embedder: str | None
    llm: LlmHealth


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS = {s: {"model": ErrorResponse} for s in (400, 401, 404, 413, 429, 503)}


# --- context: what the routes share with the page --------------------------------------
@dataclass
class ApiContext:
    svc: Any  # RagService
    chat: Any  # ui.app.ChatApp: its gate, limiter and upload handling
    api_key: SecretStr | None = None

    @property
    def limiter(self):
        return self.chat.limiter

    @property
    def gate(self):
        return self.chat.gate

    @property
    def loading(self) -> bool:
        loader = getattr(self.chat, "loader", None)  # none: nothing to load (in-process use)
        return loader is not None and not loader.ready

    def await_loading(self) -> None:
        """Wait (in the threadpool) for start-up loading; 503 if it takes too long."""
        if self.loading and not self.chat.loader.wait(LOAD_WAIT_S):
            raise ApiError(503, "the server is still loading its models; retry shortly",
                           "server_error", "loading", headers={"Retry-After": str(RETRY_AFTER_S)})


def _auth_dependency(ctx: ApiContext) -> Callable:
    bearer = HTTPBearer(auto_error=False, description="RAG_API_KEY, when the server has one")

    # async: no threadpool hop per request (a 429 must not wait behind the answers in flight)
    async def require_key(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if ctx.api_key is None:
            return
        given = creds.credentials if creds else ""
        if not hmac.compare_digest(given.encode(), ctx.api_key.get_secret_value().encode()):
            raise ApiError(401, "missing or incorrect API key (Authorization: Bearer ...)",
                           code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    return require_key


async def _in_slot(ctx: ApiContext, fn: Callable, *args):
    """fn(*args) in the threadpool while holding a limiter slot; 429 when none is free."""
    if not ctx.limiter.try_acquire():
        raise busy()
    try:
        return await run_in_threadpool(fn, *args)
    except RagError as exc:
        raise from_rag_error(exc) from exc
    finally:
        ctx.limiter.release()


# --- chat completions ------------------------------------------------------------------
@dataclass
class ChatCall:
    question: str
    history: list[dict]
    mode: str
    model: str
    top_k: int | None


def _text_of(msg: ChatMessage) -> str:
    if msg.content is None or isinstance(msg.content, str):
        return msg.content or ""
    texts = []
    for part in msg.content:
        if part.type != "text" or part.text is None:
            raise ApiError(400, f"content parts of type {part.type!r} are not supported; send text",
                           param="messages")
        texts.append(part.text)
    return "\n".join(texts)


def _check_params(req: ChatRequest) -> None:
    if req.n not in (None, 1):
        raise ApiError(400, "n > 1 is not supported: one answer per request", param="n")
    for name in REJECTED_PARAMS:
        if getattr(req, name, None) not in (None, [], "none"):
            raise ApiError(400, f"{name} is not supported (answers come from the documents only)",
                           param=name)
    if req.response_format and req.response_format.get("type", "text") != "text":
        raise ApiError(400, "only response_format {'type': 'text'} is supported",
                       param="response_format")
    if req.logprobs:
        raise ApiError(400, "logprobs are not supported", param="logprobs")


def parse_chat(req: ChatRequest, max_question_chars: int) -> ChatCall:
    """Question (the last user message), history (what came before it), mode."""
    if req.model not in MODELS:
        raise ApiError(404, f"the model {req.model!r} does not exist; use one of {', '.join(MODELS)}",
                       code="model_not_found", param="model")
    _check_params(req)
    texts = [_text_of(m) for m in req.messages]
    if sum(len(t) for t in texts) > MAX_TOTAL_CHARS:
        raise ApiError(400, f"the messages are too long (over {MAX_TOTAL_CHARS} characters)",
                       code="context_length_exceeded", param="messages")
    users = [i for i, m in enumerate(req.messages) if m.role == "user"]
    if not users:
        raise ApiError(400, "no user message: the last user message is the question", param="messages")
    question = texts[users[-1]].strip()
    if not question:
        raise ApiError(400, "the question (last user message) is empty", param="messages")
    if len(question) > max_question_chars:
        raise ApiError(400, f"the question is too long ({len(question)} characters; at most "
                       f"{max_question_chars})", code="context_length_exceeded", param="messages")
    history = [{"role": m.role, "content": t} for m, t in zip(req.messages[:users[-1]], texts)
               if m.role in ("user", "assistant") and t.strip()]
    return ChatCall(question, history, MODELS[req.model], req.model, req.top_k)


def citations_of(answer: Answer) -> list[dict]:
    return [{"page": None, "section": None, **c.to_dict()} for c in answer.citations]


def usage_of(answer: Answer, completion_chunks: int) -> dict:
    """Extractive answers use no model tokens (zeros); generative: the answer prompt's tokens
    and the model's streamed chunks (one token each on llama.cpp and OpenAI)."""
    prompt = int(answer.llm.get("prompt_tokens", 0)) if answer.llm.get("called") else 0
    done = completion_chunks if answer.llm.get("called") else 0
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def _extras(answer: Answer) -> dict:
    return {"citations": citations_of(answer), "refused": answer.refused, "mode": answer.mode,
            "notice": answer.notice}


def provisional_of(answer: Answer) -> dict:
    """The early chunk's extension field: the cited extractive answer shown until the verified one."""
    return {"answer": answer.text, "citations": citations_of(answer), "mode": "extractive",
            "notice": answer.notice}


def start_stream(ctx: ApiContext, call: ChatCall) -> Iterator[Event]:
    """The service's event stream, first event already computed (validation errors raise here)."""
    ctx.await_loading()
    with ctx.gate.read():  # retrieval happens before the first event
        if ctx.svc.store.count() == 0:
            raise InputError("no documents are indexed yet: upload some first (POST /v1/documents)")
        return ctx.svc.stream(call.question, history=call.history, mode=call.mode, top_k=call.top_k)


def complete(ctx: ApiContext, call: ChatCall) -> dict:
    answer, tokens = None, 0
    for event in start_stream(ctx, call):
        if event.type == "token":
            tokens += 1
        elif event.type == "answer":
            answer = event.answer
    if answer is None:
        raise RagError("the answer stream ended without an answer")
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
        "created": int(time.time()), "model": call.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                     "finish_reason": "stop"}],
        "usage": usage_of(answer, tokens), **_extras(answer),
    }


class ChunkWriter:
    """Service events → OpenAI `chat.completion.chunk` SSE lines."""

    def __init__(self, model: str, include_usage: bool, stream_tokens: bool) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model, self.include_usage, self.stream_tokens = model, include_usage, stream_tokens
        self.tokens = 0

    def _sse(self, choices: list[dict], **extra) -> str:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": choices, **extra}
        return f"data: {json.dumps(body)}\n\n"

    def _delta(self, delta: dict, finish: str | None = None, **extra) -> str:
        return self._sse([{"index": 0, "delta": delta, "finish_reason": finish}], **extra)

    def start(self) -> list[str]:
        return [self._delta({"role": "assistant", "content": ""})]

    def feed(self, event: Event) -> list[str]:
        if event.type == "token":
            self.tokens += 1
            return [self._delta({"content": event.text})] if self.stream_tokens and event.text else []
        if event.type == "provisional" and event.answer is not None:
            return [self._delta({}, provisional=provisional_of(event.answer))]
        if event.type == "answer" and event.answer is not None:
            return self.finish(event.answer)
        return []  # "retrieval", and types this API does not know

    def finish(self, answer: Answer) -> list[str]:
        from ui.streaming import pieces

        out = []
        if not (self.tokens and self.stream_tokens):  # nothing shown yet: the answer itself
            out = [self._delta({"content": p}) for p in pieces(answer.text)]
        usage = usage_of(answer, self.tokens)
        out.append(self._delta({}, "stop", answer=answer.text, **_extras(answer)))
        if self.include_usage:
            out.append(self._sse([], usage=usage))
        return out

    @staticmethod
    def error(err: ApiError) -> str:
        return f"data: {json.dumps(err.body())}\n\n"


class SlotStreamingResponse(StreamingResponse):
    """A stream that gives its limiter slot back however it ends (done, error, disconnect)."""

    def __init__(self, content, release: Callable[[], None], **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()  # runs sse_events' cleanup now, not at garbage collection


async def sse_events(events: Iterator[Event], writer: ChunkWriter) -> AsyncIterator[str]:
    """Pull events in the threadpool; close the service stream on disconnect."""
    try:
        for line in writer.start():
            yield line
        while (event := await run_in_threadpool(next, events, None)) is not None:
            for line in writer.feed(event):
                yield line
        yield "data: [DONE]\n\n"
    except RagError as exc:
        yield writer.error(from_rag_error(exc))
        yield "data: [DONE]\n\n"
    except Exception:  # headers are sent: an error event, never a dropped connection
        log.exception("streaming an answer failed")
        yield writer.error(ApiError(500, "internal error while streaming; see the server log",
                                    "server_error"))
        yield "data: [DONE]\n\n"
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # GeneratorExit into the pipeline: the LLM stream is closed too


def _once(fn: Callable[[], None]) -> Callable[[], None]:
    done = []

    def call() -> None:
        if not done:
            done.append(True)
            fn()

    return call


async def stream_completion(ctx: ApiContext, call: ChatCall, req: ChatRequest) -> StreamingResponse:
    if not ctx.limiter.try_acquire():
        raise busy()
    release = _once(ctx.limiter.release)
    try:
        events = await run_in_threadpool(start_stream, ctx, call)
    except RagError as exc:
        release()
        raise from_rag_error(exc) from exc
    except BaseException:
        release()
        raise
    writer = ChunkWriter(call.model, bool(req.stream_options and req.stream_options.include_usage),
                         req.stream_tokens)
    return SlotStreamingResponse(sse_events(events, writer), release, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# --- documents, retrieval, health -------------------------------------------------------
def _hit_out(rank: int, hit: Hit) -> dict:
    c = hit.chunk
    return {"rank": rank, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "source": c.source,
            "title": c.title, "text": c.text, "start": c.start, "end": c.end,
            "score": hit.score, "dense_rank": hit.dense_rank, "bm25_rank": hit.bm25_rank}


def retrieve(ctx: ApiContext, req: RetrieveRequest) -> dict:
    ctx.await_loading()
    with ctx.gate.read():
        hits = ctx.svc.retrieve(req.question, top_k=req.top_k)
    return {"object": "list", "question": req.question,
            "data": [_hit_out(i, h) for i, h in enumerate(hits, start=1)]}


def list_documents(ctx: ApiContext) -> dict:
    ctx.await_loading()
    with ctx.gate.read():
        docs = ctx.svc.list_documents()
    return {"object": "list", "data": [{k: d[k] for k in ("doc_id", "source", "title", "chunks")}
                                       for d in docs]}


def _save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> Path:
    """The upload under its sanitised name in its own folder, at most max_bytes + 1 bytes
    (so the size check still sees it as too large without storing all of it)."""
    from ui.uploads import safe_name

    folder.mkdir(parents=True)
    path = folder / (safe_name(upload.filename or "") or "unnamed")
    with path.open("wb") as out:
        remaining = max_bytes + 1
        while remaining > 0 and (block := upload.file.read(min(remaining, 1 << 20))):
            out.write(block)
            remaining -= len(block)
    return path


def ingest_uploads(ctx: ApiContext, files: list[UploadFile]) -> dict:
    limits = ctx.chat.config.limits
    ctx.await_loading()
    tmp = Path(tempfile.mkdtemp(prefix="rag-api-upload-"))
    try:
        paths = [str(_save_upload(f, tmp / str(i), limits.max_bytes)) for i, f in enumerate(files)]
        return ctx.chat.ingest_uploads(paths)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def delete_document(ctx: ApiContext, doc_id: str) -> dict:
    ctx.await_loading()
    if not ctx.chat.delete_document(doc_id):
        raise ApiError(404, f"no such document: {doc_id}", code="document_not_found", param="doc_id")
    return {"id": doc_id, "object": "document", "deleted": True}


def health(ctx: ApiContext) -> dict:
    from rag.llm.client import probe, resolve_endpoint
    from ui.llm_status import PROBE_TIMEOUT_S

    endpoint = resolve_endpoint(ctx.svc.settings)
    llm = {"configured": endpoint is not None}
    if endpoint is not None:
        llm.update(reachable=probe(endpoint, PROBE_TIMEOUT_S), model=endpoint.model)
    if ctx.loading:  # the page is served; the index is not opened yet
        return {"status": "loading", "documents": None, "chunks": None, "embedder": None, "llm": llm}
    status = ctx.svc.status()
    return {"status": "ok", "documents": status["documents"], "chunks": status["chunks"],
            "embedder": status["embedder"], "llm": llm}


def available_models(settings) -> list[str]:
    from ui.llm_status import llm_configured

    if llm_configured(settings):
        return list(MODELS)
    return ["rag-extractive", "rag-auto"]


# --- routes ---------------------------------------------------------------------------
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def _methods_for(router: APIRouter, path: str) -> list[str]:
    """Methods of this router's routes matching the path (the catch-all aside)."""
    from fastapi.routing import APIRoute

    return sorted({m for r in router.routes
                   if isinstance(r, APIRoute) and r.name != "unknown" and r.path_regex.match(path)
                   for m in r.methods})


def build_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(_auth_dependency(ctx))], responses=ERRORS)
    max_q = ctx.svc.settings.max_question_chars

    @router.post("/chat/completions", response_model=ChatCompletion, tags=["chat"],
                 responses={200: {"content": {"text/event-stream": {}},
                                  "description": "JSON, or SSE chunks when stream is true"}})
    async def chat_completions(req: ChatRequest):
        call = parse_chat(req, max_q)
        if req.stream:
            return await stream_completion(ctx, call, req)
        return await _in_slot(ctx, complete, ctx, call)

    @router.get("/models", response_model=ModelList, tags=["chat"])
    async def models():
        return {"object": "list", "data": [{"id": m} for m in available_models(ctx.svc.settings)]}

    @router.get("/models/{model_id}", response_model=ModelCard, tags=["chat"])
    async def model(model_id: str):
        if model_id not in MODELS:
            raise ApiError(404, f"the model {model_id!r} does not exist", code="model_not_found")
        return {"id": model_id}

    @router.post("/retrieve", response_model=RetrieveResponse, tags=["retrieval"])
    async def retrieve_route(req: RetrieveRequest):
        return await _in_slot(ctx, retrieve, ctx, req)

    @router.get("/documents", response_model=DocumentList, tags=["documents"])
    async def documents():
        return await run_in_threadpool(list_documents, ctx)

    @router.post("/documents", response_model=UploadReport, tags=["documents"])
    async def upload(files: list[UploadFile] = File(..., description="files to index")):
        return await _in_slot(ctx, ingest_uploads, ctx, files)

    @router.delete("/documents/{doc_id:path}", response_model=Deleted, tags=["documents"])
    async def delete(doc_id: str):
        return await _in_slot(ctx, delete_document, ctx, doc_id)

    @router.api_route("/{rest:path}", methods=ALL_METHODS, include_in_schema=False)
    async def unknown(request: Request, rest: str):
        allowed = _methods_for(router, request.url.path)
        if allowed:
            raise ApiError(405, f"{request.method} is not allowed here; use {', '.join(allowed)}",
                           code="method_not_allowed", headers={"Allow": ", ".join(allowed)})
        raise ApiError(404, f"unknown endpoint /v1/{rest}", code="unknown_url")

    return router


def build_health_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter()

    @router.get("/health", response_model=Health, tags=["health"],
                responses={503: {"model": ErrorResponse}})
    async def health_route():
        try:
            return await run_in_threadpool(health, ctx)
        except RagError as exc:  # e.g. the Chroma server is down: 503, not a trace
            raise from_rag_error(exc) from exc

    return router
