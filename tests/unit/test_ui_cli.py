"""`rag serve` options: auth parsing, the exposure warning, registration."""

import pytest

from rag import cli
from rag.errors import InputError
from ui.cli import exposure_problem, is_loopback, parse_auth


def test_serve_is_registered_with_loopback_default():
    args = cli.build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.auth) == ("127.0.0.1", 7860, None)


def test_parse_auth():
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("nopass", ":x", "x:"):
        with pytest.raises(InputError):
            parse_auth(bad)


@pytest.mark.parametrize("host, loop", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False),
])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_open_addresses_need_page_login_and_api_key():
    assert exposure_problem("127.0.0.1", None, None) is None
    assert exposure_problem("0.0.0.0", ("a", "b"), "key") is None
    assert "--auth" in exposure_problem("0.0.0.0", None, "key")
    assert "RAG_API_KEY" in exposure_problem("0.0.0.0", ("a", "b"), None)
    both = exposure_problem("192.168.1.5", None, None)
    assert "--auth" in both and "RAG_API_KEY" in both


def test_exposed_serve_without_key_refuses_to_start(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RAG_API_KEY", raising=False)
    code = cli.main(["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0", "--auth", "a:b"])
    assert code == 2 and "RAG_API_KEY" in capsys.readouterr().err


def test_bad_limits_are_input_errors(tmp_path, capsys):
    code = cli.main(["--data-dir", str(tmp_path), "serve", "--queue-size", "0"])
    assert code == 2 and "--queue-size must be positive" in capsys.readouterr().err
