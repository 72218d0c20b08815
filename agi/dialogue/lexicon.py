"""Phrases that drive the dialogue, per language (en, es, zh).

Menu words never live here (they come from the catalog); these are the words
of the conversation itself: yes, no, "that's all", "let me talk to a person".
Matching is on normalised text (see `normalise`), whole words for en/es and
substrings for zh, which has no spaces.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s:'@#+-]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def normalise(text: str) -> str:
    """Lower case, accents kept for es (they carry meaning), punctuation gone."""
    text = unicodedata.normalize("NFC", text).lower()
    text = text.replace("’", "'").replace("，", " ").replace("。", " ").replace("？", " ").replace("！", " ")
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Accent-insensitive form, for matching what speech recognition spelled."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def stem(word: str) -> str:
    """'baby's' and 'babies' -> 'baby', 'fevers' -> 'fever': enough to compare symptoms."""
    word = word.removesuffix("'s")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


def stems(text: str) -> list[str]:
    """The stems of the words of `text` (normalised and folded)."""
    return [stem(w) for w in fold(normalise(text)).split()]


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def contains(text: str, phrases: tuple[str, ...] | list[str]) -> str | None:
    """The first phrase found in `text` (normalised), or None."""
    folded = fold(text)
    padded = f" {folded} "
    for phrase in phrases:
        p = fold(phrase)
        if has_cjk(p):
            if p in folded:
                return phrase
        elif f" {p} " in padded:
            return phrase
    return None


def guess_language(text: str, allowed: list[str]) -> str | None:
    """Language of a caller's words when speech recognition did not say."""
    if has_cjk(text) and "zh" in allowed:
        return "zh"
    words = set(fold(normalise(text)).split())
    if "es" in allowed and len(words & _SPANISH_MARKERS) >= 1 and len(words & _ENGLISH_MARKERS) == 0:
        return "es"
    return None


_SPANISH_MARKERS = {
    "quiero", "quisiera", "una", "unos", "unas", "por", "favor", "gracias", "para", "recoger", "llevar",
    "hola", "buenas", "necesito", "dame", "deme", "con", "sin", "si", "nombre", "llamo", "pedido",
    "cuanto", "cuesta", "hablar", "persona", "cita", "manana", "tarde", "noche", "domicilio", "quisieramos",
}
_ENGLISH_MARKERS = {"i", "want", "the", "please", "with", "and", "can", "get", "have", "for", "my", "is"}


YES = {
    "en": ("yes", "yeah", "yep", "yup", "sure", "correct", "that's right", "that is right", "right",
           "ok", "okay", "sounds good", "go ahead", "please do", "perfect", "absolutely", "definitely",
           "of course", "confirm", "confirmed", "do it", "place it", "place the order", "that's correct",
           "yes please", "uh huh", "mhm", "affirmative", "all good", "looks good", "great"),
    "es": ("sí", "si", "claro", "correcto", "está bien", "esta bien", "de acuerdo", "vale", "perfecto",
           "exacto", "así es", "asi es", "por supuesto", "confirmo", "adelante", "eso es", "ándale", "dale"),
    "zh": ("是的", "对", "好的", "可以", "没错", "确认", "行", "好", "嗯", "对的", "是"),
}

NO = {
    "en": ("no", "nope", "nah", "not really", "no thanks", "no thank you", "that's wrong", "wrong",
           "incorrect", "not right", "negative", "don't", "cancel that", "wait"),
    "es": ("no", "no gracias", "incorrecto", "está mal", "esta mal", "para nada", "espera"),
    "zh": ("不", "不是", "不对", "不要", "不用", "错了", "没有"),
}

# "No, I said Jen": the caller puts right what the bot just misheard. Only at
# the start of an utterance; group 1 is what they say now (may be empty).
# Over a phone line "no, I said" is itself misheard: "said" loses its hiss
# ("no, I fed", "no, I set"; 110 of some 1,200 spoken corrections in the
# speech benchmark's logs), so after a "no" those count as "said" too.
CORRECTION = {
    "en": re.compile(
        r"^\W*(?:(?:no|nope|nah|sorry|you know|oh no)\W+i (?:fed|set|sed)"
        r"|(?:(?:no|nope|nah|sorry|you know|oh no)\W+)?(?:i said|i meant|i say|that's not what i said|that is not what i said|"
        r"that's not what i meant|you misheard(?: me)?|you got that wrong|that's wrong|that is wrong|that's not right))"
        r"\b\W*(.*)$",
        re.IGNORECASE | re.DOTALL,
    ),
    "es": re.compile(
        r"^\W*(?:no\W+)?(?:dije|quise decir|eso no es lo que dije|no es lo que dije|está mal|esta mal)\b\W*(.*)$",
        re.IGNORECASE | re.DOTALL,
    ),
    "zh": re.compile(r"^\W*(?:不对|不是|错了)?\W*(?:我说的是|我是说)\W*(.*)$|^\W*(?:不对|错了)\W*()$", re.DOTALL),
}


