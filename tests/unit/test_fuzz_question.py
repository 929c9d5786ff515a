"""Fuzz: question handling never crashes; cleaned questions keep their invariants."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import InputError
from rag.service import clean_question


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=3000), st.integers(1, 2500))
def test_clean_question_is_empty_error_or_bounded_collapsed_text(question, max_chars):
    if not question.strip():
        with pytest.raises(InputError):
            clean_question(question, max_chars)
        return
    q, notice = clean_question(question, max_chars)
    assert 0 < len(q) <= max_chars and q == q.strip() or len(q) == max_chars
    assert "\n" not in q and "  " not in q
    full = " ".join(question.split())
    assert (notice is None) == (len(full) <= max_chars) and full.startswith(q)
