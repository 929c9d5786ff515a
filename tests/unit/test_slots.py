"""What a question asks for, and whether a sentence fills it (rag/slots.py)."""

import pytest

from rag.slots import anchors, anchors_present, asked_slot, fills, measured


@pytest.mark.parametrize("question, slot, required", [
    ("What is Albert Cahalan's email address?", "email", True),
    ("Which website hosts the project?", "url", True),
    ("In which directory are temporary files written?", "path", True),
    ("In which Node.js version was the module deprecated?", "version", True),
    ("Which version number did he give his releases?", "version", True),
    ("In what year did Debian stop creating the user?", "year", True),
    ("How many warheads are there?", "number", True),
    ("What uid does the proxy user have?", "number", True),
    ("What is the maximum upload size?", "number", True),
    ("When was the pledge made?", "date", True),
    ("What is the name of the current base-passwd maintainer?", "person", True),
    ("Which researcher reported the flaw?", "person", True),
    ("Which company develops the display manager?", "organisation", True),
    ("Which manager of the company signed it?", "person", True),
    ("Who criticized the remarks?", "who", False),
    ("Who is in charge of the Kremlin press office?", "who", False),
    ("Where is the summit held?", "place", False),
])
def test_asked_slot(question, slot, required):
    got = asked_slot(question)
    assert got is not None and (got.name, got.required) == (slot, required)


@pytest.mark.parametrize("question", ["What does NATO want?", "Why is top slow?",
                                      "What does a high load average mean?"])
def test_open_questions_ask_for_no_slot(question):
    assert asked_slot(question) is None


def test_a_sentence_naming_the_asked_entity_only_is_no_answer():
    q = "What is Albert Cahalan's email address?"
    slot = asked_slot(q)
    ents = [("Albert Cahalan", "PERSON"), ("1997", "DATE")]
    assert not fills(slot, "Starting in 1997, Albert Cahalan wrote a new ps program.", ents, q)
    assert fills(slot, "Write to albert@example.org with questions.", [], q)


def test_the_filler_must_be_new_to_the_question():
    q = "How many CPUs did the 2011 release support?"
    slot = asked_slot(q)
    assert not fills(slot, "The 2011 release was a big one.", [("2011", "DATE")], q)
    assert fills(slot, "The 2011 release supported 64 CPUs.", [("64", "CARDINAL")], q)


def test_person_slot_needs_a_person_not_an_organisation():
    q = "Which researcher reported the flaw?"
    slot = asked_slot(q)
    assert not fills(slot, "The flaw was reported by Acme Corp.", [("Acme Corp", "ORG")], q)
    assert fills(slot, "Jane Roe of Acme reported the flaw.", [("Jane Roe", "PERSON")], q)


def test_version_slot_needs_a_version():
    q = "Which Python versions does it support?"
    slot = asked_slot(q)
    assert not fills(slot, "It is a streaming parser for Python.", [], q)
    assert fills(slot, "It supports Python 3.8 and newer.", [], q)


def test_anchors_are_numbers_and_names_not_the_first_word():
    assert anchors("Who moved the procps project to Gitorious in 2011?") == ["gitorious", "2011"]
    assert anchors("What does Stoltenberg's speech say?") == ["stoltenberg"]
    assert anchors("Why is top slow?") == []


def test_anchors_must_occur_in_the_context():
    found = anchors("Who moved procps to Gitorious in 2011?")
    assert anchors_present(found, "In 2011 the project moved to Gitorious.")
    assert not anchors_present(found, "In 2002 the project moved to SourceForge.")
    assert anchors_present(anchors("What did the Councillors propose?"), "a councillor proposed it")


@pytest.mark.parametrize("question", [
    "Why does ps print a warning when I type a dash before aux?",  # why: a reason, whatever "when" says
    "What happens to long user names when the column is too narrow?",
    "How does a streaming parser avoid holding the request in memory?",
])
def test_the_lead_question_word_decides_not_a_subordinate_clause(question):
    assert asked_slot(question) is None


def test_where_asks_for_a_place_or_an_address_never_required():
    slot = asked_slot("Where does the name of the adm group come from?")
    assert slot is not None and (slot.name, slot.required) == ("place", False)
    q = "Where can I send information about the items marked HELP?"
    assert fills(asked_slot(q), "Please send mail to <base-passwd@packages.debian.org>.", [], q)


def test_since_when_and_a_late_wh_word_still_ask_for_their_slot():
    assert asked_slot("Since when has the flag existed?").name == "date"
    assert asked_slot("If ps gets signal 17, how many processes are hit?").name == "number"


def test_a_vague_quantity_or_a_digit_inside_a_name_is_no_number():
    q = "How many CPUs does the largest system have?"
    slot = asked_slot(q)
    assert not fills(slot, "Some Linux systems have hundreds of CPUs.", [("hundreds", "CARDINAL")], q)
    q = "What gid does the sudo group have?"
    slot = asked_slot(q)
    assert not fills(slot, "From the policykit-1 package.", [("1", "CARDINAL")], q)
    assert fills(slot, "It had uid/gid 41.", [("41", "CARDINAL")], q)


