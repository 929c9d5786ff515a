"""The SQLite FTS5 lexical index: ranking, idf, incremental writes, shared-file versioning."""

import math

import pytest

from rag.lexical import IndexDB, LexicalIndex
from rag.text import content_terms, stopwords
from rag.types import Chunk


def _chunk(doc: str, n: int, text: str) -> Chunk:
    return Chunk(f"{doc}#{n}", doc, doc, doc.title(), text, 0, len(text))


@pytest.fixture
def index(tmp_path):
    db = IndexDB(tmp_path / "index.sqlite")
    with db.transaction() as conn:
        LexicalIndex.add(conn, [
            _chunk("pumps", 0, "The alpha pump runs at 40 bar."),
            _chunk("pumps", 1, "Pumps are serviced in May by the crew."),
            _chunk("valves", 0, "The beta valve leaks when cold; replace the gasket."),
            _chunk("misc", 0, "Café_menu über alles: the US and IT teams meet."),
        ])
    return LexicalIndex(db)


def test_search_ranks_the_chunk_holding_the_rare_term(index):
    hits = index.search("Which valve leaks?", 5)
    assert hits[0][0].chunk_id == "valves#0" and hits[0][1] > 0
    assert [c.chunk_id for c, _ in index.search("pumps serviced", 5)] == ["pumps#1", "pumps#0"]
    assert index.search("the of and", 5) == []  # stop words only: no terms


def test_tokenisation_is_content_terms(index):
    """Underscores, diacritics and upper-case acronyms survive as content_terms makes them."""
    for word in ("Café_menu", "über", "US", "IT"):
        (term,) = content_terms(word)
        assert index.doc_freq(term) == 1, term
        assert [c.chunk_id for c, _ in index.search(word, 5)] == ["misc#0"], word


def test_idf_comes_from_the_index_document_frequencies(index):
    n = 4
    pump = content_terms("pump")[0]
    assert index.doc_freq(pump) == 2
    assert index.idf(pump) == pytest.approx(math.log(1 + (n - 2 + 0.5) / (2 + 0.5)))
    assert index.idf("neverseen") > index.idf(pump)


def test_incremental_add_and_delete_bump_the_version(index):
    v0 = index.db.version()
    with index.db.transaction() as conn:
        LexicalIndex.add(conn, [_chunk("gauges", 0, "The gauge reads 3 bar daily.")])
    assert index.db.version() == v0 + 1 and index.count() == 5
    assert index.search("gauge", 5)[0][0].doc_id == "gauges"
    with index.db.transaction() as conn:
        LexicalIndex.delete_docs(conn, ["gauges", "pumps"])
    assert index.count() == 2 and index.search("gauge pump", 5) == []
    assert index.doc_freq(content_terms("gauge")[0]) == 0


def test_a_failed_transaction_writes_nothing(index):
    v0 = index.db.version()
    with pytest.raises(RuntimeError):
        with index.db.transaction() as conn:
            LexicalIndex.add(conn, [_chunk("half", 0, "Half written gizmo.")])
            raise RuntimeError("killed")
    assert index.db.version() == v0 and index.search("gizmo", 5) == []


def test_a_second_connection_sees_writes_at_once(index, tmp_path):
    other = LexicalIndex(IndexDB(tmp_path / "index.sqlite"))
    assert other.count() == 4
    with index.db.transaction() as conn:
        LexicalIndex.add(conn, [_chunk("new", 0, "A brand new turbine.")])
    assert other.count() == 5 and other.search("turbine", 3)[0][0].chunk_id == "new#0"


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path):
    path = tmp_path / "index.sqlite"
    path.write_text("{ truncated")
    idx = LexicalIndex(IndexDB(path))
    assert idx.count() == 0
    assert list(tmp_path.glob("index.sqlite.corrupt-*"))


def test_stop_words_are_spacys_without_importing_spacy():
    """A cold `rag ask` that needs no spaCy model must not pay for importing the package."""
    import subprocess
    import sys

    code = ("import sys; from rag.text import stopwords, content_terms; w = stopwords();"
            " assert content_terms('The US and what it is') == ['us'];"
            " print(len(w), 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == [str(len(stopwords())), "False"]
    from spacy.lang.en.stop_words import STOP_WORDS

    assert stopwords() == frozenset(STOP_WORDS)
