"""The generative backend: any OpenAI-compatible endpoint, with verified citations.

Modules (each imports its heavy backend lazily; importing this package imports nothing):

- `client`: the `openai` client, endpoint resolution, reachability probe, error mapping;
- `prompt`: numbered sources as data, instructions, token budget;
- `verify`: per-sentence support, citation repair, refusal;
- `condense`: follow-up questions made standalone with bounded history;
- `backend`: the answer stage's generative backend (rag.pipeline.GenerativeBackend):
  endpoint choice, prompt → token stream → verified `Answer`;
- `local`: the bundled GGUF models and the in-process llama.cpp server (extra `local-llm`);
- `managed`: that server as a supervised child process of `rag serve`;
- `cli`: `rag llm serve`.
"""
