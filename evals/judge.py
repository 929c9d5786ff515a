"""Optional LLM judge, only when an LLM endpoint is configured; reported separately.

For each answer given to an answerable question it asks the configured OpenAI-compatible
model whether the answer states one of the gold answers (yes/no). Verdicts are cached next
to the per-question results. Never required: without an endpoint the report says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from evals.data import EvalQuestion
from evals.metrics import strip_markers
from evals.runner import ResultCache, run_cached

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

PROMPT = (
    "You grade answers to questions. Gold answer(s): {gold}\nQuestion: {question}\n"
    "Candidate answer: {answer}\n"
    "Does the candidate answer state a gold answer (same meaning, wording may differ)? Reply yes or no."
)


def unavailable(settings: Settings) -> str | None:
    if not (settings.llm_base_url or settings.llm_api_key):
        return "no LLM endpoint configured (RAG_LLM_BASE_URL / RAG_LLM_API_KEY)"
    return None


class Judge:
    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "no-key"
        self._client = OpenAI(base_url=settings.llm_base_url, api_key=key, timeout=settings.llm_timeout)
        self._model = settings.llm_model

    def verdict(self, q: EvalQuestion, answer: str) -> bool | None:
        prompt = PROMPT.format(gold=" | ".join(q.answers), question=q.question, answer=strip_markers(answer))
        try:
            resp = self._client.chat.completions.create(
                model=self._model, messages=[{"role": "user", "content": prompt}], max_tokens=3, temperature=0)
        except Exception as exc:  # a judge failure is a missing verdict, never a failed eval
            log.warning("judge failed on %s: %s", q.id, exc)
            return None
        text = (resp.choices[0].message.content or "").strip().lower()
        if text.startswith("yes"):
            return True
        return False if text.startswith("no") else None


def judge_config(settings: Settings, questions: list[EvalQuestion], rows: list[dict], cache_path: Path,
                 fingerprint: str) -> dict:
    """Share of given answers to answerable questions that the judge accepts."""
    judge = Judge(settings)
    todo = [(q, r) for q, r in zip(questions, rows) if q.answerable and q.answers and not r["refused"]]
    by_id = {q.id: r for q, r in todo}
    cache = ResultCache(cache_path, fingerprint)
    verdicts = run_cached(cache, [q for q, _ in todo],
                          lambda q: {"id": q.id, "verdict": judge.verdict(q, by_id[q.id]["answer"])})
    known = [v["verdict"] for v in verdicts if v["verdict"] is not None]
    return {"accepted": sum(known) / len(known) if known else None, "judged": len(known),
            "failed": len(verdicts) - len(known), "model": settings.llm_model}
