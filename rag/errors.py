"""A small exception hierarchy; turned into user messages only at the CLI/UI/API edge."""


class RagError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class InputError(RagError):
    """The user's input is unusable: empty question, missing path, bad option."""

    exit_code = 2


class ConfigError(RagError):
    """The configuration cannot work, e.g. an index built with another embedder."""

    exit_code = 2


class EmbedderMismatchError(ConfigError):
    """The collection was built with a different embedder or dimension."""


class StoreUnavailableError(ConfigError):
    """The vector store (a Chroma server) cannot be reached now; it may come back."""


class LLMError(RagError):
    """The configured LLM endpoint failed (unreachable, timeout, 5xx, bad stream)."""
