"""The caller's name out of what they say, in any turn and any clause.

"hey, this is Jamie, could I get ...", "I'm Pat, one medium ...", "my name's
Ruth and I'd like ...", "it's for Omar", "put it under Nakamura", "soy Ana",
"me llamo ...", "a nombre de ...", "我叫王明", "我是李先生" all give a name; "this
is for pickup", "I'm good", "I'm calling about my order", "it's for delivery"
and "I'm allergic to nuts" do not. A bare word is a name only right after the
bot asked for one.
"""

from __future__ import annotations

import re

from agi.dialogue import lexicon
from agi.dialogue.numbers import words_to_number

# Sounds and greetings that may open a clause before "this is ..." / "I'm ...".
_LEAD = (
    r"^(?:(?:hi|hey|hello|hiya|yeah|yes|yep|um|uh|oh|so|okay|ok|well|sure|good morning|good afternoon|"
    r"good evening|hola|buenas|buenos días|buenos dias|buenas tardes|sí|si)\s+)*(?:there\s+)?"
)
# Phrases that introduce a name anywhere in an utterance ("name's Maria, pickup at 6")...
NAME_INTROS = {
    "en": (r"(?:my name is|my name's|name is|name's|the name is|it's under|under the name|put it under|"
           r"put that under|put it down under|call me|it's for|it is for)\s+([a-z][a-z' -]{0,40})"),
    "es": (rf"(?:me llamo|mi nombre es|a nombre de|al nombre de|{_LEAD}soy|{_LEAD}habla)"
           r"\s+([a-záéíóúñ][a-záéíóúñ' -]{0,40})"),
    "zh": r"(?:我叫|我是|名字是|名字叫|我姓)\s*([\u4e00-\u9fffA-Za-z]{1,4})",
}
# ...phrases that introduce a name only at the start of a clause, and only when the
# word after them is no everyday word ("I'm Pat", not "I'm craving pizza")...
NAME_INTROS_OPENING = {
    "en": rf"(?:{_LEAD}this is|{_LEAD}it's|{_LEAD}it is|{_LEAD}i'm|{_LEAD}i am|{_LEAD}this is for)\s+([a-z][a-z' -]{{0,40}})",
}
# ...and weaker ones that only count right after we asked for a name.
NAME_INTROS_ASKED = {
    "en": rf"(?:^for|^under|^it's for|{_LEAD}it's|^sure it's)\s+([a-z][a-z' -]{{0,40}})",
    "es": r"(?:^para|^es)\s+([a-záéíóúñ][a-záéíóúñ' -]{0,40})",
    "zh": r"(?:^是|^姓)\s*([\u4e00-\u9fffA-Za-z]{1,4})",
}

# Sounds before a bare name that are not part of it ("oh, Olivia", "uh, Henry").
NAME_FILLERS = {"oh", "uh", "um", "umm", "ah", "er", "erm", "hmm", "well", "so", "i", "yeah", "ok", "okay", "sure", "eh",
                "or", "and", "hi", "hey", "hello", "pues", "este", "嗯", "呃", "wait", "hold", "on", "actually", "sorry",
                "no", "yes", "oops", "sí", "si"}

# Words that end a name said mid-sentence ("name's Maria, pickup at 6", "put it under Nakamura he needs ...").
NAME_STOP_WORDS = {
    "and", "for", "at", "pickup", "pick", "delivery", "please", "thanks", "thank", "my", "phone", "number",
    "to", "the", "by", "around", "y", "para", "a", "las", "por", "gracias", "en", "de", "is", "it", "i",
    "we", "will", "be", "who", "that's", "thats", "with", "he", "she", "they", "he's", "she's", "they're",
    "i'm", "i'd", "i'll", "we'd", "we're", "could", "can", "would", "want", "wants", "need", "needs", "like",
    "calling", "here", "again", "too", "also", "so", "but", "just", "um", "uh", "necesito", "quiero",
    "quisiera", "tengo", "me", "le", "necesita", "quiere", "con", "que", "from", "on", "in", "of",
}
# Words that are never a name where one may stand ("I'm good", "it's for delivery", "sí").
NOT_NAMES = {
    "hungry", "here", "calling", "good", "fine", "done", "ready", "sure", "sorry", "looking", "wondering",
    "not", "just", "going", "a", "an", "the", "yes", "no", "okay", "ok", "also", "pickup", "delivery",
    "order", "ordering", "gonna", "trying", "interested", "still", "back", "listening", "there", "all",
    "that", "this", "it", "at", "in", "on", "now", "today", "tonight", "tomorrow", "allergic", "new", "wanting",
    "thinking", "hoping", "curious", "vegetarian", "vegan", "starving", "late", "running", "outside", "nearby",
    "on my way", "great", "well", "alright", "about", "after", "actually", "really", "so", "very", "pretty",
    "kind", "sort", "wanting", "planning", "wanting", "after", "afraid", "glad", "happy", "fine", "free",
    "available", "driving", "home", "calling", "trying", "also", "same", "correct", "right", "yeah", "yep",
    "sí", "si", "claro", "vale", "bueno", "nuevo", "nueva", "cliente", "for", "me",
    "my", "your", "our", "his", "her", "their", "what", "how", "who", "why", "where", "when", "can", "could",
    "please", "thanks", "thank", "hi", "hello", "hey", "sick", "tired", "feeling", "pregnant", "diabetic",
    "over", "under", "out", "up", "down", "off", "gluten", "lactose", "two", "dine", "takeout", "carryout",
    "todo", "nada", "eso", "bien", "listo", "correcto", "perfecto", "due", "been", "being", "going", "gonna",
}
# Chinese words that end a name run ("我叫王明要两份" is 王明).
_ZH_AFTER_NAME = "要想点订买的，,。在给来和"
_CLAUSES = re.compile(r"[,.!?;，。！？、；]+")