def correction(text: str, language: str) -> str | None:
    """What the caller says instead, when they are correcting a misheard turn
    ("" when they only say it was wrong); None when they are not."""
    for lang in dict.fromkeys((language, "en")):
        m = CORRECTION[lang].match(text.strip())
        if m:
            said = next((g for g in m.groups() if g is not None), "").strip()
            again = correction(said, language) if said else None  # "that's wrong, I said four"
            return said if again is None else again
    return None


DONE = {
    "en": ("that's all", "that is all", "that's it", "that is it", "that'll be all", "that will be all",
           "nothing else", "i'm done", "im done", "i am done", "no more", "that's everything", "all set",
           "i'm good", "im good", "that'll do", "that should do it", "nothing more", "that's about it",
           "no that's it", "that's all thanks", "just that", "that be all"),
    "es": ("eso es todo", "es todo", "nada más", "nada mas", "ya está", "ya esta", "solo eso", "eso sería todo",
           "eso seria todo", "ya es todo"),
    "zh": ("就这些", "就这样", "没了", "没有了", "够了", "就要这些", "不要别的"),
}

TRANSFER = {
    "en": ("person", "human", "somebody", "someone real", "real person", "live person", "operator",
           "representative", "agent", "staff", "employee", "manager", "talk to someone", "speak to someone",
           "speak with someone", "talk to somebody", "speak to a person", "transfer me", "a real human",
           "not a robot", "stop the robot", "customer service", "front desk", "receptionist", "the owner",
           "technician", "a tech"),
    "es": ("persona", "humano", "operador", "operadora", "representante", "agente", "gerente", "encargado",
           "hablar con alguien", "una persona real", "transfiérame", "transfierame", "empleado", "recepción",
           "recepcion"),
    "zh": ("人工", "真人", "转人工", "接线员", "客服", "经理", "找人", "跟人说", "和人说", "前台", "服务员"),
}

# Words that, together with a TRANSFER word, ask for a person; alone, "manager"
# or "person" may be part of an order note, so a request verb must be near.
TRANSFER_VERBS = {
    "en": ("talk", "speak", "connect", "transfer", "put me through", "get me", "give me", "let me", "need",
           "want", "can i", "could i", "may i", "is there", "real", "live", "human", "operator",
           "representative", "agent"),
    "es": ("hablar", "comunicar", "pasar", "páseme", "paseme", "quiero", "necesito", "transf", "comuníqueme",
           "comuniqueme", "con un", "con una", "con el", "con la"),
    "zh": ("人工", "转", "找", "跟", "和", "要", "请", "真人"),
}

REMOVE = {
    "en": ("remove", "take off", "take out", "cancel", "drop", "delete", "scratch", "forget", "get rid of",
           "no more", "don't want", "do not want", "nix", "skip", "not the", "without the", "leave off",
           "minus the", "i don't need", "never mind the"),
    "es": ("quita", "quite", "quitar", "cancela", "cancele", "elimina", "borra", "ya no quiero", "sin el",
           "sin la", "sin los", "sin las", "olvida", "olvide"),
    "zh": ("去掉", "取消", "不要了", "删掉", "拿掉", "别要"),
}

CHANGE = {
    "en": ("change", "switch", "swap", "replace", "make that", "make it", "make the", "instead of",
           "actually", "rather", "turn the", "substitute", "change it to", "can you make"),
    "es": ("cambia", "cambie", "cambiar", "mejor", "en vez de", "en lugar de", "que sea", "que sean",
           "hazlo", "hazla"),
    "zh": ("换成", "改成", "改为", "换", "改"),
}

