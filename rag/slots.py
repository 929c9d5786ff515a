"""What a question asks for (its slot), and whether a sentence fills it.

A sentence that names the question's entities but not the asked-for fact is not an answer:
"What is Albert Cahalan's email address?" is not answered by "Albert Cahalan wrote a new ps".
Two checks, both cheap (regular expressions plus the spaCy entities computed at ingest):

- the slot: an email, URL, path, version, year, date, number, person or organisation the
  question asks for must appear in the sentence, as something the question does not already
  contain. Some slots are required (the sentence is no answer without them), others only
  preferred (NER is too coarse to refuse on: "who" may be a person, a company or a country);
- the anchors: numbers and capitalised names in the question ("in 2011", "Rik van Riel") must
  occur in the sentence's chunk (its text, title or section), or the sentence is about
  something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.text import content_terms

NUMERIC = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
DATES = frozenset({"DATE", "TIME"})

NUMBER_RE = re.compile(r"\d")
YEAR_RE = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b")
CLOCK_RE = re.compile(r"\b\d{1,2}:\d{2}\b")
MONTH_RE = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d", re.I)
VERSION_RE = re.compile(r"\b[vV]?\d+(\.\d+)+\b|\b[vV]\d+\b|\bversions?\s+\d+|\b\d+\.x\b")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL_RE = re.compile(r"https?://\S+|\bwww\.\S+|\b[\w-]+\.(com|org|net|io|dev|edu|gov)\b")
# temporal connectives that open an occasion: "before calling ...", "once it is installed"
OCCASION_RE = re.compile(rf"{CLOCK_RE.pattern}|\b(before|after|until|till|once|whenever|during|upon|if|"
                         r"each time|every time|as soon as|at (boot|startup|start-up|install time|run time|build time))\b",
                         re.I)
DURATION_RE = re.compile(r"\d|\b(indefinitely|forever|permanently)\b", re.I)
PATH_RE = re.compile(r"(^|[\s(\"'`])~?\.{0,2}/[\w.-]+|\b[A-Za-z]:\\")

PERSON_NOUNS = (r"person|people|maintainers?|authors?|developers?|engineers?|researchers?|"
                r"reporters?|founders?|creators?|inventors?|president|ceo|chair(?:man|woman)?|"
                r"leaders?|directors?|managers?|employees?|scientists?|writers?|spokes(?:man|woman|person)")
NUMBER_NOUNS = (r"uid|gid|pid|port|size|limit|maximum|minimum|max|min|timeout|length|height|width|"
                r"weight|population|price|cost|fee|salary|score|rating|rate|percentage|proportion|"
                r"share|number|count|amount|total|capacity|speed|temperature|distance|duration|age")

ORG_NOUNS = r"company|companies|organi[sz]ations?|firms?|vendors?|corporations?"


@dataclass(frozen=True)
class Slot:
    """One kind of asked-for fact: entity labels and/or a pattern that fill it."""

    name: str
    labels: frozenset[str] = frozenset()
    pattern: re.Pattern | None = None
    required: bool = True


PERSON = Slot("person", labels=frozenset({"PERSON"}))
ORGANISATION = Slot("organisation", labels=frozenset({"ORG"}))
PERSON_OR_ORG = Slot("person-or-organisation")  # resolved per match, never returned
# a place, or in technical text the address something is found at or sent to
PLACE = Slot("place", labels=frozenset({"GPE", "LOC", "FAC"}),
             pattern=re.compile(rf"{EMAIL_RE.pattern}|{URL_RE.pattern}|{PATH_RE.pattern}"), required=False)


AGENTS = frozenset({"PERSON", "ORG", "NORP", "GPE"})


# "What do the developers want ...": after do-support or a modal the noun is the subject of
# another verb, not what is asked for ("what is the maximum size" still asks for the size)
AUX_GAP = r"(?:\s+(?!(?:do|does|did|can|could|should|would|will|shall|must|may|might|has|have|had)\b)[\w.'-]+)"


def _wh_head(nouns: str) -> re.Pattern:
    """'what/which [up to 4 words] NOUN': the noun is what is asked for."""
    return re.compile(rf"\b(what|which)\b{AUX_GAP}{{0,4}}?\s+({nouns})\b")


# first match wins: the most specific slots first
SLOTS: list[tuple[re.Pattern, Slot]] = [
    (re.compile(r"\be-?mail\b"), Slot("email", pattern=EMAIL_RE)),
    (re.compile(r"\b(url|website|web site|web address|web page|homepage)\b"), Slot("url", pattern=URL_RE)),
    (re.compile(r"\b(which|what|in which|in what)\s+(directory|folder|path)\b"), Slot("path", pattern=PATH_RE)),
    (re.compile(r"\b(which|what)\b(\s+[\w.'-]+){0,3}?\s+versions?\b|\bversion number\b"),
     Slot("version", pattern=VERSION_RE)),
    (re.compile(r"\b(what|which) year\b|\bwhat decade\b|\bwhat century\b"),
     Slot("year", labels=DATES, pattern=YEAR_RE)),
    (re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|proportion|share|amount)\b"),
     Slot("number", labels=NUMERIC, pattern=NUMBER_RE)),
    (re.compile(r"\bhow (long|old)\b"), Slot("duration", labels=NUMERIC | DATES, pattern=DURATION_RE)),
    # "When are aliases resolved?" / "When is the warning printed?": a general present or modal
    # "when" asks for an occasion ("before calling ...", "if you type ..."), not only a date
    (re.compile(r"^when (is|are|does|do|will|would|should|can|could|must|may|might)\b"),
     Slot("occasion", labels=DATES, pattern=OCCASION_RE)),
    (re.compile(r"^(since |until |till |from )?when\b|\b(what|which) (date|month|day|time)\b"),
     Slot("date", labels=DATES, pattern=CLOCK_RE)),
    (_wh_head(NUMBER_NOUNS), Slot("number", labels=NUMERIC, pattern=NUMBER_RE)),
    (re.compile(rf"\bnames? of\b(\s+[\w.'-]+){{0,3}}?\s+({PERSON_NOUNS})\b|\bwho\b(\s+[\w.'-]+){{0,3}}?\s+({PERSON_NOUNS})\b"),
     PERSON),
    # "which company ... manager": the first head noun decides (the lazy match ends there)
    (_wh_head(rf"(?P<person>{PERSON_NOUNS})|(?P<organisation>{ORG_NOUNS})"), PERSON_OR_ORG),
    (re.compile(r"\bnames? of\b"), Slot("name", labels=frozenset({"PERSON", "ORG", "PRODUCT", "WORK_OF_ART", "FAC"}))),
    (re.compile(r"^(who|whom|whose)\b|\b(by|to|for|from|with) (who|whom)\b"),
     Slot("who", labels=AGENTS, required=False)),
    (re.compile(r"^where\b|\b(what|which) (country|city|place|town|state|nation)\b"),
     PLACE),
]


# the question word that leads the question ("Why does ps warn when I type..." asks why)
LEAD_RE = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b")
OPEN_HOW_RE = re.compile(r"\bhow\b(?!\s+(many|much|long|old|far|big|large|small|often|fast|high|tall|wide|deep))")


def lead_word(question: str) -> str | None:
    """The first question word, or None (imperatives: "Name the ...")."""
    return _from_lead(question.lower())[0]


def _from_lead(q: str) -> tuple[str | None, str]:
    """The lead question word and the question from it on. A "when"/"where" clause set off by a
    comma before another question word is subordinate: "When a name is too long, which parts
    are cut?" asks "which"."""
    found = list(LEAD_RE.finditer(q))
    if not found:
        return None, q
    m = found[0]
    comma = q.find(",", m.end())
    if m.group(1) in ("when", "where") and comma >= 0:
        m = next((later for later in found[1:] if later.start() > comma), m)
    return m.group(1), q[m.start():]


