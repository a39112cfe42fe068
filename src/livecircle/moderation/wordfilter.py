"""Sensitive-word filter: operator word lists matched against chat in one pass.

A ``WordFilter`` is built whole from ``WordEntry`` values and never changes
afterwards; a server reloads a list by building a new filter and swapping it
into a ``FilterHolder``, so a message is always checked against one
consistent list and no lock is needed on the hot path.

Text and words are folded by ``normalise`` and matched with Aho-Corasick
(``ahocorasick_rs``), every occurrence of every word in one scan. Chinese has
no spaces, so a Chinese word matches anywhere; a Latin edge of a word must
also be the edge of a word in the text, so "ass" hits "a s s" and "@ss" but
not "class" or "Scunthorpe" (a ``*`` at that end of the entry lifts this:
"fuck*" also hits "fucking").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ahocorasick_rs import AhoCorasick

from livecircle.moderation.normalise import (
    is_invisible,
    is_latin_letter,
    is_mark,
    normalise,
    normalise_with_index,
)

DEFAULT_WORD_LIST = Path(__file__).with_name("data") / "default_words.txt"
MIN_WORD_LENGTH = 2  # one folded character (赌, 草) would hit ordinary chat everywhere
CONTACT_DIGITS = 5  # vx13812345678 is a contact; VX2758 (a monitor) is a model number
WILDCARD = "*"
MASK_CHAR = "*"
_FIELD_SEPARATOR = re.compile(r"\t|\|")


class Action(StrEnum):
    """What a hit does to its message, weakest first.

    ``allow`` marks allow-list phrases: a hit lying inside an allowed phrase
    (刷单 inside 电动牙刷单买) is dropped.
    """

    ALLOW = "allow"
    MASK = "mask"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {action: rank for rank, action in enumerate(Action)}


@dataclass(frozen=True, slots=True)
class WordEntry:
    """One list entry; refuses words that fold to fewer than ``MIN_WORD_LENGTH`` characters.

    Raises ValueError for an unknown action, a too-short word or an empty category.
    """

    word: str
    action: Action
    category: str
    key: str = field(init=False, repr=False, compare=False)  # the folded word the matcher looks for

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", parse_action(self.action))
        object.__setattr__(self, "key", normalise(self.word.strip(WILDCARD)))
        if len(self.key) < MIN_WORD_LENGTH:
            raise ValueError(
                f"{self.word!r} folds to {self.key!r}; a word needs at least {MIN_WORD_LENGTH} "
                "letters or characters after folding, or it would hit ordinary chat"
            )
        if not self.category.strip():
            raise ValueError(f"{self.word!r} has no category")


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a list word; ``start:end`` is its span in the original text."""

    word: str
    action: Action
    category: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """The filter's answer for one message.

    ``action`` is the strongest among the hits (block > review > mask > allow).
    ``text`` is the message with each hit's original span (separators and
    invisible characters inside it included) replaced by one ``*`` per character.
    """

    action: Action
    hits: tuple[Hit, ...]
    text: str

    @property
    def words(self) -> tuple[str, ...]:
        """The distinct list words hit, for logs and the review queue."""
        return tuple(dict.fromkeys(hit.word for hit in self.hits))


def parse_action(name: str) -> Action:
    """Raises ValueError listing the valid actions."""
    try:
        return Action(name.strip().lower())
    except ValueError:
        valid = ", ".join(action.value for action in reversed(Action))
        raise ValueError(f"unknown action {name!r} (expected one of {valid})") from None


def build_entries(rows: Iterable[tuple[str, str, str]]) -> list[WordEntry]:
    """Entries from (word, action, category) rows as an operator typed them.

    Raises ValueError naming the first bad row (counted from 1).
    """
    entries: list[WordEntry] = []
    for number, (word, action, category) in enumerate(rows, start=1):
        try:
            entries.append(_entry(word, action, category))
        except ValueError as error:
            raise ValueError(f"entry {number}: {error}") from error
    return entries


def parse_word_list(lines: Iterable[str], *, source: str = "word list") -> list[WordEntry]:
    """Entries from ``word<TAB or |>action<TAB or |>category`` lines; blank and ``#`` lines skipped.

    Raises ValueError with ``source`` and the line number.
    """
    entries: list[WordEntry] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            entries.append(_entry(*_split_line(stripped)))
        except ValueError as error:
            raise ValueError(f"{source}, line {number}: {error}") from error
    return entries


def load_word_list(path: str | os.PathLike[str]) -> list[WordEntry]:
    """Read a UTF-8 word list file (a leading BOM is fine). Raises ValueError, OSError."""
    with Path(path).open(encoding="utf-8-sig") as lines:
        return parse_word_list(lines, source=str(path))


def _entry(word: str, action: str, category: str) -> WordEntry:
    return WordEntry(word.strip(), parse_action(action), category.strip())


def _split_line(line: str) -> tuple[str, str, str]:
    fields = [part.strip() for part in _FIELD_SEPARATOR.split(line)]
    if len(fields) != 3 or not all(fields):
        raise ValueError(f"expected word<TAB or |>action<TAB or |>category, got {line!r}")
    return fields[0], fields[1], fields[2]


@dataclass(frozen=True, slots=True)
class _Pattern:
    entry: WordEntry
    bounded_start: bool  # the match may not continue a Latin word on its left
    bounded_end: bool


def _pattern(entry: WordEntry) -> _Pattern:
    return _Pattern(
        entry,
        bounded_start=_is_latin(entry.key[0]) and not entry.word.startswith(WILDCARD),
        bounded_end=_is_latin(entry.key[-1]) and not entry.word.endswith(WILDCARD),
    )


def _is_latin(folded_char: str) -> bool:
    return folded_char.isascii() and folded_char.isalnum()


