"""Fold chat text and filter words into one comparable form.

Messages and word-list entries go through this same function, so an evasion
trick is undone in one place and a list entry can never be written in a form
that the text side cannot reach (research 3.3; the houbb/sensitive-word
"下三滥" bug came from folding only one side).

Per character, in this order:

1. NFKD: full-width → half-width (ＶＸ → VX), circled and parenthesised numbers
   (① → 1, ㈤ → (五)), mathematical letters (𝐟 → f), compatibility ideographs.
2. Invisible noise is dropped: combining marks (accents, strike-through
   overlays, variation selectors), format characters (U+200B..U+200D, U+2060,
   U+FEFF, soft hyphen) and the Hangul filler letters that render blank.
3. Case folding, then traditional → simplified Chinese one character at a
   time (賭 → 赌), then financial numerals to plain ones (壹 → 一).
4. Latin look-alikes from Unicode TR39 confusables: Cyrillic/Greek letters
   that look Latin (а → a, ο → o), × → x, and l → i, which makes 1, l and i
   one class.
5. Letters and digits are kept; everything else (spaces, punctuation, emoji,
   symbols) is a separator and removed.

Leetspeak digits and symbols are read as letters only inside a Latin word
(0→o 1→i 3→e 4→a 5→s 7→t 8→b @→a $→s): "a55" is a word, "455" is a price and
"3号链接" keeps its 3. An @ or $ glued to a Chinese character is a separator
there (加@V@信 → 加v信).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence

import opencc

_SEPARATOR = " "
_LEET_SYMBOLS = "@$"
_MARK_CATEGORIES = frozenset({"Mn", "Me"})
_INVISIBLE_CATEGORIES = _MARK_CATEGORIES | {"Cf"}
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers: letters that render as nothing
_FINANCIAL_NUMERALS = dict(zip("壹贰叁肆伍陆柒捌玖拾佰仟", "一二三四五六七八九十百千", strict=True))
# Lower-case look-alikes after case folding (Unicode confusables.txt, the clear-cut ones only).
_LOOKALIKES = dict(zip("аеорсхуіјѕԁһԛԝοιρνκ×l", "aeopcxyijsdhqwoipvkxi", strict=True))
_LEET = str.maketrans("0134578@$", "oieastbas")
_LATIN_WORD = re.compile(r"[a-z0-9@$]+")
_NEEDS_READING = re.compile(r"[0-9@$]")
# Traditional characters live in these blocks (CJK, extension A, compatibility, extension B).
_CJK_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))


def normalise(text: str) -> str:
    """The folded form of ``text``: what the matcher sees."""
    if _learn(text):
        return _read_latin_words(text.translate(_TABLE))
    return _read_latin_words("".join(_fold(char) for char in text))


def normalise_with_index(text: str) -> tuple[str, list[int]]:
    """The folded form and, for each of its characters, the position in ``text`` it came from.

    Slower than ``normalise``; the filter calls it only for a message that matched,
    to find the original span to mask.
    """
    chars, origin = _fold_with_origin(text)
    for position, reading in _readings("".join(chars)):
        chars[position] = reading
    kept = [position for position, char in enumerate(chars) if char and char != _SEPARATOR]
    return "".join([chars[position] for position in kept]), [origin[position] for position in kept]


def is_invisible(char: str) -> bool:
    """True for a character that folds to nothing: it cannot separate two letters."""
    return _fold(char) == ""


def is_mark(char: str) -> bool:
    """True for a combining mark, which draws on the character before it."""
    return unicodedata.category(char) in _MARK_CATEGORIES


def is_latin_letter(char: str) -> bool:
    """True for a letter that belongs to an English word (a, Ｓ, é), not for digits or CJK."""
    base = unicodedata.normalize("NFKD", char)[:1]
    return base.isascii() and base.isalpha()


def fold_char(char: str) -> str:
    """One character's folded text: "" if invisible, spaces for separators, else letters and digits."""
    decomposed = unicodedata.normalize("NFKD", char).casefold()
    return "".join(_fold_letter(part) for part in decomposed if not _invisible(part))


# Folded text per character, filled as characters are first seen; ``_TABLE`` is the
# same keyed by code point for ``str.translate``. Capped so that a flood of
# distinct code points cannot grow memory without end (chat uses a few thousand).
_FOLDED: dict[str, str] = {}
_TABLE: dict[int, str] = {}
_TABLE_CAP = 1 << 16
_UNEVEN: set[str] = set()  # characters that fold to other than exactly one character


