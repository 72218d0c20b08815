"""Rules that override the conversation: transfer, escalation, abuse, hours.

Each check is a pure function of the Playbook and what was said; the engine
asks them on every turn, before it tries to understand an order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jellyfish

from agi.dialogue import lexicon
from agi.playbook import Playbook


@dataclass(frozen=True, slots=True)
class Decision:
    """What a rule decided: transfer to `target` or refuse, and why."""

    action: str  # "transfer" | "refuse" | "confirm" (a key press before the call goes on)
    reason: str
    target: str | None = None
    prompt: str = "transfer_escalate"


# A person the caller wants sent out, not put on the line: "an electric
# person" (an electrician, misheard), "the repair person", "somebody to fix
# the furnace"; unless the caller asks to talk ("let me speak to the delivery
# person"). Words that may stand before "person" in a request for one:
_PERSON_ON_THE_LINE = r"a|an|the|real|live|actual|human|to|with|another|one|some|any|your|that|this"
_SERVICE_WORKER = re.compile(
    rf"\b(?!(?:{_PERSON_ON_THE_LINE})\b)[a-z]+ (?:person|people)\b"
    r"|\b(?:somebody|someone) (?:who|that) (?!can help|could help)"
    r"|\b(?:somebody|someone|a person|person) to (?!talk|speak|chat|help|answer)[a-z]+\b"
)
_CONVERSE = re.compile(r"\b(?:talk|speak|chat|connect|transfer|put me through)\b")


def wants_person(text: str, language: str) -> bool:
    """'can I talk to a person', 'operator', 'hablar con alguien', '转人工'."""
    norm = lexicon.normalise(text)
    if not _CONVERSE.search(norm):
        norm = _SERVICE_WORKER.sub(" ", norm).strip()
    for lang in {language, "en", "es", "zh"}:
        noun = lexicon.contains(norm, lexicon.TRANSFER[lang])
        if noun is None:
            continue
        # Bare single nouns that are whole utterances ("operator", "人工") count.
        if len(norm.split()) <= 2 and not lexicon.has_cjk(norm):
            return True
        if lexicon.has_cjk(norm) or lexicon.contains(norm, lexicon.TRANSFER_VERBS[lang]):
            return True
    return False


def matches_phrase(text: str, phrases: list[str] | tuple[str, ...]) -> str | None:
    return lexicon.contains(lexicon.normalise(text), tuple(p.lower() for p in phrases))


# Words skipped when an urgent phrase is matched by sound ("just a pain").
_FILLER = frozenset({"a", "an", "the", "some", "my", "of", "un", "una", "el", "la", "de"})


def sounds_like_phrase(text: str, phrases: tuple[str, ...] | list[str]) -> str | None:
    """The first phrase of two or more words that `text` says by sound, or None.

    Each word must sound alike (metaphone codes at most one sound apart) and
    one word of four letters or more must be said as written: a phone line
    turns "chest pain" into "just a pain", and "pain" stays."""
    words = [w for w in lexicon.fold(lexicon.normalise(text)).split() if w not in _FILLER]
    for phrase in phrases:
        wanted = [w for w in lexicon.fold(phrase.lower()).split() if w not in _FILLER]
        if len(wanted) < 2 or lexicon.has_cjk(phrase):
            continue
        for start in range(len(words) - len(wanted) + 1):
            said = words[start : start + len(wanted)]
            if any(a == b and len(a) >= 4 for a, b in zip(said, wanted)) and all(
                a == b or _sound_apart(a, b) <= 1 for a, b in zip(said, wanted)
            ):
                return phrase
    return None


def said_in_any_order(text: str, phrases: tuple[str, ...] | list[str]) -> str | None:
    """The first phrase of two or more words whose words are all said, in any order
    and with other words between ("my baby has a really high fever" says "high fever
    baby", "breathing trouble" says "trouble breathing", "胸口很疼" says "胸口疼")."""
    norm = lexicon.fold(lexicon.normalise(text))
    words = [lexicon.stem(w) for w in norm.split()]
    for phrase in phrases:
        folded = lexicon.fold(phrase.lower())
        if lexicon.has_cjk(folded):
            chars = [c for c in folded if not c.isspace()]
            if len(chars) >= 3 and re.search(".{0,2}".join(map(re.escape, chars)), norm.replace(" ", "")):
                return phrase
            continue
        wanted = {lexicon.stem(w) for w in lexicon.normalise(folded).split() if w not in _FILLER}
        if len(wanted) >= 2 and _close_together(words, wanted, len(wanted) + 4):
            return phrase
    return None


def _close_together(words: list[str], wanted: set[str], width: int) -> bool:
    """Whether every wanted word is said within `width` words of one another."""
    for start in range(len(words)):
        if words[start] in wanted and wanted <= set(words[start : start + width]):
            return True
    return False


def _stemmed_phrase(text: str, phrases: list[str]) -> str | None:
    said = " " + " ".join(lexicon.stem(w) for w in lexicon.fold(lexicon.normalise(text)).split()) + " "
    for phrase in phrases:
        wanted = " ".join(lexicon.stem(w) for w in lexicon.fold(lexicon.normalise(phrase)).split())
        if wanted and f" {wanted} " in said:
            return phrase
    return None


def _sound_apart(a: str, b: str) -> int:
    return jellyfish.levenshtein_distance(jellyfish.metaphone(a), jellyfish.metaphone(b))


def urgent(text: str, playbook: Playbook) -> Decision | None:
    """Clinic-style urgency: always a person, at once. Urgent phrases also
    count when said by sound (see `sounds_like_phrase`): a false alarm costs
    the caller a moment with staff, a missed one much more."""
    configured = playbook.escalation.urgent
    if not configured:
        return None
    builtin = tuple(p for lang in lexicon.URGENT_DEFAULT.values() for p in lang)
    phrases = tuple(configured) + builtin
    hit = matches_phrase(text, phrases) or said_in_any_order(text, phrases) or sounds_like_phrase(text, phrases)
    if hit:
        target = playbook.escalation.urgent_target or playbook.escalation.default_target
        return Decision("transfer", f"urgent: {hit}", target, "transfer_urgent")
    return None


def out_of_scope(text: str, playbook: Playbook) -> Decision | None:
    """A matter the Playbook sends to a person ("catering"), also said in the plural or
    another form ("do you do party trays?" for "party tray")."""
    phrases = playbook.escalation.out_of_scope
    hit = matches_phrase(text, phrases) or _stemmed_phrase(text, phrases)
    if hit:
        target = playbook.escalation.out_of_scope_target or playbook.escalation.default_target
        return Decision("transfer", f"out of scope: {hit}", target)
    return None


_WORD = re.compile(r"[\w']+")


def profane(text: str, playbook: Playbook) -> str | None:
    words = tuple(lexicon.PROFANITY) + tuple(w.lower() for w in playbook.abuse.profanity)
    norm = lexicon.normalise(text)
    hit = lexicon.contains(norm, words)
    if hit:
        return hit
    # Inflections such as "fucking" of listed roots.
    tokens = _WORD.findall(norm)
    for w in words:
        if not lexicon.has_cjk(w) and " " not in w and any(t.startswith(w) and len(w) >= 4 for t in tokens):
            return w
    return None


def prankish(text: str) -> bool:
    return lexicon.contains(lexicon.normalise(text), lexicon.PRANK) is not None


def mask_number(number: str | None) -> str:
    """'+15551234567' -> '+1555***4567' for logs."""
    if not number:
        return ""
    digits = number.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:-7] + "***" + digits[-4:] if len(digits) > 8 else "***" + digits[-4:]


def normalise_number(number: str | None) -> str:
    return re.sub(r"[^\d+]", "", number or "")


def caller_rule(playbook: Playbook, caller: str | None, recent_hangups: int) -> Decision | None:
    """Rules decided by who is calling, before a word is said.

    Repeat hang-ups ask the caller to confirm (a key press, else a person)
    rather than refuse: caller ID can be spoofed, and a prank made with a real
    customer's number must not lock that customer out."""
    num = normalise_number(caller)
    if num and num in {normalise_number(n) for n in playbook.abuse.blocked_numbers}:
        return Decision("refuse", "blocked number")
    if recent_hangups >= playbook.abuse.max_hangups_per_hour:
        return Decision("confirm", f"repeat hang-ups: {recent_hangups} in the last hour")
    if num and num in {normalise_number(n) for n in playbook.escalation.vip_numbers}:
        target = playbook.escalation.vip_target or playbook.escalation.default_target
        return Decision("transfer", "VIP caller", target)
    return None
