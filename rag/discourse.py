"""How the sentences of a chunk lean on each other, for answers that cite whole thoughts.

Read from the block structure (rag.structure) and a few closed-class words, on any text:
- refers back: a sentence opening with a pronoun or demonstrative ("It powers ...",
  "Traditionally this job is ...") depends on the previous sentence of its paragraph; the
  first sentence of a paragraph naming "this user" / "these ids" anywhere depends on the
  short label or heading just above it (a definition list: "messagebus" / "The dbus daemon
  runs as this user and group.");
- introduces a list: a paragraph ending with ":" followed by list items ("Experimental
  features are subdivided into stages:" / "1.0 - Early development. ...");
- follows on: the next sentence of the paragraph opens with "This", "It", "Thus"... and
  continues the thought ("This was done to ensure ...");
- a table row is read with its table's first row (the header);
- a question in the text ("Why does ps get signal 17?", a FAQ entry) is answered by the
  sentences of its own and the next block.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from rag.sentences import Sentence, chunk_blocks
from rag.structure import FINAL_PUNCT, Block
from rag.types import Chunk

PRONOUN_START_RE = re.compile(r"^\W*(it|its|they|their|them|this|that|these|those|such|he|she|his|her)\b", re.I)
# "this user", "these ids": not "this document", "this year" (they point outside the text)
DEMONSTRATIVE_RE = re.compile(
    r"\b(this|these)\s+(?!(?:is|was|are|were|document|documentation|page|section|chapter|article|manual|"
    r"guide|faq|readme|way|time|case|year|week|month|day|point|reason)\b)[a-z][\w-]*", re.I)
FOLLOWS_ON_RE = re.compile(r"^\W*(this|that|these|those|it|they|such|thus|so|therefore|hence|otherwise|instead)\b",
                           re.I)


@dataclass
class Links:
    """Per sentence index of a chunk: what it leans on."""

    before: dict[int, Sentence] = field(default_factory=dict)  # its antecedent
    items: dict[int, list[Sentence]] = field(default_factory=dict)  # the list it introduces
    follower: dict[int, int] = field(default_factory=dict)  # index of an anaphoric next sentence
    header: dict[int, Sentence] = field(default_factory=dict)  # a table row's header row
    asked_by: dict[int, int] = field(default_factory=dict)  # index of the question it answers
    labels: set[int] = field(default_factory=set)  # a table's header row: a label, not a claim


def refers_back(text: str) -> bool:
    return bool(PRONOUN_START_RE.match(text) or DEMONSTRATIVE_RE.search(text))


def refers_early(text: str) -> bool:
    """The reference opens the sentence ("It powers ...", "Traditionally this job ..."): the
    sentence is not understood without what came before. A later one ("Peskov criticized
    these remarks") still says who did what on its own."""
    m = DEMONSTRATIVE_RE.search(text)
    return bool(PRONOUN_START_RE.match(text) or (m and len(text[:m.start()].split()) < EARLY_WORDS))


EARLY_WORDS = 3


def is_question(text: str) -> bool:
    return text.rstrip().rstrip("\"'”’)").endswith("?")


def is_label(text: str) -> bool:
    """A short unpunctuated one-liner: a term of a definition list, a heading-like label."""
    words = text.split()
    return 0 < len(words) <= MAX_LABEL_WORDS and "\n" not in text.strip() and not text.rstrip().endswith(
        tuple(FINAL_PUNCT) + (":",))


MAX_LABEL_WORDS = 4
MAX_LIST_ITEMS = 8


def _block_ids(sents: list[Sentence], blocks: list[Block]) -> list[int]:
    starts = [b.start for b in blocks]
    return [max(0, bisect_right(starts, s.start) - 1) for s in sents]


def _heading_sentence(chunk: Chunk, block: Block) -> Sentence:
    lo, hi = block.start - chunk.start, block.end - chunk.start
    return Sentence(chunk, block.start, block.end, chunk.text[lo:hi], (), kind="heading",
                    section=block.section, page=block.page or chunk.page)


def links(chunk: Chunk, sents: list[Sentence]) -> Links:
    """The links between one chunk's sentences (in document order)."""
    out = Links()
    if not sents:
        return out
    blocks = chunk_blocks(chunk)
    if not blocks:
        return out
    ids = _block_ids(sents, blocks)
    first_of: dict[int, int] = {}
    for i, b in enumerate(ids):
        first_of.setdefault(b, i)
    last_question: int | None = None
    for i, (sent, b) in enumerate(zip(sents, ids)):
        if i and ids[i - 1] == b and FOLLOWS_ON_RE.match(sent.text):
            out.follower[i - 1] = i
        if refers_back(sent.text):
            _antecedent(out, chunk, sents, ids, blocks, i)
        if sent.text.rstrip().endswith(":") and (i + 1 == len(sents) or ids[i + 1] != b):
            out.items[i] = _list_items(sents, ids, blocks, first_of, b)
        if sent.kind == "table_row":
            h = b
            while h > 0 and blocks[h - 1].kind == "table_row":
                h -= 1
            if h != b and h in first_of:
                out.header[i] = sents[first_of[h]]
            elif h == b and b + 1 < len(blocks) and blocks[b + 1].kind == "table_row":
                out.labels.add(i)
        if is_question(sent.text):
            last_question = i
        elif last_question is not None and b - ids[last_question] <= 1 and sent.section == sents[last_question].section:
            out.asked_by[i] = last_question
    return out


def _antecedent(out: Links, chunk: Chunk, sents: list[Sentence], ids: list[int], blocks: list[Block],
                i: int) -> None:
    b = ids[i]
    if i and ids[i - 1] == b:
        if refers_early(sents[i].text):
            out.before[i] = sents[i - 1]
        return
    if b == 0:
        return
    prev = blocks[b - 1]
    if prev.kind == "heading" and is_label(chunk.text[prev.start - chunk.start:prev.end - chunk.start]):
        out.before[i] = _heading_sentence(chunk, prev)
    elif i and ids[i - 1] == b - 1 and prev.kind == "paragraph" and is_label(sents[i - 1].text):
        out.before[i] = sents[i - 1]


def is_item(text: str) -> bool:
    """Reads as a list entry without a list marker: "compressed size: size of the file",
    "1.0 - Early development." (a man page's or a printed page's list, whose bullets or
    indentation the text lost)."""
    return bool(ITEM_LABEL_RE.match(text))


# a label of at most four words, then ":" or a spaced dash, then the entry
ITEM_LABEL_RE = re.compile(r"^\W{0,2}[\w.][\w.()'/+-]*(?:\s+[\w.()'/+-]+){0,3}\s*(?::|\s[-–—])\s+\S")


def _list_items(sents: list[Sentence], ids: list[int], blocks: list[Block], first_of: dict[int, int],
                b: int) -> list[Sentence]:
    """The entries after a sentence ending in ":": list items, or paragraphs that each read as
    a labelled entry (a printed list loses its bullets); entries merged into one paragraph by
    the extraction ("1.1 - Active ... 1.2 - Release ...") are each taken."""
    items: list[Sentence] = []
    nxt = b + 1
    while nxt < len(blocks) and len(items) < MAX_LIST_ITEMS:
        first = first_of.get(nxt)
        if blocks[nxt].kind == "list_item":
            if first is not None:
                items.append(sents[first])
        elif blocks[nxt].kind == "paragraph" and first is not None and is_item(sents[first].text):
            items.extend(s for j, s in enumerate(sents[first:], start=first)
                         if ids[j] == nxt and (j == first or is_item(s.text)))
        else:
            break
        nxt += 1
    return items[:MAX_LIST_ITEMS]