def _learn(text: str) -> bool:
    """Fold the characters of ``text`` not seen before; False if the table is full and some are missing."""
    unseen = set(text).difference(_FOLDED)
    if len(_FOLDED) + len(unseen) > _TABLE_CAP:
        return not unseen
    for char in unseen:
        folded = fold_char(char)
        if len(folded) != 1:
            _UNEVEN.add(char)  # before the tables, so no reader sees it folded yet not marked
        _TABLE[ord(char)] = _FOLDED[char] = folded
    return True


def _fold_with_origin(text: str) -> tuple[list[str], Sequence[int]]:
    """Each folded character and the position in ``text`` it came from."""
    if _learn(text) and _UNEVEN.isdisjoint(text):
        return list(text.translate(_TABLE)), range(len(text))  # one character each: positions line up
    chars: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        folded = _fold(char)
        chars.extend(folded)
        origin.extend([position] * len(folded))
    return chars, origin


def _fold(char: str) -> str:
    folded = _FOLDED.get(char)
    return fold_char(char) if folded is None else folded


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _BLANK_LETTERS


def _fold_letter(char: str) -> str:
    char = _simplified().get(char, char)
    char = _FINANCIAL_NUMERALS.get(char, char)
    char = _LOOKALIKES.get(char, char)
    if char.isdecimal():
        return str(unicodedata.decimal(char))  # any script's digit is that ASCII digit
    if char in _LEET_SYMBOLS or unicodedata.category(char)[0] in "LN":
        return char
    return _SEPARATOR


@functools.cache
def _simplified() -> dict[str, str]:
    """Traditional → simplified, per character.

    OpenCC's phrase rules could change a text's length and so break the index
    map; character by character (its t2s character table, phrases kept apart by
    newlines) keeps folding one-to-one, and both sides fold alike, so a
    one-to-many character such as 乾 → 干 costs no match. Built once, ~70 ms.
    """
    chars = [chr(code) for first, last in _CJK_BLOCKS for code in range(first, last + 1)]
    converted: str = opencc.OpenCC("t2s").convert("\n".join(chars))
    pairs = zip(chars, converted.split("\n"), strict=True)
    return {
        traditional: simple for traditional, simple in pairs if traditional != simple and len(simple) == 1
    }


def _read_latin_words(folded: str) -> str:
    readings = list(_readings(folded)) if _NEEDS_READING.search(folded) else []
    if not readings:
        return folded.replace(_SEPARATOR, "")
    chars = list(folded)
    for position, reading in readings:
        chars[position] = reading
    return "".join(chars).replace(_SEPARATOR, "")


def _readings(folded: str) -> Iterator[tuple[int, str]]:
    """(position, new text) for each digit or symbol whose reading depends on its word."""
    for word in _LATIN_WORD.finditer(folded):
        if word.group().isalpha() or word.group().isdigit():
            continue  # plain words and plain numbers read as they are
        start, end = word.span()
        read = _read_word(
            word.group(), glued_before=_glued(folded, start - 1), glued_after=_glued(folded, end)
        )
        for offset, (old, new) in enumerate(zip(word.group(), read, strict=True)):
            if old != new:
                yield start + offset, new


def _glued(folded: str, position: int) -> bool:
    """True if a non-Latin letter or digit (a Chinese character, say) touches the word here."""
    return 0 <= position < len(folded) and folded[position] != _SEPARATOR


def _read_word(word: str, *, glued_before: bool, glued_after: bool) -> list[str]:
    if not any(char.isalpha() for char in word):  # a number: digits stay, stray symbols go
        return ["" if char in _LEET_SYMBOLS else char for char in word]
    read = list(word.translate(_LEET))
    _drop_edge_symbols(word, read, range(len(word)), glued=glued_before)
    _drop_edge_symbols(word, read, range(len(word) - 1, -1, -1), glued=glued_after)
    return read


def _drop_edge_symbols(word: str, read: list[str], positions: range, *, glued: bool) -> None:
    """Symbols between a Latin word and a Chinese character separate them (加@V@信)."""
    if not glued:
        return
    for position in positions:
        if word[position] not in _LEET_SYMBOLS:
            return
        read[position] = ""