QUESTION_PRICE = {
    "en": ("how much", "what's the price", "what is the price", "price of", "cost", "costs", "what do i owe",
           "what's the total", "what is the total", "how expensive"),
    "es": ("cuánto", "cuanto", "precio", "cuesta", "cuestan", "vale", "valen", "total"),
    "zh": ("多少钱", "价格", "几块", "多少", "总共"),
}
QUESTION_CONTENTS = {
    "en": ("what comes on", "what comes with", "what comes in", "what's in it", "what is in it", "what does it come with", "what's on", "what is on", "what's in", "what is in",
           "what does the", "what goes on", "ingredients", "what kind of", "what's the", "describe"),
    "es": ("qué lleva", "que lleva", "qué trae", "que trae", "qué tiene", "que tiene", "ingredientes"),
    "zh": ("有什么料", "里面有什么", "什么配料", "包括什么", "有什么"),
}
QUESTION_OPTIONS = {
    "en": ("what sizes", "which sizes", "what size", "sizes do you", "what options", "what kinds",
           "what flavors", "what flavours", "what do you have", "what's on the menu", "what is on the menu",
           "menu", "what toppings", "which toppings", "what drinks", "what services", "what rooms",
           "what else do you have", "do you have", "do you sell", "what types", "options"),
    "es": ("qué tamaños", "que tamaños", "qué tamaño", "tamaños", "qué opciones", "que opciones", "menú",
           "menu", "qué tienen", "que tienen", "tienen", "qué sabores", "que sabores"),
    "zh": ("什么尺寸", "几种尺寸", "多大", "菜单", "有哪些", "有什么", "有没有"),
}
QUESTION_HOURS = {
    "en": ("hours", "when do you open", "when do you close", "what time do you open", "what time do you close",
           "are you open", "open today", "open tomorrow", "opening times", "closing time"),
    "es": ("horario", "a qué hora abren", "a que hora abren", "a qué hora cierran", "a que hora cierran",
           "están abiertos", "estan abiertos"),
    "zh": ("营业时间", "几点开门", "几点关门", "开门吗", "几点关"),
}
QUESTION_DELIVERY_AREA = {
    "en": ("deliver to", "do you deliver", "delivery area", "deliver in", "deliver out", "how far do you deliver",
           "where do you deliver", "do you service", "do you serve", "service area", "come out to", "do you cover",
           "do you go to", "do you come to", "areas do you"),
    "es": ("entregan en", "hacen entregas", "zona de entrega", "llevan a", "reparten"),
    "zh": ("送到", "配送范围", "能送", "送不送"),
}
# "Can I get ...?" is an order said as a question, not a question to answer.
REQUEST = {
    "en": ("can i get", "can i have", "can i order", "can i add", "could i get", "could i have", "could i order",
           "may i have", "may i get", "can we get", "can we have", "could we get", "can you get me",
           "can you add", "could you add", "can i also get", "can i please get", "could i please get",
           "can you do", "could you do", "can you make", "can i book", "could i book", "can you book",
           "can i schedule", "could i schedule", "can i make", "can you hold", "could you hold", "can you set aside",
           "could you set aside", "can you put aside", "could you put aside", "can you gift wrap",
           "could you gift wrap", "can you wrap", "could you wrap", "i'd like", "i would like", "i'll have",
           "i'll take", "i need", "i want"),
    "es": ("me puede dar", "me puedes dar", "me da", "me das", "puedo pedir", "me pone", "me pones", "me prepara",
           "me preparas", "me puede preparar", "me hace", "me haces", "me trae", "me traes", "me manda", "me regala",
           "podría pedir", "podria pedir", "me podría dar", "me podria dar", "puede agregar", "puedes agregar",
           "quiero", "quisiera", "me gustaría", "me gustaria", "necesito", "me aparta", "me puede apartar"),
    "zh": ("可以给我", "能给我", "我可以要", "可以要", "能不能给我", "可以加", "我要", "我想要", "帮我留"),
}
QUESTION_SO_FAR = {
    "en": ("what did i order", "what have i ordered", "what do i have", "read that back", "repeat my order",
           "what's my order", "what is my order", "what's in my order", "so far", "read it back",
           "can you repeat", "what have i got"),
    "es": ("qué pedí", "que pedi", "qué llevo", "que llevo", "repite mi pedido", "repita", "mi pedido"),
    "zh": ("我点了什么", "我点了哪些", "重复一下", "再说一遍", "我的订单"),
}