def test_an_acronym_of_the_question_s_own_name_is_not_new():
    q = "Which company develops the GNOME Display Manager?"
    slot = asked_slot(q)
    assert not fills(slot, "GDM (GNOME Display Manager) runs as this user.", [("GDM", "ORG")], q)
    assert fills(slot, "GDM is developed by Acme.", [("GDM", "ORG"), ("Acme", "ORG")], q)


@pytest.mark.parametrize("question, slot", [
    ("When a compressed file name is too long, which parts of the name does gzip truncate?", None),
    ("Instead of deleting its users when a package is purged, what should the package do?", None),
    ("Where the cache is full, how many entries are dropped?", "number"),
    ("When was the flag added?", "date"),  # no comma: the "when" leads
])
def test_a_when_or_where_clause_before_a_comma_is_subordinate(question, slot):
    got = asked_slot(question)
    assert (got.name if got else None) == slot


def test_a_noun_after_do_support_is_the_subject_not_the_asked_for_thing():
    assert asked_slot("What do the adduser developers want to see when a test fails?") is None
    assert asked_slot("Which maintainers does the team thank?").name == "person"  # the noun leads
    assert asked_slot("What is the maximum upload size?").name == "number"  # a copula keeps the head


def test_who_is_the_lead_maintainer_asks_for_a_person():
    slot = asked_slot("Who is the lead maintainer of adduser?")
    assert (slot.name, slot.required) == ("person", True)


def test_a_present_tense_when_asks_for_an_occasion_not_only_a_date():
    q = "When are field aliases resolved now?"
    slot = asked_slot(q)
    assert slot.name == "occasion"
    assert fills(slot, "Field aliases are now resolved before calling field_transformer.", [], q)
    assert fills(slot, "It is resolved in 2024.", [("2024", "DATE")], q)
    assert not fills(slot, "Field aliases are resolved by the decorator.", [], q)
    assert asked_slot("When was adduser 3.123 released?").name == "date"  # a past event: a date
    assert not fills(asked_slot("When was it released?"), "It was released before the fork.", [], "When was it released?")


def test_how_long_is_filled_by_a_number_or_an_unbounded_duration():
    q = "How long will the classic APIs remain?"
    slot = asked_slot(q)
    assert fills(slot, "The classic APIs will remain indefinitely.", [], q)
    assert fills(slot, "They remain for 3 years.", [("3 years", "DATE")], q)
    assert not fills(slot, "The classic APIs will remain.", [], q)


def test_mixed_case_names_are_anchors():
    assert anchors("What is gzip's default extension on macOS?") == ["macos"]
    assert not anchors_present(["macos"], "The default extension is z for MSDOS.")


@pytest.mark.parametrize("question, terms", [
    ("How many artillery shells did North Korea send to Russia?", {"artilleri", "shell"}),
    ("What is the population of Hong Kong?", {"popul"}),
    ("How many characters per indentation level should the code use?", {"charact"}),
    ("By how much did the rewritten top improve performance?", set()),
    ("How much faster is the new parser?", set()),
    ("Why is top slow?", set()),
    ("What percentage of the land is taken up by farms?", set()),  # "60%" is the percentage
    ("How much percentage of the land is farmland?", set()),
    ("How many people were in the colonies?", set()),  # counted as colonists, inhabitants ...
    ("At what size is an upload moved to a temporary file?", set()),  # "1 MiB" is the size
])
def test_measured_is_what_a_number_question_counts(question, terms):
    assert set(measured(question)) == terms


@pytest.mark.parametrize("sentence, entities, filled", [
    ("The reference is Debian Policy, Chapter 9.2.2.", (("9.2.2", "CARDINAL"),), False),
    ("Promptly, bug #1014901 was filed against it.", (("1014901", "CARDINAL"),), False),
    ("The format is specified in RFC 1952.", (("1952", "CARDINAL"),), False),
    ("The current form of adduser is used in 300 packages.", (("300", "CARDINAL"),), True),
    ("The current form of adduser is used in 300 packages.", (), True),  # NER missed it: the digits still count
])
def test_a_number_naming_a_chapter_bug_or_rfc_counts_nothing(sentence, entities, filled):
    q = "Exactly how many packages use adduser?"
    assert fills(asked_slot(q), sentence, entities, q) is filled


def test_ner_misreadings_fill_no_slot():
    q = "Who reported issue #1509 about field aliases?"
    sent = "Transformers receive usable alias values instead of None."
    assert not fills(asked_slot(q), sent, (("None", "ORG"),), q)  # a stop word, not an organisation
    q = "On what date was adduser 3.123 released?"
    sent = "So, in adduser 3.123, DIR_MODE reached its final default setting of 0700."
    assert not fills(asked_slot(q), sent, (("0700", "DATE"),), q)  # a file mode, not a year
    assert fills(asked_slot(q), "It was released in 2022.", (("2022", "DATE"),), q)
    q = "How many members does the group have?"
    assert fills(asked_slot(q), "The group has two members.", (("two", "CARDINAL"),), q)
