"""Answer modes on offer and the configured LLM endpoint's status, for the settings panel.

Uses rag.llm.client (endpoint resolution and probe) when present; otherwise only
RAG_LLM_BASE_URL counts as "configured".
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0


def _endpoint(settings):
    """(display url, probe function) of the configured endpoint, or None."""
    try:
        from rag.llm.client import probe, resolve_endpoint
    except ImportError:  # generation not in this build
        url = (settings.llm_base_url or "").rstrip("/")
        return (url, _http_probe) if url else None
    endpoint = resolve_endpoint(settings)
    if endpoint is None:
        return None
    return endpoint.display_url, lambda _url, timeout: probe(endpoint, timeout)


def _http_probe(url: str, timeout: float) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/models", timeout=timeout).status_code < 500
    except httpx.HTTPError as exc:
        log.info("LLM endpoint %s unreachable: %s", url, type(exc).__name__)
        return False


def llm_configured(settings) -> bool:
    return _endpoint(settings) is not None


def mode_choices(settings) -> list[str]:
    return ["extractive", "generative"] if llm_configured(settings) else ["extractive"]


def default_mode(settings) -> str:
    if settings.mode in mode_choices(settings):
        return settings.mode
    return "generative" if llm_configured(settings) else "extractive"


def endpoint_status(settings) -> str:
    """One markdown line: no endpoint, reachable, or not."""
    found = _endpoint(settings)
    if found is None:
        return ("No LLM configured (`RAG_LLM_BASE_URL`): answers are extractive quotes "
                "from your documents.")
    url, check = found
    if check(url, PROBE_TIMEOUT_S):
        return f"LLM endpoint `{url}`: **reachable** (model `{settings.llm_model}`)."
    return f"LLM endpoint `{url}`: **unreachable**; generative answers fall back to quotes."
