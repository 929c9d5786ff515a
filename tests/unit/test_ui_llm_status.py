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