PICKUP = {
    "en": ("pickup", "pick up", "pick it up", "picking up", "collect", "collection", "carry out", "carryout",
           "take out", "takeout", "to go", "come get", "come by", "grab it", "swing by"),
    "es": ("recoger", "para llevar", "paso a recoger", "lo recojo", "la recojo", "las recojo", "los recojo", "pasar por",
           "recogerlo", "recogerla", "recogerlos", "recogerlas", "paso por", "voy por"),
    "zh": ("自取", "来拿", "外带", "打包", "自己取"),
}
DELIVERY = {
    "en": ("delivery", "deliver", "delivered", "bring it", "send it", "drop it off", "to my house",
           "to my place", "to my office", "to my address"),
    "es": ("entrega", "a domicilio", "domicilio", "envío", "envio", "que me lo traigan", "llevarlo a", "traer"),
    "zh": ("外卖", "送餐", "配送", "送过来", "送到家", "送货"),
}
DINE_IN = {
    "en": ("dine in", "eat in", "eat here", "for here", "table"),
    "es": ("comer aquí", "comer aqui", "para comer aquí", "en el local"),
    "zh": ("堂食", "在店里吃", "店里吃"),
}

ASAP = {
    "en": ("asap", "as soon as possible", "right away", "now", "right now", "soonest", "as soon as you can",
           "whenever it's ready", "whenever ready", "when it's ready"),
    "es": ("lo antes posible", "lo más pronto", "lo mas pronto", "ahora", "ya", "cuanto antes"),
    "zh": ("尽快", "马上", "现在", "越快越好"),
}

CALLER_ID_OK = {
    "en": ("this number", "the number i'm calling from", "number i'm calling from", "same number",
           "this one", "use this", "caller id", "the one i'm calling on"),
    "es": ("este número", "este numero", "el mismo", "del que llamo"),
    "zh": ("这个号码", "这个号", "本机号码", "就这个"),
}

URGENT_DEFAULT = {
    "en": ("emergency", "chest pain", "can't breathe", "cannot breathe", "bleeding", "unconscious", "overdose",
           "suicidal", "stroke", "heart attack", "severe pain", "allergic reaction"),
    "es": ("emergencia", "dolor de pecho", "no puedo respirar", "sangrado", "inconsciente", "urgente"),
    "zh": ("急诊", "紧急", "胸痛", "呼吸困难", "流血", "昏迷"),
}

PROFANITY = (
    "fuck", "fucking", "fucker", "shit", "bitch", "asshole", "bastard", "cunt", "dick", "motherfucker",
    "piss off", "screw you", "idiot bot", "stupid bitch", "puta", "puto", "pendejo", "pendeja", "cabrón",
    "cabron", "chinga", "chingada", "mierda", "joder", "他妈的", "操你", "傻逼", "去死",
)
PRANK = ("haha", "hahaha", "lol", "lmao", "prank", "jk", "just kidding", "ha ha ha", "jajaja", "哈哈哈")

GREETING_ONLY = ("hi", "hello", "hey", "good morning", "good afternoon", "good evening", "hola", "buenas",
                 "buenos días", "buenas tardes", "你好", "喂", "您好")

# Spoken forms, in Spanish and Chinese, of choices Playbooks commonly offer;
# a Playbook adds its own with `synonyms:` on the slot.
CHOICE_WORDS: dict[str, tuple[str, ...]] = {
    "morning": ("mañana", "por la mañana", "en la mañana", "de la mañana", "上午", "早上"),
    "afternoon": ("tarde", "por la tarde", "en la tarde", "下午", "中午"),
    "evening": ("noche", "por la noche", "en la noche", "晚上", "傍晚"),
    "phone": ("teléfono", "telefono", "celular", "móvil", "movil", "cell phone", "cellphone", "iphone",
              "smartphone", "手机", "电话"),
    "tablet": ("tableta", "ipad", "平板", "平板电脑"),
    "laptop": ("portátil", "portatil", "notebook", "macbook", "笔记本", "笔记本电脑"),
    "desktop": ("computadora de escritorio", "ordenador", "pc", "desktop computer", "台式机", "台式电脑"),
    "console": ("consola", "playstation", "ps5", "ps4", "xbox", "switch", "nintendo", "game console", "游戏机"),
    "smartwatch": ("reloj inteligente", "apple watch", "watch", "智能手表", "手表"),
}
