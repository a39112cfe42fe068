"""The sensitive-word filter: folding, matching, masking, list loading and hot swap.

Corpora in tests/data/moderation: ``evasion.txt`` holds ``expected word<TAB>evasive
text`` lines (a few are known misses, kept so the recall figure stays honest);
``clean.txt`` holds ordinary live-commerce and community chat.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from livecircle.moderation.normalise import normalise, normalise_with_index
from livecircle.moderation.wordfilter import (
    DEFAULT_WORD_LIST,
    Action,
    FilterHolder,
    WordEntry,
    WordFilter,
    build_entries,
    default_filter,
    load_word_list,
    parse_word_list,
)

DATA = Path(__file__).parent / "data" / "moderation"
MIN_RECALL = 0.95
INVISIBLES = "\u200b\u200c\u200d\u2060\ufeff\u00ad\ufe0f"


def read_lines(name: str) -> list[str]:
    # split("\n"), not splitlines(): the corpora hold characters splitlines() treats as line breaks
    return [line for line in (DATA / name).read_text(encoding="utf-8").split("\n") if line]


def evasion_cases() -> list[tuple[str, str]]:
    cases = [line.split("\t", 1) for line in read_lines("evasion.txt")]
    return [(expected, text) for expected, text in cases]


@pytest.fixture(scope="module")
def default() -> WordFilter:
    return default_filter()


def entry(word: str, action: Action = Action.BLOCK, category: str = "test") -> WordEntry:
    return WordEntry(word, action, category)


# ---- corpora ----


def test_evasion_corpus_is_recalled(default: WordFilter) -> None:
    cases = evasion_cases()
    listed = {item.word for item in default.entries}
    assert len(cases) >= 200
    assert {expected for expected, _ in cases} <= listed
    missed = [(expected, text) for expected, text in cases if expected not in default.check(text).words]
    recall = 1 - len(missed) / len(cases)
    assert recall >= MIN_RECALL, f"recall {recall:.1%}; missed: {missed}"


def test_evasion_corpus_really_holds_invisible_characters() -> None:
    text = "\n".join(read_lines("evasion.txt"))
    assert [char for char in INVISIBLES if char not in text] == []


def test_clean_corpus_has_no_hits(default: WordFilter) -> None:
    lines = read_lines("clean.txt")
    assert len(lines) >= 500
    flagged = [(line, default.check(line).words) for line in lines if default.check(line).hits]
    assert flagged == []


def test_fast_and_indexed_folding_agree() -> None:
    rng = random.Random(5)
    noise = "加微信赌博 ＶＸ a55 $455 @ 3号 ① 賭 \u200b\u0336 ❤️ l1 İß 😀"
    texts = [*read_lines("clean.txt"), *(text for _, text in evasion_cases())]
    texts += ["".join(rng.choice(noise) for _ in range(40)) for _ in range(300)]
    for text in texts:
        folded, origin = normalise_with_index(text)
        assert folded == normalise(text), text
        assert origin == sorted(origin)
        assert all(0 <= position < len(text) for position in origin)


# ---- folding ----


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("賭博", "赌博"),  # traditional → simplified
        ("ＶＸ", "vx"),  # full-width and case
        ("加\u200b微\u200b信", "加微信"),  # zero-width
        ("加 微.信❤️", "加微信"),  # separators and emoji
        ("ｖ×信", "vx信"),  # × looks like x
        ("壹夜情", "一夜情"),  # financial numerals
        ("①号链接", "1号链接"),  # circled digits
        ("a55", "ass"),  # digits inside a Latin word are leetspeak
        ("455元", "455元"),  # ... but a number stays a number
        ("$455", "455"),
        ("iphone 15", "iphone15"),
        ("3号链接", "3号链接"),
        ("加@V@信", "加v信"),  # @ beside a Chinese character separates
        ("c@sino", "casino"),  # ... and inside a Latin word is a letter
        ("f̶u̶c̶k̶", "fuck"),  # combining overlays
        ("𝐟𝐮𝐜𝐤", "fuck"),
        ("сlass", "ciass"),  # Cyrillic с; l and 1 fold to i
    ],
)
def test_folding(text: str, folded: str) -> None:
    assert normalise(text) == folded


# ---- matching ----


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("賭博網站", "赌博"),
        ("加ＶＸ领券", "vx"),
        ("加\u200b微\u200b信", "加微信"),
        ("ｖ×信：abc123", "vx"),
        ("vx13812345678", "vx"),  # a contact number glued on still ends the word
        ("加V：lucky888", "加v"),
        ("私聊轉賬更便宜", "私聊转账"),
        ("kiss my a$$", "ass"),
        ("fucking slow", "fuck*"),
    ],
)
def test_evasions_are_hit(default: WordFilter, text: str, word: str) -> None:
    assert word in default.check(text).words


@pytest.mark.parametrize(
    "text",
    [
        "iphone 15 还有货吗",
        "3号链接多少钱",
        "my class starts at 8",
        "please assess the damage",
        "I live in Scunthorpe",
        "size 455",
        "$455 for the set",
        "优派VX2758显示器",  # a model number, not a contact
        "5V信号线",  # a spec before the word
        "加vip会员有折扣吗",
        "电动牙刷单买多少钱",  # allow-listed phrase around 刷单
        "能增加微信支付吗",
    ],
)
def test_ordinary_chat_is_not_hit(default: WordFilter, text: str) -> None:
    verdict = default.check(text)
    assert (verdict.action, verdict.hits, verdict.text) == (Action.ALLOW, (), text)


def test_latin_word_matches_whole_words_unless_wildcarded() -> None:
    words = WordFilter([entry("fuck*"), entry("*bad*"), entry("ass")])
    assert words.check("fucking").words == ("fuck*",)
    assert words.check("motherfucker").words == ()
    assert words.check("sinbadly").words == ("*bad*",)
    assert [words.check(text).words for text in ("class", "assess", "a s s", "@ss")] == [
        (),
        (),
        ("ass",),
        ("ass",),
    ]


def test_allow_phrase_cancels_hits_inside_it_only() -> None:
    words = WordFilter([entry("刷单", Action.REVIEW), entry("牙刷单", Action.ALLOW)])
    assert words.check("牙刷单买多少钱").hits == ()
    verdict = words.check("牙刷单买，顺便刷单")
    assert [(hit.word, hit.start, hit.end) for hit in verdict.hits] == [("刷单", 7, 9)]


def test_words_that_fold_alike_keep_the_strongest_action() -> None:
    words = WordFilter([entry("賭博", Action.MASK), entry("赌博", Action.BLOCK)])
    verdict = words.check("赌博")
    assert [(hit.word, hit.action) for hit in verdict.hits] == [("赌博", Action.BLOCK)]


def test_empty_filter_allows_everything() -> None:
    assert WordFilter([]).check("赌博").action == Action.ALLOW


# ---- verdicts and masking ----


def test_mask_replaces_exactly_the_original_span() -> None:
    words = WordFilter([entry("加微信", Action.REVIEW, "drainage")])
    text = "快来加 微.信领券"
    verdict = words.check(text)
    (hit,) = verdict.hits
    assert (hit.word, hit.action, hit.category) == ("加微信", Action.REVIEW, "drainage")
    assert text[hit.start : hit.end] == "加 微.信"
    assert verdict.text == "快来*****领券"


def test_mask_covers_invisible_characters_and_trailing_marks() -> None:
    words = WordFilter([entry("fuck*", Action.MASK), entry("加微信", Action.MASK)])
    assert words.check("f̶u̶c̶k̶ off").text == "******** off"
    assert words.check("加\u200b微\u200b信!").text == "*****!"


def test_verdict_takes_the_strongest_action() -> None:
    words = WordFilter(
        [entry("坏词", Action.MASK), entry("可疑", Action.REVIEW), entry("禁词", Action.BLOCK)]
    )
    cases = {
        "你好": Action.ALLOW,
        "坏词": Action.MASK,
        "坏词可疑": Action.REVIEW,
        "可疑禁词坏词": Action.BLOCK,
    }
    assert {text: words.check(text).action for text in cases} == cases
    verdict = words.check("可疑禁词坏词")
    assert verdict.words == ("可疑", "禁词", "坏词")
    assert verdict.text == "******"


# ---- word lists ----


def test_word_list_format() -> None:
    lines = ["# comment", "", "賭博|block|gambling", "加微信\treview\tdrainage", "  fuck* | MASK | abuse  "]
    assert parse_word_list(lines) == [
        entry("賭博", Action.BLOCK, "gambling"),
        entry("加微信", Action.REVIEW, "drainage"),
        entry("fuck*", Action.MASK, "abuse"),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["# list", "赌博|block|gambling", "加微信|blok|drainage"], r"line 3: unknown action 'blok'"),
        (["赌博|block|gambling", "赌|block|gambling"], r"line 2: '赌' folds to '赌'.*at least 2"),
        (["Ｖ.|mask|drainage"], r"line 1: .*at least 2"),
        (["加微信|review"], r"line 1: expected word<TAB or \|>action"),
        (["加微信|review| "], r"line 1: expected word"),
    ],
)
def test_word_list_errors_name_the_line(lines: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_word_list(lines, source="words.txt")


def test_load_word_list_reads_utf8_with_bom_and_names_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("\ufeff# 运营词表\n博彩\tblock\tgambling\n", encoding="utf-8")
    assert load_word_list(good) == [entry("博彩", Action.BLOCK, "gambling")]
    bad = tmp_path / "bad.txt"
    bad.write_text("博彩|forbid|gambling\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt, line 1: unknown action"):
        load_word_list(bad)


def test_build_entries_names_the_bad_row() -> None:
    assert build_entries([("赌博", "block", "gambling")]) == [entry("赌博", Action.BLOCK, "gambling")]
    with pytest.raises(ValueError, match=r"entry 2: '草' folds"):
        build_entries([("赌博", "block", "gambling"), ("草", "mask", "abuse")])


@pytest.mark.parametrize("word", ["赌", "v", "*a*", "赌❤", "\u200b"])
def test_one_character_words_are_refused(word: str) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        entry(word)


def test_default_list_folds_each_word_once() -> None:
    entries = load_word_list(DEFAULT_WORD_LIST)
    keys = [(item.key, item.word.startswith("*"), item.word.endswith("*")) for item in entries]
    assert len(entries) >= 36
    assert len(keys) == len(set(keys))


# ---- immutability and hot swap ----


def test_entries_and_filters_do_not_change_after_building() -> None:
    source = [entry("赌博")]
    words = WordFilter(source)
    source.append(entry("博彩"))
    assert words.entries == (entry("赌博"),)
    assert words.check("博彩").action == Action.ALLOW
    with pytest.raises(dataclasses.FrozenInstanceError):
        words.entries[0].word = "博彩"  # type: ignore[misc]


def test_hot_swap_serves_the_new_filter_while_a_taken_one_keeps_working() -> None:
    old = WordFilter([entry("赌博")])
    holder = FilterHolder(old)
    taken = holder.current
    new = WordFilter([entry("博彩")])
    assert holder.swap(new) is old
    assert holder.current is new
    assert holder.current.check("博彩").action == Action.BLOCK
    assert holder.current.check("赌博").action == Action.ALLOW
    assert taken.check("赌博").action == Action.BLOCK


# ---- micro-check: a large list stays correct (correctness only, nothing timed) ----


def test_large_list_finds_planted_words_at_their_spans() -> None:
    rng = random.Random(11)
    common = "的一是在不了有和人这中大为上个我以要他时来用们生到作地出就分对成会可主年动同工"
    randoms = {"".join(rng.choice(common) for _ in range(rng.randint(3, 4))) for _ in range(2000)}
    planted = ["赌博", "加微信", "私聊转账", "代开发票"]
    words = WordFilter([*(entry(word, Action.REVIEW, "random") for word in randoms), *map(entry, planted)])
    for _ in range(200):
        word = rng.choice(planted)
        disguised = rng.choice([" ", ".", "\u200b", "❤"]).join(word)
        head = "".join(rng.choice("好看吗？包邮3号链接 ") for _ in range(rng.randint(0, 40)))
        verdict = words.check(head + disguised + "，谢谢")
        spans = [(hit.start, hit.end) for hit in verdict.hits if hit.word == word]
        assert (len(head), len(head) + len(disguised)) in spans