class WordFilter:
    """An immutable matcher over a word list. Build a new one to change the list."""

    __slots__ = ("_entries", "_matcher", "_patterns")

    def __init__(self, entries: Iterable[WordEntry]) -> None:
        self._entries = tuple(entries)
        by_key = _patterns_by_key(self._entries)
        self._patterns = tuple(tuple(patterns) for patterns in by_key.values())
        self._matcher = AhoCorasick(by_key) if by_key else None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] = DEFAULT_WORD_LIST) -> WordFilter:
        return cls(load_word_list(path))

    @property
    def entries(self) -> tuple[WordEntry, ...]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, text: str) -> Verdict:
        """Every hit in ``text``, the action to take and the masked text."""
        if self._matcher is None:
            return Verdict(Action.ALLOW, (), text)
        matches = self._matcher.find_matches_as_indexes(normalise(text), overlapping=True)
        if not matches:
            return Verdict(Action.ALLOW, (), text)
        return _verdict(text, self._hits(text, matches))

    def _hits(self, text: str, matches: Sequence[tuple[int, int, int]]) -> list[Hit]:
        _, origin = normalise_with_index(text)
        found: list[tuple[WordEntry, int, int]] = []
        allowed: list[tuple[int, int]] = []
        for key_index, start, end in matches:
            for pattern in self._patterns[key_index]:
                if not _at_word_edges(pattern, text, origin, start, end):
                    continue
                if pattern.entry.action is Action.ALLOW:
                    allowed.append((start, end))
                else:
                    found.append((pattern.entry, start, end))
        return [
            _hit(entry, text, origin, start, end)
            for entry, start, end in found
            if not _inside(start, end, allowed)
        ]


def _patterns_by_key(entries: Iterable[WordEntry]) -> dict[str, list[_Pattern]]:
    """Group by folded word; of entries that fold alike (賭博, 赌博) the strongest action wins."""
    strongest: dict[tuple[str, bool, bool], _Pattern] = {}
    for entry in entries:
        pattern = _pattern(entry)
        slot = (entry.key, pattern.bounded_start, pattern.bounded_end)
        kept = strongest.get(slot)
        if kept is None or entry.action.severity > kept.entry.action.severity:
            strongest[slot] = pattern
    by_key: dict[str, list[_Pattern]] = {}
    for (key, _, _), pattern in strongest.items():
        by_key.setdefault(key, []).append(pattern)
    return by_key


def _at_word_edges(pattern: _Pattern, text: str, origin: list[int], start: int, end: int) -> bool:
    if pattern.bounded_start and _continues_left(text, origin, start):
        return False
    return not (pattern.bounded_end and _continues_right(text, origin, end))


def _continues_left(text: str, origin: list[int], start: int) -> bool:
    """True if a Latin word or a digit touches the match on the left (class, 5V信号)."""
    if start > 0 and origin[start - 1] == origin[start]:
        return True  # the match begins inside one character's folding
    before = _visible(text, origin[start] - 1, step=-1)
    return before is not None and (is_latin_letter(text[before]) or text[before].isdigit())


def _continues_right(text: str, origin: list[int], end: int) -> bool:
    """True if a Latin word or a short number touches the match on the right (assess, VX2758)."""
    if end < len(origin) and origin[end] == origin[end - 1]:
        return True
    after = _visible(text, origin[end - 1] + 1, step=1)
    if after is None:
        return False
    if is_latin_letter(text[after]):
        return True
    return text[after].isdigit() and _digits_from(text, after) < CONTACT_DIGITS


def _visible(text: str, position: int, *, step: int) -> int | None:
    """The first position from ``position`` (walking by ``step``) holding a character that shows."""
    while 0 <= position < len(text):
        if not is_invisible(text[position]):
            return position
        position += step
    return None


def _digits_from(text: str, position: int) -> int:
    count = 0
    while position < len(text) and (text[position].isdigit() or is_invisible(text[position])):
        count += text[position].isdigit()
        position += 1
    return count


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(outer_start <= start and end <= outer_end for outer_start, outer_end in spans)


def _hit(entry: WordEntry, text: str, origin: list[int], start: int, end: int) -> Hit:
    stop = origin[end - 1] + 1
    while stop < len(text) and is_mark(text[stop]):
        stop += 1  # a combining mark belongs to the letter before it; masking it too keeps the stars clean
    return Hit(entry.word, entry.action, entry.category, start=origin[start], end=stop)


def _verdict(text: str, hits: list[Hit]) -> Verdict:
    if not hits:
        return Verdict(Action.ALLOW, (), text)
    ordered = tuple(sorted(hits, key=lambda hit: (hit.start, -hit.action.severity, hit.end)))
    strongest = max(hits, key=lambda hit: hit.action.severity).action
    return Verdict(strongest, ordered, mask(text, ((hit.start, hit.end) for hit in hits)))


def mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with every character inside the spans replaced by ``*``."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK_CHAR * (end - start)
    return "".join(chars)


def default_filter() -> WordFilter:
    """A filter over the shipped default list (``data/default_words.txt``)."""
    return WordFilter.from_file(DEFAULT_WORD_LIST)


class FilterHolder:
    """The one mutable spot: the filter in use, replaced whole on reload.

    Rebinding one attribute is atomic, so readers never see a half-built
    filter; code that already took ``current`` finishes with the filter it took.
    """

    __slots__ = ("_current",)

    def __init__(self, initial: WordFilter) -> None:
        self._current = initial

    @property
    def current(self) -> WordFilter:
        return self._current

    def swap(self, new: WordFilter) -> WordFilter:
        """Put ``new`` in use; returns the filter it replaced."""
        previous, self._current = self._current, new
        return previous
