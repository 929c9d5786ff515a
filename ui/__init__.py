"""Web chat (Gradio): streaming cited answers, sources, document upload; `rag serve`."""
