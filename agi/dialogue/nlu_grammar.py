"""The function words of ordering food, in English, Spanish and Chinese.

Menu words never live here: they come from the catalog. These are the words
around them: negation ("hold the"), amounts ("a little bit of"), joining
("and", "with"), swaps ("instead of"), "on the side", "make it".
Phrases are matched as whole tokens (see `nlu_text.tokenize`); Chinese
phrases character by character.
"""

from __future__ import annotations

from enum import Enum

from agi.dialogue.nlu_text import tokenize


class Tag(str, Enum):
    NEG = "neg"  # the next option is not wanted
    EXTRA = "extra"  # more of the next option
    LIGHT = "light"  # less of the next option
    WITH = "with"  # options for the item being described follow
    AND = "and"
    OR = "or"
    SWAP = "swap"  # "swap X for Y": the next option is replaced by the one after
    SUBSTITUTE = "substitute"  # "substitute Y for X": the next option replaces the one after
    INSTEAD = "instead"  # "Y instead of X": the option before replaces the next one
    SWAP_TO = "swap_to"  # the "for" / "with" / "to" inside a swap
    CHANGE_TO = "change_to"  # "X 换成 Y": the option before is replaced by the next one
    SIDE = "side"  # "on the side": the option before, served apart
    SIDE_OF = "side_of"  # "a side of": the item that follows is its own line
    MAKE = "make"  # "make it": what follows changes the line just described
    STOP = "stop"  # words that end an order phrase: "that's all", "thanks"
    FILLER = "filler"  # phrases whose words could be menu words: "can i" is not a can of soda


_EN: dict[Tag, list[str]] = {
    Tag.NEG: [
        "no", "not", "without", "w/o", "hold", "hold the", "hold off on", "hold off on the", "hold back",
        "hold back the", "hold on", "hold on the", "minus", "skip", "skip the", "avoid", "avoid the", "leave off",
        "leave off the", "leave out", "leave out the", "take off", "take off the", "take out", "remove", "except",
        "except for", "nix", "nix the", "lose the", "ditch the", "exclude", "excluding", "don't", "do not", "dont",
        "doesn't", "does not", "won't", "will not", "never", "nothing", "none", "hate", "allergic to",
        "not in the mood for", "no more", "cut the", "cut out the", "sin",
    ],
    Tag.EXTRA: [
        "extra", "double", "triple", "more", "additional", "lots of", "a lot of", "a whole lot of", "a bunch of",
        "a whole bunch of", "heavy", "heavy on", "heavy on the", "go heavy on", "go heavy on the", "loads of",
        "tons of", "load up on", "load up on the", "extra amount of", "a large amount of", "an extra",
        "some extra", "some more", "with extra", "more of", "more of the", "an extra helping of",
        "a double portion of", "double portion of", "a generous amount of", "generous", "heaping", "a heap of",
    ],
    Tag.LIGHT: [
        "light", "lite", "light on", "light on the", "go light on", "go light on the", "easy on", "easy on the",
        "go easy on", "go easy on the", "little", "a little", "just a little", "only a little", "a little bit",
        "a little bit of", "just a little bit of", "a bit of", "a bit", "just a bit", "just a bit of", "only a bit",
        "only a bit of", "a tiny bit of", "a tiny bit", "just a tiny bit of", "tiny bit of", "a touch of",
        "just a touch of", "a dash of", "a hint of", "not a lot of", "not a lot", "not much", "not too much",
        "not many", "a drizzle of", "a drizzle", "just a drizzle", "just a drizzle of", "only a drizzle",
        "only a drizzle of", "no more than a drizzle", "no more than a drizzle of", "less", "a small amount of",
        "a little amount of", "lightly", "barely any", "hardly any", "very little", "a sprinkle of",
        "a sprinkling of", "a smidge of",
    ],
    Tag.WITH: [
        "with", "add", "adding", "plus", "topped with", "top with", "top it with", "top it off with", "include",
        "including", "put", "also", "and also", "as well as", "along with", "along", "w", "containing",
        "that has", "which has", "comes with", "loaded with", "and add", "and put", "and some", "with some",
        "and then", "on top", "on it",
    ],
    Tag.AND: ["and", "&", "n", "then", "as well", "but", "oh and"],
    Tag.OR: ["or", "nor", "either"],
    Tag.SWAP: [
        "swap", "swap out", "swap out the", "swap the", "switch", "switch out", "switch the", "switch out the",
        "replace", "replace the", "change", "change the", "exchange", "exchange the", "sub out", "sub out the",
        "trade", "trade the",
    ],
    Tag.SUBSTITUTE: ["substitute", "sub", "substituting"],
    Tag.INSTEAD: ["instead of", "in place of", "rather than", "in lieu of", "instead of the", "in place of the"],
    Tag.SWAP_TO: ["for", "with", "to", "into", "for some", "with some", "for the", "with the", "by"],
    Tag.SIDE: ["on the side", "on side", "as a side", "in a separate container", "separately", "on the side please"],
    Tag.SIDE_OF: ["side of", "sides of", "a side of", "a side order of", "side order of", "an order of side"],
    Tag.MAKE: [
        "make it", "make that", "make them", "make those", "make it a", "make that a", "make them all",
        "make both", "make it an", "make that an", "i want it", "have it", "i'd like it", "make mine",
        "make them both", "both of them", "make that one", "i want them", "i want them all", "want them",
        "want them all", "i'd like them", "i would like them", "them all", "i'd like them all", "make all of them",
        "all of them",
    ],
    Tag.STOP: [
        "that's all", "that's it", "that is all", "that is it", "that will be all", "that'll be all",
        "that will be it", "thank you", "thanks", "that's everything", "nothing else",
    ],
    Tag.FILLER: [
        "can i", "can you", "can we", "can i get", "can i have", "can i please", "can you please", "i can",
        "you can", "if you can", "could i", "could you", "may i", "will you", "would you", "i would like",
        "i'd like", "let me", "let me get", "let me have", "i will", "i'll have", "i'll take", "i'll get",
        "i'll do", "i'll go with", "i need", "i want", "give me", "get me", "i'd love", "order me",
    ],
}

