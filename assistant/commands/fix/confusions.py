"""Real-word confusions and known grammar substitutions (pure, no I/O).

* :data:`NON_WORDS`: misspellings with one right answer a dictionary cannot find by edit
  distance ("dont" -> "don't", "alot" -> "a lot", "buyed" -> "bought").
* :func:`decide`: context rules for words that are real words in the wrong place
  ("would of", "their going", "to tired to", "a apple", "he dont", "they was").
* :data:`CONFUSION_SETS`: words often typed for one another, for the scorer to decide in
  context when no rule did.
* :func:`is_known_substitution`: the changes the guard accepts from the model besides
  small edits of non-words.
"""

from __future__ import annotations

import re

_CONTRACTIONS = {
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "couldnt": "couldn't",
    "wouldnt": "wouldn't", "shouldnt": "shouldn't", "isnt": "isn't", "arent": "aren't",
    "wasnt": "wasn't", "werent": "weren't", "havent": "haven't", "hasnt": "hasn't",
    "hadnt": "hadn't", "mustnt": "mustn't", "neednt": "needn't", "wouldve": "would've",
    "couldve": "could've", "shouldve": "should've", "mightve": "might've", "im": "I'm",
    "ive": "I've", "youre": "you're", "youve": "you've", "youll": "you'll", "theyre": "they're",
    "theyve": "they've", "theyll": "they'll", "weve": "we've", "thats": "that's",
    "theres": "there's", "whats": "what's", "heres": "here's", "wheres": "where's",
    "hes": "he's", "shes": "she's", "itll": "it'll", "doesnt've": "doesn't", "dosnt": "doesn't",
    "dosent": "doesn't", "doesent": "doesn't", "didint": "didn't", "wasent": "wasn't",
    "alright": "alright",
}
_SPLITS = {"alot": "a lot", "infront": "in front", "inbetween": "in between",
           "alittle": "a little", "abit": "a bit", "nevermind": "never mind", "aswell": "as well", "infact": "in fact", "ofcourse": "of course",
           "everytime": "every time", "incase": "in case", "atleast": "at least",
           "eachother": "each other", "inspite": "in spite", "thankyou": "thank you"}
IRREGULAR_PAST = {
    "buyed": "bought", "goed": "went", "thinked": "thought", "catched": "caught",
    "teached": "taught", "bringed": "brought", "runned": "ran", "writed": "wrote",
    "eated": "ate", "drinked": "drank", "speaked": "spoke", "knowed": "knew", "growed": "grew",
    "throwed": "threw", "falled": "fell", "feeled": "felt", "keeped": "kept", "sleeped": "slept",
    "meaned": "meant", "sended": "sent", "spended": "spent", "builded": "built",
    "holded": "held", "telled": "told", "selled": "sold", "finded": "found", "standed": "stood",
    "understanded": "understood", "maked": "made", "sayed": "said", "leaved": "left",
    "bited": "bit", "drived": "drove", "rided": "rode", "choosed": "chose", "forgeted": "forgot",
    "breaked": "broke", "stealed": "stole", "flyed": "flew", "weared": "wore", "swimmed": "swam",
    "singed": "sang", "begined": "began", "winned": "won", "losed": "lost", "payed": "paid",
    "hurted": "hurt", "costed": "cost", "putted": "put", "shutted": "shut", "seeked": "sought",
    "fighted": "fought", "feeded": "fed", "meeted": "met", "readed": "read", "hided": "hid",
}
IRREGULAR_PLURAL = {"childs": "children", "childrens": "children", "foots": "feet",
                    "tooths": "teeth", "mouses": "mice", "womens": "women", "mens": "men",
                    "peoples": "people", "persons": "people"}
NON_WORDS = {**_CONTRACTIONS, **_SPLITS, **IRREGULAR_PAST,
             **{k: v for k, v in IRREGULAR_PLURAL.items() if k in ("childs", "foots", "tooths")}}
NON_WORDS.pop("alright")
NON_WORDS.pop("doesnt've")
NON_WORDS["wont"] = "won't"
# in the dictionary as words (cant: jargon; wont: habit), but typed for the contraction
TYPED_FOR_CONTRACTION = {"cant", "wont"}
BE_FORMS = {"is", "was", "are", "were", "be", "been", "being", "am", "seems", "seemed", "feel",
            "feels", "felt", "looks", "looked", "got", "get", "gets", "became", "sounds", "far",
            "it's", "i'm", "you're", "they're", "we're", "he's", "she's", "that's", "not"}

