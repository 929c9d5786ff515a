"""A llama-index LLM over any OpenAI-compatible chat endpoint, for the baseline's CitationQueryEngine.

llama-index-llms-openai-like would pin openai<3 (the project pins openai 3.x), so this is
the few lines of it the baseline needs: one chat completion per prompt, no streaming.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.llms import CompletionResponse, CompletionResponseGen, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr


class OpenAICompatibleLLM(CustomLLM):
    model_name: str = "local"
    context_window: int = 4096
    num_output: int = 256
    temperature: float = 0.0
    _client: Any = PrivateAttr()

    @classmethod
    def from_settings(cls, settings) -> OpenAICompatibleLLM:
        from openai import OpenAI

        llm = cls(model_name=settings.llm_model, context_window=settings.llm_context_window,
                  num_output=settings.llm_max_tokens, temperature=settings.llm_temperature)
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "no-key"
        llm._client = OpenAI(base_url=settings.llm_base_url, api_key=key, timeout=settings.llm_timeout)
        return llm

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.context_window, num_output=self.num_output,
                           model_name=self.model_name, is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        resp = self._client.chat.completions.create(
            model=self.model_name, messages=[{"role": "user", "content": prompt}],
            max_tokens=self.num_output, temperature=self.temperature)
        return CompletionResponse(text=resp.choices[0].message.content or "")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt, formatted=formatted, **kwargs)