def asked_slot(question: str) -> Slot | None:
    """The slot of the question's own wh-phrase: a "why" or open "how" question asks for a
    reason or a manner, whatever names or times its clauses mention."""
    q = question.lower().strip().lstrip("¿\"'(")
    lead, rest = _from_lead(q)
    if lead == "why" or (lead == "how" and OPEN_HOW_RE.match(rest)):
        return None
    if lead == "where" and not re.search(r"\b(e-?mail|url|website|web site|web address)\b", q):
        return PLACE
    q = rest  # "If ps gets signal 17, what is ...": from the wh-word on
    for pattern, slot in SLOTS:
        m = pattern.search(q)
        if m and slot is PERSON_OR_ORG:
            return PERSON if m.group("person") else ORGANISATION
        if m:
            return slot
    return None


AUX_RE = re.compile(r"^(do|does|did|is|are|was|were|be|been|can|could|should|would|will|shall|must|may|might|"
                    r"has|have|had)$")
PREP_RE = re.compile(r"^(per|of|in|on|for|to|by|with|from|at|than|that|which|who)$")
HOW_MANY_RE = re.compile(r"\bhow (?:many|much)\s+([^?.,;:]*)")
MEASURE_NOUN_RE = re.compile(rf"\b(?:what|which)\b{AUX_GAP}{{0,4}}?\s+({NUMBER_NOUNS})\b")
# nouns the number itself expresses ("60%" is the percentage, "1 MiB" the size) and people
# counted under any name (inhabitants, colonists, members): no word of the question need be there
NUMBER_FORMS = frozenset(content_terms(
    "percentage proportion share number count amount total rate price cost fee size limit maximum minimum "
    "max min timeout length height width weight capacity speed temperature distance duration age"))