# participles after has/have/had
PARTICIPLE = {"went": "gone", "did": "done", "saw": "seen", "wrote": "written", "took": "taken",
              "gave": "given", "ate": "eaten", "began": "begun", "drank": "drunk", "swam": "swum",
              "sang": "sung", "knew": "known", "drove": "driven", "chose": "chosen",
              "forgot": "forgotten", "spoke": "spoken", "broke": "broken", "stole": "stolen",
              "fell": "fallen", "flew": "flown", "grew": "grown", "threw": "thrown",
              "rode": "ridden", "came": "come", "ran": "run", "wore": "worn", "hid": "hidden"}

CONFUSION_SETS = [
    {"their", "there", "they're"}, {"your", "you're"}, {"its", "it's"}, {"to", "too"},
    {"then", "than"}, {"by", "buy"}, {"lose", "loose"}, {"whose", "who's"},
    {"affect", "effect"}, {"accept", "except"}, {"weather", "whether"}, {"were", "where"},
    {"hear", "here"}, {"piece", "peace"}, {"principal", "principle"}, {"quite", "quiet"},
    {"advice", "advise"}, {"brake", "break"}, {"passed", "past"}, {"desert", "dessert"},
    {"complement", "compliment"}, {"stationary", "stationery"}, {"heard", "herd"},
    {"discus", "discuss"}, {"thorough", "through"}, {"breath", "breathe"}, {"week", "weak"},
]
# decided by the rules only (too common to score every occurrence), but known to the guard
RULE_ONLY_SETS = [{"to", "too"}, {"by", "buy"}, {"do", "due"}, {"of", "have"}, {"lead", "led"},
                  {"loss", "lost"}, {"were", "where"}]
CONFUSION_SETS = [s for s in CONFUSION_SETS if s not in RULE_ONLY_SETS]
_SET_OF = {w: s for s in CONFUSION_SETS for w in s}

_MODALS = {"would", "could", "should", "must", "might", "may", "will", "can", "shall",
           "wouldn't", "couldn't", "shouldn't", "mustn't"}
_DETERMINERS = {"a", "an", "the", "my", "your", "his", "her", "our", "their", "its", "this",
                "that", "these", "those", "some", "any", "every", "each", "no", "all", "me",
                "him", "them", "us", "it", "one", "two", "another", "new", "more"}
_COMPARATIVES = {"more", "less", "better", "worse", "faster", "slower", "rather", "other",
                 "larger", "smaller", "bigger", "greater", "higher", "lower", "older", "younger",
                 "longer", "shorter", "cheaper", "easier", "harder", "fewer", "sooner",
                 "earlier", "further", "farther", "stronger", "weaker", "warmer", "colder",
                 "hotter", "heavier", "lighter", "richer", "poorer", "happier", "quicker",
                 "safer", "nicer", "wider", "deeper", "louder", "quieter", "busier", "simpler"}
_TOO_ADJ = {"tired", "late", "early", "big", "small", "hot", "cold", "long", "short", "fast",
            "slow", "expensive", "busy", "hard", "difficult", "easy", "young", "old", "far",
            "close", "loud", "high", "low", "heavy", "full", "soon", "often", "bad", "good",
            "tight", "loose", "dark", "bright", "quiet", "noisy", "sick", "shy", "weak",
            "strong", "complicated", "risky", "dangerous", "large", "little", "few", "hungry",
            "sleepy", "lazy", "scared", "afraid", "nervous", "happy", "sad", "angry", "upset",
            "excited", "cheap", "thin", "thick", "wide", "narrow", "deep", "steep", "bored"}
_ING_NOT_VERB = {"thing", "king", "ring", "sing", "wing", "spring", "string", "morning",
                 "evening", "ceiling", "building", "wedding", "meeting", "painting", "feeling",
                 "being", "pudding", "clothing", "housing", "funding", "training", "sibling",
                 "something", "nothing", "anything", "everything", "during", "bring", "sting"}
_YOURE_NEXT = {"welcome", "right", "wrong", "going", "not", "a", "an", "the", "so", "very",
               "too", "really", "being", "sure", "always", "never", "still", "just",
               "probably", "late", "early", "kidding", "joking", "done", "ready", "amazing",
               "awesome", "invited", "fired", "hired", "lucky", "correct", "absolutely"}
