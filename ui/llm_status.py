"""Answer modes on offer and which LLM answers (configured endpoint or local model), for the page.

`local` is the service's local model server (rag.llm.managed: managed by `rag serve`, or one
found running); None when there is none. A configured endpoint always wins over it.
"""

from __future__ import annotations

import html

from rag.llm.client import probe, resolve_endpoint

PROBE_TIMEOUT_S = 2.0
NO_LLM = ("No LLM configured (`RAG_LLM_BASE_URL`): answers are extractive quotes "
          "from your documents.")


def _explicit(settings):
    endpoint = resolve_endpoint(settings)
    return endpoint if endpoint is not None and endpoint.explicit else None


def llm_configured(settings, local=None) -> bool:
    return resolve_endpoint(settings) is not None or local is not None


def mode_choices(settings, local=None) -> list[str]:
    return ["extractive", "generative"] if llm_configured(settings, local) else ["extractive"]


def default_mode(settings, local=None) -> str:
    """settings.mode when on offer; "auto" means generative with an explicit endpoint or a
    local model (which answers extractively, with a notice, until it is ready)."""
    if settings.mode in mode_choices(settings, local):
        return settings.mode
    return "generative" if _explicit(settings) is not None or local is not None else "extractive"


def endpoint_status(settings, local=None) -> str:
    """One markdown line: which LLM answers, and whether it can right now."""
    endpoint = _explicit(settings)
    if endpoint is None and local is not None:
        line = local_status_line(local.status())
        if line:
            return line
    endpoint = endpoint or resolve_endpoint(settings)
    if endpoint is None:
        return NO_LLM
    url = endpoint.display_url
    if probe(endpoint, PROBE_TIMEOUT_S):
        return f"LLM endpoint `{url}`: **reachable** (model `{endpoint.model}`)."
    return f"LLM endpoint `{url}`: **unreachable**; answers fall back to extractive quotes."


def local_status_line(st) -> str | None:
    """The local model's state as one markdown line (None when it is off)."""
    model = html.escape(st.model or "local model")
    if st.state == "ready":
        return f"Answers by the local model **{model}** (bundled, on `{st.base_url}`): **ready**."
    if st.state == "loading":
        why = f" ({html.escape(st.message)})" if st.message else ""
        return (f"Local model **{model}**: **loading model…**{why} Answers are extractive "
                "quotes until it is ready.")
    if st.state == "failed":
        return (f"Local model **{model}**: **stopped**: {html.escape(st.message)}. "
                "Answers are extractive quotes.")
    return None