def parse_name(text: str, language: str, asked: bool) -> str | None:
    """'my name is Maria', 'hey this is Jamie', 'it's under Lee', '我叫王明' — or a bare name
    when we just asked. `text` may be raw (clause punctuation helps) or normalised."""
    clauses = [lexicon.normalise(c) for c in _CLAUSES.split(text) if c.strip()]
    patterns = [(NAME_INTROS.get(language, NAME_INTROS["en"]), False)]
    if language in NAME_INTROS_OPENING:
        patterns.append((NAME_INTROS_OPENING[language], True))
    if asked:
        patterns.append((NAME_INTROS_ASKED.get(language, NAME_INTROS_ASKED["en"]), False))
    for pattern, opening in patterns:
        for clause in clauses:
            for m in re.finditer(pattern, clause):
                name = _clean_name(m.group(1), language)
                if name and (not opening or _plausible(name, m.group(1))):
                    return name
    if asked and clauses:
        return _bare_name(clauses, language)
    return None


def name_span(norm: str, language: str) -> tuple[int, int] | None:
    """Where in normalised words a name is said with its introduction ("soy ana", "my name
    is maria"): those words are the caller's, never the order's ("soy" is no soy milk)."""
    patterns = [(NAME_INTROS.get(language, NAME_INTROS["en"]), False)]
    if language in NAME_INTROS_OPENING:
        patterns.append((NAME_INTROS_OPENING[language], True))
    for pattern, opening in patterns:
        for m in re.finditer(pattern, norm):
            name = _clean_name(m.group(1), language)
            if name and (not opening or _plausible(name, m.group(1))):
                if lexicon.has_cjk(name):
                    return m.start(), m.start(1) + len(name)
                words = re.match(r"\s*(?:\S+\s+){%d}\S+" % (len(name.split()) - 1), norm[m.start(1):])
                return m.start(), m.start(1) + (words.end() if words else len(m.group(1)))
    return None


def _bare_name(clauses: list[str], language: str) -> str | None:
    """The answer to "can I get a name?": the first clause that is a name ("oh, Olivia",
    "Sam, thanks", "Olivia Smith please"); a clause of other words is no name."""
    for clause in clauses:
        if language == "zh" and 1 <= len(clause.replace(" ", "")) <= 6 and lexicon.has_cjk(clause):
            return clause.replace(" ", "")
        words = clause.split()
        while len(words) > 1 and words[0] in NAME_FILLERS:  # "oh, Olivia", "uh Henry"
            words = words[1:]
        if not words or all(w in NAME_FILLERS or w in NOT_NAMES or w in _POLITE for w in words):
            continue
        cut = next((i for i, w in enumerate(words) if w in NAME_STOP_WORDS), len(words))
        head, tail = words[:cut], words[cut:]
        if 1 <= len(head) <= 3 and all(w in _POLITE for w in tail) and not any(w in NOT_NAMES for w in head):
            return _clean_name(" ".join(head), language)
        return None
    return None


_POLITE = {"please", "thanks", "thank", "you", "thx", "gracias", "por", "favor"}


def _plausible(name: str, said: str) -> bool:
    """A word after "I'm" / "this is" that is a name, not how the caller is ("I'm craving
    pizza", "I'm interested", "it's Tuesday", "I'm due for my physical"): a name ends its
    clause or is followed by a word that goes on after a name ("I'm Pat and ...")."""
    first = name.split()[0].lower()
    if len(first) > 5 and first.endswith(("ing", "ed", "ly")):
        return False
    after = said.split()[len(name.split()) :]
    return first not in _DAY_WORDS and (not after or after[0] in _AFTER_A_NAME)


# Words that follow a name said in passing ("this is Jamie calling", "I'm Pat and I'd like", "it's Omar here").
_AFTER_A_NAME = {
    "and", "here", "calling", "again", "speaking", "from", "i", "i'd", "i'm", "i'll", "i've", "could", "can",
    "would", "we", "just", "um", "uh", "please", "y", "so", "thanks", "hi", "hello", "with",
}


_DAY_WORDS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "june", "july", "august", "september", "october", "november", "december", "morning", "afternoon",
    "evening", "noon", "midnight", "lunch", "dinner", "breakfast", "time",
}


def _clean_name(raw: str, language: str) -> str | None:
    if language == "zh" and lexicon.has_cjk(raw):
        cut = re.split(f"[{_ZH_AFTER_NAME}]", raw.strip(), maxsplit=1)[0]
        return cut or None
    words = []
    for w in raw.split():
        if w in NAME_STOP_WORDS or words_to_number(w) is not None:
            break
        words.append(w)
    words = words[:3]
    if not words or words[0] in NOT_NAMES or words_to_number(words[0]) is not None:
        return None
    return " ".join(w.capitalize() for w in words)
