"""What a sentence leans on (rag/discourse.py), and answers that cite it (rag/answer.py).

Real spaCy sentences (rag.sentences) over texts whose structure rag.structure detects;
vectors from the hashing FakeEmbedder.
"""

import pytest

from rag import discourse
from rag.answer import ExtractiveAnswerer
from rag.sentences import SentenceAnalyzer
from rag.types import Chunk, Hit
from tests.fakes import FakeEmbedder

DEFINITIONS = (
    "Users and Groups\n\n"
    "Many users have a group of their own.\n\n"
    "messagebus\n\n"
    "The dbus daemon runs as this user and group.\n\n"
    "lp\n\n"
    "The lp devices are writable by this group. Traditionally this job is taken by a printer daemon.\n"
)
STAGES = (
    "Stability\n\n"
    "Experimental features are subdivided into stages:\n\n"
    "- 1.0 - Early development. Unfinished and subject to change.\n"
    "- 1.1 - Active development. Nearing minimum viability.\n"
    "- 1.2 - Release candidate. Hopefully ready to become stable.\n\n"
    "Stable features keep their interface.\n"
)
HISTORY = (
    "History\n\n"
    "In 2002, Albert moved procps to SourceForge. This was done to ensure that fixes would not be lost.\n"
)
TABLE = "Overview\n\n| API | Stability |\n|---|---|\n| Domain | Deprecated |\n| Buffer | Stable |\n"
FAQ = (
    "Frequently asked\n\n"
    "Why does ps get signal 17?\n\n"
    "No ps release has ever had this problem. Most likely your system has been broken into.\n"
)


@pytest.fixture(scope="module")
def analyzer():
    return SentenceAnalyzer()


def _chunk(text: str, title: str = "Guide") -> Chunk:
    return Chunk("guide#0", "guide", "guide.md", title, text, 0, len(text))


def _links(analyzer, text):
    chunk = _chunk(text)
    sents = analyzer.analyze([chunk])
    return sents, discourse.links(chunk, sents)


def _index(sents, start: str) -> int:
    return next(i for i, s in enumerate(sents) if s.text.startswith(start))


def test_a_demonstrative_leans_on_the_label_above_its_paragraph(analyzer):
    sents, link = _links(analyzer, DEFINITIONS)
    i = _index(sents, "The dbus daemon")
    assert link.before[i].text == "messagebus"


def test_a_demonstrative_inside_a_paragraph_leans_on_the_previous_sentence(analyzer):
    sents, link = _links(analyzer, DEFINITIONS)
    i = _index(sents, "Traditionally")
    assert link.before[i].text.startswith("The lp devices")


def test_a_sentence_without_reference_leans_on_nothing(analyzer):
    sents, link = _links(analyzer, DEFINITIONS)
    assert _index(sents, "Many users") not in link.before


def test_a_colon_lead_introduces_its_list_items(analyzer):
    sents, link = _links(analyzer, STAGES)
    items = link.items[_index(sents, "Experimental features")]
    assert [s.text for s in items] == ["1.0 - Early development.", "1.1 - Active development.",
                                      "1.2 - Release candidate."]


def test_an_anaphoric_next_sentence_follows_on(analyzer):
    sents, link = _links(analyzer, HISTORY)
    i = _index(sents, "In 2002")
    assert sents[link.follower[i]].text.startswith("This was done")


def test_table_rows_are_read_with_their_header_and_the_header_is_a_label(analyzer):
    sents, link = _links(analyzer, TABLE)
    header, domain = _index(sents, "API"), _index(sents, "Domain")
    assert link.header[domain] is sents[header]
    assert header in link.labels and domain not in link.labels


def test_a_faq_answer_is_asked_by_the_question_above_it(analyzer):
    sents, link = _links(analyzer, FAQ)
    q = _index(sents, "Why does ps")
    assert discourse.is_question(sents[q].text)
    assert link.asked_by[_index(sents, "Most likely")] == q


def _ask(analyzer, text, question, title="Guide"):
    answerer = ExtractiveAnswerer(FakeEmbedder(), analyzer, idf=lambda term: 1.0)
    chunk = _chunk(text, title)
    return answerer.run(question, [Hit(chunk, 1.0)], answerer.embedder.embed([question])[0])


def test_the_answer_cites_the_label_a_sentence_refers_to(analyzer):
    answer = _ask(analyzer, DEFINITIONS, "Which user does the dbus daemon run as?")
    assert not answer.refused
    quotes = [c.quote for c in answer.citations]
    assert quotes[:2] == ["messagebus", "The dbus daemon runs as this user and group."]
    assert all(DEFINITIONS[c.start:c.end] == c.quote for c in answer.citations)


def test_the_answer_cites_the_list_a_sentence_introduces(analyzer):
    answer = _ask(analyzer, STAGES, "What are the stages that experimental features are subdivided into?")
    assert "Early development" in answer.text and "Release candidate" in answer.text
    assert len(answer.citations) == 4