_ES: dict[Tag, list[str]] = {
    Tag.NEG: ["sin", "no", "nada de", "no quiero", "quita", "quitale", "quítale", "sin nada de", "menos", "excepto",
              "no le pongas", "no le ponga", "sin el", "sin la", "sin los", "sin las"],
    Tag.EXTRA: ["extra", "doble", "mucho", "mucha", "muchos", "muchas", "bastante", "más", "mas", "adicional",
                "con extra", "con mucho", "con mucha", "extra de"],
    Tag.LIGHT: ["poco", "poca", "un poco de", "poquito", "un poquito de", "poco de", "poca de", "ligero de",
                "no mucho", "no mucha"],
    Tag.WITH: ["con", "agrega", "agregue", "agregale", "añade", "añadele", "ponle", "póngale", "pongale",
               "incluye", "también", "tambien", "más", "y también", "con un poco de"],
    Tag.AND: ["y", "e", "luego", "pero"],
    Tag.OR: ["o", "ni"],
    Tag.SWAP: ["cambia", "cambie", "cambiar", "cambiale", "cámbiale", "reemplaza", "reemplace", "sustituye",
               "sustituya", "cambia el", "cambia la", "cambie el", "cambie la"],
    Tag.INSTEAD: ["en vez de", "en lugar de", "en vez del", "en lugar del"],
    Tag.SWAP_TO: ["por", "con"],
    Tag.SIDE: ["aparte", "al lado", "a un lado", "por separado", "al costado"],
    Tag.SIDE_OF: ["orden de", "una orden de", "porción de", "una porción de"],
    Tag.MAKE: ["hazlo", "hazla", "que sea", "que sean", "mejor", "cámbialo a", "cambialo a"],
    Tag.STOP: ["es todo", "eso es todo", "nada más", "nada mas", "gracias"],
    Tag.FILLER: ["me das", "me da", "me puede dar", "me pones", "quiero", "quisiera", "para llevar"],
}