_ITS_NEXT = {"a", "an", "the", "been", "going", "not", "time", "ok", "okay", "important", "hard",
             "easy", "too", "so", "very", "really", "just", "all", "about", "never", "always",
             "only", "still", "true", "likely", "also", "quite", "clear", "possible", "nice",
             "fine", "late", "early", "cold", "hot", "good", "bad", "great", "what", "over",
             "done", "getting", "my", "your", "raining", "snowing", "sunny", "fun", "worth",
             "funny", "weird", "strange", "amazing", "obvious", "unclear", "ready", "gone"}
_PREP_BEFORE_POSSESSIVE = {"for", "of", "with", "to", "in", "on", "at", "from", "about", "by",
                           "into", "onto", "under", "over", "without", "through", "like",
                           "than", "after", "before", "during"}
_THERE_AFTER = {"was", "were", "is", "are", "be", "been", "over", "out", "in", "up", "get",
                "got", "go", "went", "from", "sit", "stay", "live", "lived", "stayed", "going",
                "here", "and", "back", "down", "put", "leave", "left", "stop", "stopped", "being"}
_LOC_AFTER_THERE = {"on", "in", "at", "for", "by", "with", "and", "yet", "now", "today",
                    "tomorrow", "already", "early", "late", "soon", "too", "either", "again"}
_DUE_BEFORE = {"delayed", "cancelled", "canceled", "closed", "postponed", "late", "is", "was",
               "were", "are", "be", "been", "mainly", "partly", "largely", "probably", "mostly",
               "partially", "possibly", "likely", "failed", "suspended", "stopped", "halted"}
_LOSE_NEXT = {"my", "your", "his", "her", "our", "their", "the", "a", "it", "weight", "money",
              "time", "track", "interest", "sleep", "hope", "them", "this", "that",
              "everything", "control", "touch", "sight", "faith", "patience", "focus", "power"}
_LOOSE_BEFORE = {"is", "was", "are", "were", "too", "very", "came", "come", "got", "break",
                 "set", "let", "hang", "cut", "turned", "slightly", "bit", "so", "became"}
_AN_EXCEPTIONS = re.compile(r"^(?:uni|use|usu|uti|ure|uro|eu|ewe|one|once|ufo|uk\b|us\b|u\b)")
_SILENT_H = re.compile(r"^(?:hour|honest|honou?r|heir|herb)")
_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
             "tomorrow", "tonight", "noon", "midnight", "then", "now", "far", "the", "next",
             "end", "january", "february", "march", "april", "june", "july", "august",
             "september", "october", "november", "december", "today", "friday's"}
_BUY_BEFORE = {"to", "will", "can", "could", "should", "would", "must", "might", "may", "did",
               "didn't", "don't", "doesn't", "let's", "please", "cannot", "can't", "won't"}
_THIRD_SINGULAR = {"he", "she", "it"}
_PLURAL_PRONOUNS = {"we", "they", "you"}
_PLURAL_NOUNS = {"children", "people", "men", "women", "police", "feet", "teeth", "mice"}
_DUP_OK = {"that", "had", "is", "do", "very", "bye", "no", "yes", "ha", "so", "really", "knock",
           "hey", "go", "well", "many", "far", "again", "more", "blah"}
_LETS_NEXT = {"go", "try", "see", "do", "make", "get", "start", "talk", "meet", "have", "be",
              "hope", "say", "keep", "take", "move", "find", "look", "eat", "call", "wait",
              "discuss", "not", "just", "all", "begin", "play", "put", "think", "celebrate"}


_PLURAL_DETERMINERS = {"the", "these", "those", "my", "your", "our", "their", "his", "her",
                       "some", "many", "all", "both", "two", "three", "four", "several", "few"}


def _regular_plural(word: str) -> bool:
    """"kids", "boxes", "cities" (not "bus", "glass", "analysis", "news")."""
    return (len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous", "'s"))
            and word not in {"news", "series", "species", "physics", "maths", "politics", "this", "its", "his", "hers", "yes", "always", "perhaps", "was", "has", "does", "whereas"})


def _is_ing_verb(word: str) -> bool:
    return word.endswith("ing") and len(word) > 4 and word not in _ING_NOT_VERB


