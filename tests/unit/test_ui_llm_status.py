"""Settings panel: modes on offer and endpoint status follow the LLM configuration."""

from ui.llm_status import default_mode, endpoint_status, mode_choices


def test_no_llm_means_extractive_only(make_settings, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = make_settings()
    assert mode_choices(s) == ["extractive"] and default_mode(s) == "extractive"
    assert "No LLM configured" in endpoint_status(s)


def test_configured_but_unreachable_endpoint(make_settings, monkeypatch):
    from ui.testing import free_port

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = make_settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1")
    assert mode_choices(s) == ["extractive", "generative"] and default_mode(s) == "generative"
    assert "**unreachable**" in endpoint_status(s)
    assert default_mode(make_settings(llm_base_url=s.llm_base_url, mode="extractive")) == "extractive"


def test_auto_ignores_an_implicit_openai_key(make_settings, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    s = make_settings()
    assert "generative" in mode_choices(s) and default_mode(s) == "extractive"


class _Local:
    def __init__(self, status):
        self.st = status

    def status(self):
        return self.st


def test_local_model_state_is_shown_and_offers_generative(make_settings, monkeypatch):
    from rag.llm.managed import LocalStatus

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = make_settings()
    loading = _Local(LocalStatus("loading", "Qwen2.5-Coder-1.5B-Instruct"))
    assert mode_choices(s, loading) == ["extractive", "generative"]
    assert default_mode(s, loading) == "generative"
    assert "Qwen2.5-Coder-1.5B-Instruct" in endpoint_status(s, loading)
    assert "loading model…" in endpoint_status(s, loading)
    ready = _Local(LocalStatus("ready", "SmolLM2", "http://127.0.0.1:5/v1"))
    assert "**ready**" in endpoint_status(s, ready) and "SmolLM2" in endpoint_status(s, ready)
    dead = _Local(LocalStatus("failed", "SmolLM2", message="exit code -9; gave up"))
    assert "**stopped**" in endpoint_status(s, dead) and "exit code -9" in endpoint_status(s, dead)
    assert "No LLM configured" in endpoint_status(s, _Local(LocalStatus("off")))
