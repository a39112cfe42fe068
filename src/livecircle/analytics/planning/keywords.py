"""Top keywords of chat lines, Chinese first, without a segmenter.

jieba is not a dependency of this project, so Chinese runs are cut into character n-grams
(2 to 4 characters) and counted once per line. An n-gram is a keyword when it
- appears in at least ``min_lines`` lines,
- neither starts nor ends with a function character (的, 了, 吗, 吧 ...) nor with a filler
  word of chat (主播, 谢谢, 哈哈 ...),
- is not mostly inside one longer keyword: "口红" is dropped when "口红试色" appears in at
  least ``CONTAINED`` of the lines that have "口红" (the phrase is the keyword then).
Latin words (2+ letters, lower-cased, English stop words out) count as they are. This finds
what viewers keep naming (products, shades, ingredients, problems) well enough to suggest a
topic; every suggestion shows its count and example lines, so the operator judges it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#-]+")
SIZES = (2, 3, 4)
CONTAINED = 0.8
# Characters that do not start or end a content word in chat Chinese.
EDGE_STOPS = frozenset(
    "的了吗呢啊吧呀哦哈嗯是我你他她它们这那就都也还在有和与及或很太么个一没要会能想看来去说到给把被让啦嘛哇呗吖噢喔诶哎"
)
FILLERS = frozenset(
    {
        "主播", "直播", "大家", "老师", "谢谢", "可以", "什么", "怎么", "这个", "那个", "还有",
        "没有", "一下", "哈哈", "好的", "是不", "不是", "有没", "多少", "喜欢", "真的", "已经",
        "知道", "现在", "今天", "明天", "感觉", "觉得", "开始", "时候", "欢迎", "关注", "点赞",
        "好看", "厉害", "支持", "来了", "晚上", "上午", "下午", "好美", "漂亮", "可爱", "好听",
        "哈哈哈", "加油", "不要", "不会", "不能", "不好", "不错", "不用",
    }
)  # fmt: skip
LATIN_STOPS = frozenset(
    {"the", "and", "is", "it", "to", "of", "a", "in", "for", "on", "you", "me", "my", "this", "that",
     "so", "be", "are", "was", "hi", "hello", "ok", "okay", "lol", "haha", "yes", "no", "thanks", "pls"}
)  # fmt: skip
PARTICLES = "的了吗呢啊吧呀哦嗯啦嘛哇呗噢喔诶哎"
FILLER_RE = re.compile("|".join(sorted(FILLERS, key=len, reverse=True)) + f"|[{PARTICLES}]")
# A line that looks like it carries contact details is never quoted as an example.
CONTACT = re.compile(r"\d{6,}|@|https?://|www\.|微信|vx|qq", re.IGNORECASE)


@dataclass
class Keyword:
    word: str
    lines: int
    examples: list[str] = field(default_factory=list)
    shows: list[int] = field(default_factory=list)


def terms(text: str) -> set[str]:
    """Every candidate term of one line (each counts once per line)."""
    found: set[str] = set()
    for run in CJK_RUN.findall(_cut_fillers(text)):
        for size in SIZES:
            for start in range(len(run) - size + 1):
                gram = run[start : start + size]
                if gram[0] not in EDGE_STOPS and gram[-1] not in EDGE_STOPS and not _filler(gram):
                    found.add(gram)
    for word in LATIN_WORD.findall(text):
        lowered = word.lower()
        if lowered not in LATIN_STOPS:
            found.add(lowered)
    return found


def top_keywords(
    lines: Iterable[tuple[str, int]], *, limit: int = 10, min_lines: int = 3, examples: int = 3
) -> list[Keyword]:
    """The ``limit`` most mentioned keywords of ``(text, show_id)`` lines, most lines first."""
    counts: Counter[str] = Counter()
    per_line: list[tuple[str, int, set[str]]] = []
    for text, show_id in lines:
        found = terms(text)
        counts.update(found)
        per_line.append((text, show_id, found))
    frequent = {t: n for t, n in counts.items() if n >= min_lines}
    held = _held_by_longer(frequent)
    kept = sorted(
        (t for t in frequent if held.get(t, 0) < CONTAINED * frequent[t]),
        key=lambda t: (-frequent[t], -len(t), t),
    )[:limit]
    found_words = {t: Keyword(t, frequent[t]) for t in kept}
    for text, show_id, line_terms in per_line:
        for word in line_terms & found_words.keys():
            keyword = found_words[word]
            if show_id not in keyword.shows:
                keyword.shows.append(show_id)
            if len(keyword.examples) < examples and not CONTACT.search(text) and text not in keyword.examples:
                keyword.examples.append(text[:80])
    return [found_words[t] for t in kept]


def _cut_fillers(text: str) -> str:
    """Filler words and particles become breaks: "主播好美" leaves "好美", not "播好"."""
    return FILLER_RE.sub(" ", text)


def _filler(gram: str) -> bool:
    """A filler word, or a gram that starts or ends with one ("主播好美")."""
    return gram in FILLERS or gram[:2] in FILLERS or gram[-2:] in FILLERS


def _held_by_longer(frequent: dict[str, int]) -> dict[str, int]:
    """For each term, the most lines of a longer frequent term holding it."""
    held: dict[str, int] = {}
    for term, count in frequent.items():
        if not CJK_RUN.fullmatch(term):
            continue
        for size in range(SIZES[0], len(term)):
            for start in range(len(term) - size + 1):
                part = term[start : start + size]
                held[part] = max(held.get(part, 0), count)
    return held