def decide(lw: list[str], gaps: list[str]) -> dict[int, str]:
    """Context rules: index -> replacement (lower case; "" deletes the word).

    ``lw`` are the lower-cased words, ``gaps[i]`` the text between word i and word i+1
    (a rule never reaches across a sentence end)."""
    out: dict[int, str] = {}
    n = len(lw)

    def joined(i: int) -> bool:  # words i and i+1 are in the same clause (only spaces between)
        return i + 1 < n and gaps[i].strip() == ""

    def nxt(i: int) -> str:
        return lw[i + 1] if joined(i) else ""

    def prv(i: int) -> str:
        return lw[i - 1] if i > 0 and joined(i - 1) else ""

    def end_after(i: int) -> bool:  # nothing (or punctuation) follows word i
        return i + 1 >= n or gaps[i].strip() != ""

    for i, w in enumerate(lw):
        p, q = prv(i), nxt(i)
        q2 = lw[i + 2] if q and joined(i + 1) else ""
        if w == "of" and p in _MODALS | {"would've"}:
            out[i] = "have"
        elif w in ("their", "there") and q in ("is", "are", "was", "were", "isn't", "aren't", "wasn't", "weren't") and w == "their":
            out[i] = "there"
        elif w in ("their", "there") and (q == "not" or (_is_ing_verb(q) and q != "being")) and w != "there" or (
                w == "there" and _is_ing_verb(q) and q not in ("being",) and p not in ("is", "was", "are", "were")):
            out[i] = "they're"
        elif w == "their" and p in _THERE_AFTER and (end_after(i) or q in _LOC_AFTER_THERE):
            out[i] = "there"
        elif w == "they're" and (end_after(i) and p in _THERE_AFTER):
            out[i] = "there"
        elif w == "your" and q in _YOURE_NEXT and not (q == "a" or q == "an" or q == "the") :
            out[i] = "you're"
        elif w == "you're" and p in _PREP_BEFORE_POSSESSIVE | {"thanks", "thank"} and q and q not in _YOURE_NEXT:
            out[i] = "your"
        elif w == "its" and (q in _ITS_NEXT or (_is_ing_verb(q) and p == "")) and p not in _PREP_BEFORE_POSSESSIVE:
            out[i] = "it's"
        elif w == "it's" and q and q not in _ITS_NEXT and not _is_ing_verb(q) and (
                p in _PREP_BEFORE_POSSESSIVE or (p.endswith("ed") and len(p) > 3)):
            out[i] = "its"
        elif w == "then" and (p in _COMPARATIVES or (i >= 2 and lw[i - 2] in ("more", "less", "rather") and joined(i - 2))):
            out[i] = "than"
        elif w == "than" and (p in ("and", "since", "until", "till", "just", "back", "by", "only")
                              or (i > 0 and gaps[i - 1].strip() == "," and p == "")):
            out[i] = "then"
        elif w == "to" and (q in ("many", "much") and (end_after(i + 1) or q2 in ("to", "for", "people", "time", "things", "work", "of"))):
            out[i] = "too"
        elif w == "to" and q in _TOO_ADJ and (end_after(i + 1) or q2 in ("to", "for", "and", "but")):
            out[i] = "too"
        elif w == "to" and end_after(i) and i > 0 and lw[i - 1] in ("me", "you", "him", "her", "us", "them", "i", "it", "that", "this") and joined(i - 1):
            out[i] = "too"
        elif w == "too" and q in _DETERMINERS - {"more", "new", "much", "many", "one", "two"}:
            out[i] = "to"
        elif w == "by" and p in _BUY_BEFORE and q and q not in _WEEKDAYS and q not in ("then", "now", "way", "myself", "yourself", "himself", "herself", "itself", "ourselves", "themselves", "hand", "heart", "far", "car", "bus", "train", "email", "phone"):
            out[i] = "buy"
        elif w == "buy" and (q in _WEEKDAYS or (q == "the" and q2 in ("way", "end", "time"))):
            out[i] = "by"
        elif w == "do" and q == "to" and p in _DUE_BEFORE:
            out[i] = "due"
        elif w == "loose" and q in _LOSE_NEXT and p not in ("a", "the", "too", "very", "is", "was", "are", "were"):
            out[i] = "lose"
        elif w == "lose" and p in _LOOSE_BEFORE and (end_after(i) or q in ("and", "but", "or", "again")):
            out[i] = "loose"
        elif w == "where" and p in ("we", "they", "you") :
            out[i] = "were"
        elif w == "were" and p == "" and q in ("is", "are", "do", "does", "did", "can", "should", "will", "have", "was") and i > 0:
            out[i] = "where"
        elif w == "herd" and p in ("i", "we", "you", "they", "he", "she", "have", "has", "had", "never", "just"):
            out[i] = "heard"
        elif w == "lets" and (i == 0 or gaps[i - 1].strip() or p in ("so", "then", "ok", "okay", "and", "now", "but")) and q in _LETS_NEXT:
            out[i] = "let's"
        elif w == "a" and q and q[0] in "aeiou" and not _AN_EXCEPTIONS.match(q) or (w == "a" and _SILENT_H.match(q)):
            out[i] = "an"
        elif w == "an" and q and q[0].isalpha() and (q[0] not in "aeiou" or _AN_EXCEPTIONS.match(q)) and not _SILENT_H.match(q) and len(q) > 1:
            out[i] = "a"
        elif w == "was" and p in _PLURAL_PRONOUNS | _PLURAL_NOUNS:
            out[i] = "were"
        elif w == "was" and _regular_plural(p) and i >= 2 and joined(i - 2) and lw[i - 2] in _PLURAL_DETERMINERS:
            out[i] = "were"
        elif w == "wasn't" and p in _PLURAL_PRONOUNS | _PLURAL_NOUNS:
            out[i] = "weren't"
        elif w == "is" and p in _PLURAL_PRONOUNS | _PLURAL_NOUNS - {"you"}:
            out[i] = "are"
        elif w == "have" and p in _THIRD_SINGULAR:
            out[i] = "has"
        elif w == "haven't" and p in _THIRD_SINGULAR:
            out[i] = "hasn't"
        elif w in ("don't", "dont") and p in _THIRD_SINGULAR:
            out[i] = "doesn't"
        elif w in ("doesn't", "doesnt") and p in ("i", "you", "we", "they"):
            out[i] = "don't"
        elif w == "has" and p in ("i", "you", "we", "they"):
            out[i] = "have"
        elif w == "hasn't" and p in ("i", "you", "we", "they"):
            out[i] = "haven't"
        elif w == "is" and p == "i":
            out[i] = "am"
        elif w in PARTICIPLE and p in ("has", "have", "had", "hasn't", "haven't", "hadn't", "i've", "we've", "you've", "they've"):
            out[i] = PARTICIPLE[w]
        elif i > 0 and w == lw[i - 1] and joined(i - 1) and w not in _DUP_OK:
            out[i] = ""
    return out