_ZH: dict[Tag, list[str]] = {
    Tag.NEG: ["不要", "不加", "别加", "别放", "不放", "去掉", "去", "免", "无", "没有", "不用"],
    Tag.EXTRA: ["多加", "加多", "多放", "多", "双份", "加倍", "额外", "多一点", "多点", "加量"],
    Tag.LIGHT: ["少放", "少加", "少", "少一点", "少点", "一点点", "少许", "微"],
    Tag.WITH: ["加", "要", "配", "带", "放", "加上", "再加", "还要"],
    Tag.AND: ["和", "跟", "还有", "再", "以及", "与", "、", "然后"],
    Tag.OR: ["或", "或者"],
    Tag.SWAP: ["把"],
    Tag.INSTEAD: ["代替", "替换"],
    Tag.CHANGE_TO: ["换成", "改成", "换", "改", "换为"],
    Tag.SIDE: ["另外放", "分开放", "单独放", "放旁边"],
    Tag.MAKE: ["要成"],
    Tag.STOP: ["就这些", "就这样", "谢谢", "没了"],
}


def _table(*sources: dict[Tag, list[str]]) -> dict[tuple[str, ...], Tag]:
    out: dict[tuple[str, ...], Tag] = {}
    for source in sources:
        for tag, phrases in source.items():
            for phrase in phrases:
                key = tuple(tokenize(phrase))
                if key and key not in out:
                    out[key] = tag
    return out


# One table for all languages: callers switch languages mid-order ("a burrito sin cebolla").
# The speaker's language decides clashes: Spanish "a" is not the article, "con" is "with".
PHRASES: dict[str, dict[tuple[str, ...], Tag]] = {
    "en": _table(_EN, _ZH, _ES),
    "es": _table(_ES, _ZH, _EN),
    "zh": _table(_ZH, _EN, _ES),
}
MAX_PHRASE = max(len(k) for t in PHRASES.values() for k in t)

# Verbs of adding: after a negation they keep it ("do not add any ham", "without adding onions").
ADDING = frozenset({"add", "adding", "put", "include", "including", "and add", "and put", "agrega", "agregue",
                    "anade", "ponle", "pongale", "加", "放"})
# Words that, after a number, make it part of a description, not a quantity ("a two topping pizza").
NOT_A_QUANTITY_BEFORE = frozenset({"topping", "toppings", "item", "items", "ingredient", "ingredients", "piece",
                                   "pieces", "inch", "inches", "ounce", "ounces", "oz", "liter", "liters",
                                   "litre", "litres", "percent", "minutes", "minute", "people", "person",
                                   "o'clock", "pm", "am"})

# Words that carry no order content: never fuzzy-matched against the menu.
COMMON_WORDS = frozenset(
    """
    a about actually after again all also am an and another any anything are around as at be because been being
    both but buy by can can't cannot could did do does doing don't done each else even every everything for from
    get gets getting give go going gonna good got great had has have having he hello her here hey hi him his how
    i i'd i'll i'm i've id if ill im in into is it it's its just keep kind know let let's like looking love make
    may maybe me mine more most much must my need needs next nice no not now of off oh ok okay on once one only or
    order ordered ordering orders other our out over place please plus pick pickup put quick rather really right
    same say see she should so some something sounds start still such sure take than thank thanks that that's
    the their them then there these they thing think this those though through to today tonight too try trying
    two up us very wait want wanted wanna was way we we'd we'll we're well were what whatever when where which
    while who whole why will wish with without would would've wouldn't yeah yes yet you you're your yours
    could've delivery deliver anyway also along alright hmm um uh ah er like thats whats id ive youre dont
    cant wont its lets hows food meal meals dinner lunch breakfast tonight tomorrow now later soon time minutes
    hour guess favor appreciate definitely absolutely beautiful lovely perfect awesome cool wonderful evening
    morning afternoon folks guys sir maam ma'am buddy friend all set sure toppings topping top topped style
    size sized kind type types flavor piece pieces slice slices portion portions side sides
    quiero quisiera por favor gracias para de del la el los las un una unos unas me dame deme con sin y o que
    es al lo le se mi tu su muy bien hola buenas buenos dias tardes noches pedir pedido llevar recoger
    """.split()
)
