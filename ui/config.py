"""The page's options (no gradio import: `rag serve` builds this before the port opens)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ui import uploads


@dataclass(frozen=True)
class UiConfig:
    limits: uploads.UploadLimits = field(default_factory=uploads.UploadLimits)
    queue_size: int = 16
    concurrency: int = 2
    title: str = "Ask your documents"

    @property
    def hard_max_bytes(self) -> int:
        """The server's cap per file (ApiGuard): above ours, so files in between get our
        clear message; the page's JS names bigger ones before they are sent."""
        return 2 * self.limits.max_bytes + 1024 * 1024