def non_word_fix(lower: str) -> str | None:
    """The one right answer for a known non-word, else None."""
    return NON_WORDS.get(lower)


def confusion_set(lower: str) -> set[str] | None:
    return _SET_OF.get(lower)


_KNOWN_PAIRS = set()
for _s in CONFUSION_SETS + RULE_ONLY_SETS:
    _KNOWN_PAIRS |= {(a, b) for a in _s for b in _s if a != b}
_KNOWN_PAIRS |= {("a", "an"), ("an", "a"), ("was", "were"), ("were", "was"), ("is", "are"),
                 ("are", "is"), ("have", "has"), ("has", "have"), ("do", "does"),
                 ("does", "do"), ("don't", "doesn't"), ("doesn't", "don't"), ("is", "am"),
                 ("haven't", "hasn't"), ("hasn't", "haven't"), ("wasn't", "weren't"),
                 ("weren't", "wasn't"), ("lets", "let's"), ("i", "I")}
_KNOWN_PAIRS |= {(k, v) for k, v in NON_WORDS.items()} | set(PARTICIPLE.items())
_KNOWN_PAIRS |= {(k, v) for k, v in IRREGULAR_PLURAL.items()}


def is_inflection(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by a plural or third-person "s" (apple/apples, like/likes,
    city/cities) — agreement, not meaning. Tense and degree (walked, bigger) are not."""
    for x, y in ((a, b), (b, a)):
        for suffix in ("s", "es"):
            if y == x + suffix and len(x) >= 3:
                return True
        if x.endswith("y") and y == x[:-1] + "ies":
            return True
    return False


def is_known_substitution(a: str, b: str) -> bool:
    """May the guard accept replacing word ``a`` by ``b`` (both lower case) in a correction?"""
    a, b = a.lower(), b.lower()
    return a == b or (a, b) in _KNOWN_PAIRS or is_inflection(a, b)