GENERIC_COUNTED = frozenset("people persons men women individuals".split())
COMPARATIVE_RE = re.compile(r"^(more|less|fewer|\w+er)$")


@lru_cache(maxsize=256)
def measured(question: str) -> frozenset[str]:
    """What a number question counts or measures, stemmed: "artillery shells" in "How many
    artillery shells did ...", "population" in "What is the population of ...". A number about
    something else ("20 firms") does not answer it; one of these terms must be there. Empty when the question does not say
    ("By how much did ... improve", "How much faster ...")."""
    q = question.lower()
    m = HOW_MANY_RE.search(q)
    if m:
        words = []
        for w in m.group(1).split():
            if AUX_RE.match(w) or PREP_RE.match(w):
                break
            words.append(w)
            if len(words) == 2:  # no tagger here: the noun phrase's first two words stand for it
                break
        if not words or COMPARATIVE_RE.match(words[0]) or words[0] in GENERIC_COUNTED:
            return frozenset()
        return frozenset(content_terms(" ".join(words))) - NUMBER_FORMS
    m = MEASURE_NOUN_RE.search(q)
    return frozenset(content_terms(m.group(1))) - NUMBER_FORMS if m else frozenset()


def fills(slot: Slot | None, text: str, entities, question: str) -> bool:
    """True when the sentence holds a filler of the slot the question does not contain."""
    if slot is None:
        return True
    q_terms = _terms(question)
    q_lower = question.lower()
    initials = _initials(question)
    for ent_text, label in entities:
        if label in slot.labels and not set(content_terms(ent_text)) & q_terms and not _false_entity(ent_text, label):
            if ent_text.lower() in initials:  # "GDM" for "GNOME Display Manager": named by the question
                continue
            if slot.name == "number" and (_vague(ent_text) or not _standalone(ent_text, text)
                                          or _identifier(ent_text, text)):
                continue  # "hundreds of CPUs" does not say how many; "policykit-1", "Chapter 9.2" are names
            if slot.name != "year" or YEAR_RE.search(ent_text):
                return True
    if slot.pattern is None:
        return False
    if slot.name == "number":  # whole numbers ("9.2.2"), not their digits one by one
        return any(m.group() not in q_lower and _standalone(m.group(), text) and not _identifier(m.group(), text)
                   for m in NUMBER_TOKEN_RE.finditer(text))
    return any(m.group().strip().lower() not in q_lower for m in slot.pattern.finditer(text))


NUMBER_TOKEN_RE = re.compile(r"\d(?:[\d.,]*\d)?")


