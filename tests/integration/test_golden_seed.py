"""The seed golden set, extractive mode: answered with the right cited passage, or refused."""

import json

import pytest

from rag.types import REFUSAL_TEXT
from tests.conftest import ROOT, SEED_FILE

GOLDEN = [json.loads(line) for line in (ROOT / "evals/datasets/seed.jsonl").read_text().splitlines() if line]
SINGLE_TURN = [g for g in GOLDEN if not g.get("history")]
# Known misses of the extractive answerer, kept visible: a fix turns these into XPASS failures.
KNOWN_MISSES = {
    "nm-interviewer": "NER sees NATO/Jens Stoltenberg as 'who' candidates; nothing says who interviewed him",
}


def test_golden_set_is_big_enough():
    assert len(SINGLE_TURN) >= 25
    kinds = {g["kind"] for g in SINGLE_TURN}
    assert {"factoid", "unanswerable", "near-miss"} <= kinds


@pytest.mark.parametrize("item", SINGLE_TURN, ids=[g["id"] for g in SINGLE_TURN])
def test_golden_question(seed_service, item, request):
    if item["id"] in KNOWN_MISSES:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_MISSES[item["id"]], strict=True))
    answer = seed_service.ask(item["question"])
    source = SEED_FILE.read_text(encoding="utf-8")
    if not item["answerable"]:
        assert answer.refused and answer.text == REFUSAL_TEXT and answer.citations == []
        return
    assert not answer.refused, answer.text
    assert any(item["must_cite"] in c.quote for c in answer.citations), answer.text
    assert any(a.lower() in answer.text.lower() for a in item["answers"])
    for c in answer.citations:
        assert source[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.text


def test_issue_examples(seed_service):
    refused = seed_service.ask("How many nuclear warheads does NATO have deployed?")
    answered = seed_service.ask("Who criticized Stoltenberg's remarks about warheads?")
    assert refused.refused
    assert not answered.refused and "Peskov" in answered.citations[0].quote
