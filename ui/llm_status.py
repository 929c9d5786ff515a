"""Answer modes on offer and the configured LLM endpoint's status, for the settings panel."""

from __future__ import annotations

from rag.llm.client import probe, resolve_endpoint

PROBE_TIMEOUT_S = 2.0


def llm_configured(settings) -> bool:
    return resolve_endpoint(settings) is not None


def mode_choices(settings) -> list[str]:
    return ["extractive", "generative"] if llm_configured(settings) else ["extractive"]


def default_mode(settings) -> str:
    """settings.mode when on offer; "auto" means generative only with an explicit endpoint."""
    if settings.mode in mode_choices(settings):
        return settings.mode
    endpoint = resolve_endpoint(settings)
    return "generative" if endpoint is not None and endpoint.explicit else "extractive"


def endpoint_status(settings) -> str:
    """One markdown line: no endpoint, reachable, or not."""
    endpoint = resolve_endpoint(settings)
    if endpoint is None:
        return ("No LLM configured (`RAG_LLM_BASE_URL`): answers are extractive quotes "
                "from your documents.")
    url = endpoint.display_url
    if probe(endpoint, PROBE_TIMEOUT_S):
        return f"LLM endpoint `{url}`: **reachable** (model `{endpoint.model}`)."
    return f"LLM endpoint `{url}`: **unreachable**; answers fall back to extractive quotes."