def test_a_question_in_the_text_is_not_an_answer(analyzer):
    answer = _ask(analyzer, FAQ, "Why does ps get signal 17?")
    assert not answer.refused
    assert all(not c.quote.endswith("?") for c in answer.citations)


def test_a_sentence_adding_nothing_to_the_question_is_not_an_answer(analyzer):
    text = "Parsers\n\nPython-Multipart is a streaming parser.\n"
    assert _ask(analyzer, text, "Is Python-Multipart a streaming parser?", title="Python-Multipart").refused


def test_a_required_filler_far_below_the_topical_sentence_is_refused(analyzer):
    text = ("Maintainers\n\n"
            "For years, Albert quietly helped the Debian package maintainer of procps fix bugs in procps.\n\n"
            "In 2001, Rik van Riel wrote the procps patches.\n")
    answer = _ask(analyzer, text, "What was the name of the Debian package maintainer of procps whom Albert helped?")
    assert answer.refused


def test_without_the_ratio_the_far_filler_would_answer(analyzer, monkeypatch):
    # the refusal above comes from TYPED_RATIO, not from some other gate
    import rag.answer

    monkeypatch.setattr(rag.answer, "TYPED_RATIO", 0.0)
    text = ("Maintainers\n\n"
            "For years, Albert quietly helped the Debian package maintainer of procps fix bugs in procps.\n\n"
            "In 2001, Rik van Riel wrote the procps patches.\n")
    answer = _ask(analyzer, text, "What was the name of the Debian package maintainer of procps whom Albert helped?")
    assert not answer.refused and "Rik van Riel" in answer.text


# gzip(1) printed to PDF: the list's indentation is lost, each entry is a "label: text" paragraph
PRINTED_FIELDS = (
    "-l --list\n\n"
    "For each compressed file, list the following fields:\n\n"
    "compressed size: size of the compressed file\n\n"
    "uncompressed size: size of the uncompressed file\n\n"
    "The uncompressed size is given as -1 for files not in gzip format, such as compressed .Z files.\n"
)
# a browser-printed list whose bullets were lost, two entries run together by the extraction
PRINTED_STAGES = (
    "Experimental features are subdivided into stages:\n\n"
    "1.0 - Early development. Experimental features at this stage are unfinished.\n\n"
    "1.1 - Active development. Experimental features at this stage are nearing viability. "
    "1.2 - Release candidate. Experimental features at this stage are hopefully ready.\n\n"
    "Experimental features leave the experimental status by graduating to stable.\n"
)


def test_labelled_paragraphs_after_a_colon_lead_are_its_list(analyzer):
    sents, link = _links(analyzer, PRINTED_FIELDS)
    items = link.items[_index(sents, "For each compressed file")]
    assert [s.text for s in items] == ["compressed size: size of the compressed file",
                                      "uncompressed size: size of the uncompressed file"]


def test_entries_run_together_are_each_taken_and_a_plain_paragraph_ends_the_list(analyzer):
    sents, link = _links(analyzer, PRINTED_STAGES)
    items = [s.text for s in link.items[_index(sents, "Experimental features are subdivided")]]
    assert items == ["1.0 - Early development.", "1.1 - Active development.", "1.2 - Release candidate."]


@pytest.mark.parametrize("text, item", [
    ("compressed size: size of the compressed file", True),
    ("1.2 - Release candidate.", True),
    ("The uncompressed size is given as -1 for files not in gzip format.", False),
    ("To get the uncompressed size for such a file, you can use: zcat", False),
])
def test_is_item(text, item):
    assert discourse.is_item(text) is item


def test_the_answer_cites_a_printed_list(analyzer):
    answer = _ask(analyzer, PRINTED_FIELDS, "Which fields does gzip --list show for each compressed file?")
    quotes = [c.quote for c in answer.citations]
    assert "compressed size: size of the compressed file" in quotes
    assert "uncompressed size: size of the uncompressed file" in quotes
    assert all(PRINTED_FIELDS[c.start:c.end] == c.quote for c in answer.citations)


def test_a_later_sentence_restating_the_title_and_question_is_no_news(analyzer):
    """Only the line a .txt's title was taken from is news of its own; "Python-Multipart is a
    streaming parser." later in the README says nothing the title and the question don't."""
    text = "Python-Multipart\n\nPython-Multipart is a streaming parser.\n"
    answerer = ExtractiveAnswerer(FakeEmbedder(), analyzer, idf=lambda term: 1.0)
    question = "How does a streaming parser avoid holding the request in memory?"
    chunk = _chunk(text, title="Python-Multipart")
    scored = answerer.score(question, [Hit(chunk, 1.0)], answerer.embedder.embed([question])[0])
    restated = next(s for s in scored if s.sentence.text.startswith("Python-Multipart is"))
    assert not restated.novel
    line = "Albert moved procps to SourceForge."
    title_line = Chunk("t#0", "t", "t.txt", line, line, 0, len(line))
    scored = answerer.score("Where did Albert move procps?", [Hit(title_line, 1.0)],
                            answerer.embedder.embed(["Where did Albert move procps?"])[0])
    assert scored[0].novel