# a number that names a place in a text or a release rather than counting anything:
# "Chapter 9.2.2", "bug #1014901", "RFC 1952", "version 3.125", "section 4", "9.2.2"
REFERENCE_RE = re.compile(r"(?:\b(?:chapters?|sections?|sect|§|versions?|releases?|bugs?|issues?|tickets?|rfc|"
                          r"pages?|pp?|figures?|fig|tables?|appendix|steps?|parts?|clauses?|articles?)\.?|#)"
                          r"\s*[#(]?\s*$", re.I)
DOTTED_RE = re.compile(r"^\D*\d+(?:\.\d+){2,}\D*$|^#")


def _identifier(num_text: str, text: str) -> bool:
    """Every occurrence of the number is an identifier: dotted twice over, or right after a
    reference word ("Chapter", "bug #", "RFC", "version")."""
    num_text = num_text.strip()
    if DOTTED_RE.match(num_text):
        return True
    found = list(_find_all(text, num_text))
    return bool(found) and all(REFERENCE_RE.search(text[max(0, i - 12):i]) for i in found)


def _false_entity(ent_text: str, label: str) -> bool:
    """NER misreadings no slot takes: a name made only of stop words ("None" tagged ORG in
    "instead of None"), a bare number tagged DATE that is no year ("0700", a file mode)."""
    if label not in NUMERIC | DATES and not content_terms(ent_text):
        return True  # ("one", "two" are stop words too, but numbers)
    return label == "DATE" and ent_text.strip().isdigit() and not YEAR_RE.fullmatch(ent_text.strip())


def _vague(ent_text: str) -> bool:
    return bool(VAGUE_RE.search(ent_text)) and not NUMBER_RE.search(ent_text)


def _standalone(ent_text: str, text: str) -> bool:
    """The entity occurs as its own word somewhere, not glued into a name ("policykit-1", "v8")."""
    return any(not (i and (text[i - 1].isalnum() or text[i - 1] in "-_")) and
               not (i + len(ent_text) < len(text) and text[i + len(ent_text)].isalpha())
               for i in _find_all(text, ent_text))


def _find_all(text: str, part: str):
    i = text.find(part)
    while part and i >= 0:
        yield i
        i = text.find(part, i + 1)


VAGUE_RE = re.compile(r"\b(hundreds|thousands|millions|billions|dozens|tens|several|many|few|numerous|multiple|some)\b", re.I)
CAPITALISED_RUN_RE = re.compile(r"\b[A-Z][\w-]*(?:\s+[A-Z][\w-]*)+")


@lru_cache(maxsize=256)
def _initials(question: str) -> frozenset[str]:
    """Acronyms of the question's runs of capitalised words ("GNOME Display Manager" → gdm)."""
    return frozenset("".join(w[0] for w in m.group().split()).lower()
                     for m in CAPITALISED_RUN_RE.finditer(question))


@lru_cache(maxsize=256)
def _terms(question: str) -> frozenset[str]:
    """The question's content terms, once per question (fills runs once per sentence)."""
    return frozenset(content_terms(question))


WORD_RE = re.compile(r"[\w][\w.'-]*\w|\w")


def anchors(question: str) -> list[str]:
    """Numbers and names of the question (not its first word; "macOS" counts), lower-cased."""
    words = WORD_RE.findall(question)
    out = []
    for i, w in enumerate(words):
        if any(ch.isdigit() for ch in w) or (i > 0 and len(w) > 1 and any(ch.isupper() for ch in w)):
            out.append(w.lower().removesuffix("'s").removesuffix("’s"))
    return out


def anchors_present(found: list[str], context: str) -> bool:
    """Every anchor occurs in the context (as a word, or its stem among the context's)."""
    if not found:
        return True
    lower = context.lower()
    stems = None
    for a in found:
        if re.search(rf"(?<!\w){re.escape(a)}(?!\w)", lower):
            continue
        if stems is None:
            stems = set(content_terms(context))
        terms = content_terms(a)
        if not terms or not all(t in stems for t in terms):
            return False
    return True
