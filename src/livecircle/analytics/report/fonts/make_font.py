"""Remake the report's CJK font: Noto Sans CJK SC, subset to what a Chinese report needs.

    python src/livecircle/analytics/report/fonts/make_font.py [SOURCE.ttc]

The subset holds ASCII, Latin-1, general punctuation, CJK symbols and punctuation, every
character of GB2312 (symbols, level 1 and level 2 hanzi: 6,763) and the full-width forms.
fpdf2 (2.8) embeds CFF outlines as a CIDFontType0, so the outlines stay CFF (half the size
of the same glyphs as TrueType quadratics); ``--truetype`` converts them with fontTools'
cu2qu for a PDF library that only takes ``glyf`` outlines. Hinting and layout features
are dropped: the PDF draws each character's default glyph.

The licence (SIL OFL 1.1) is ``OFL.txt`` next to the font; the family is renamed, as the
OFL asks of a modified version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

HERE = Path(__file__).resolve().parent
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = HERE / "NotoSansSC-LCSubset.otf"
FACE = "Noto Sans CJK SC"
FAMILY = "LC Noto Sans SC Subset"
RANGES = (
    (0x20, 0x7E),  # ASCII
    (0xA0, 0xFF),  # Latin-1
    (0x2000, 0x206F),  # general punctuation (— ‘ ’ “ ” …)
    (0x2190, 0x2193),  # arrows ← ↑ → ↓
    (0x2212, 0x2212),  # minus sign
    (0x25A0, 0x25A1),  # ■ □ (□ stands in for characters outside the subset)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # half-width and full-width forms
)


def gb2312() -> set[int]:
    """Every character GB2312 encodes (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    found: set[int] = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return found


def wanted() -> set[int]:
    codes = gb2312()
    for low, high in RANGES:
        codes.update(range(low, high + 1))
    return codes


def sc_face(source: Path) -> TTFont:
    collection = TTCollection(str(source))
    for font in collection.fonts:
        if font["name"].getDebugName(4) == FACE:
            return font
    raise SystemExit(f"no {FACE!r} face in {source}")


def make(source: Path, target: Path, *, truetype: bool = False) -> Path:
    font = sc_face(source)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted() & set(font.getBestCmap())))
    subsetter.subset(font)
    _rename(font)
    if truetype:
        font = _to_truetype(font)
        target = target.with_suffix(".ttf")
    font.save(str(target))
    return target


def _rename(font: TTFont) -> None:
    names = font["name"]
    for record in names.names:
        if record.nameID in (1, 4, 16):
            record.string = FAMILY
        elif record.nameID == 6:
            record.string = FAMILY.replace(" ", "")
        elif record.nameID == 3:
            record.string = f"{FAMILY};subset"


def _to_truetype(font: TTFont) -> TTFont:
    """CFF cubic outlines → TrueType quadratic ``glyf`` (fontTools' otf2ttf recipe)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
        "maxStackElements", "maxSizeOfInstructions", "maxComponentElements",
    ):  # fmt: skip
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    maxp.maxComponentDepth = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"
    return font


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=SOURCE)
    parser.add_argument("--target", type=Path, default=TARGET)
    parser.add_argument("--truetype", action="store_true", help="convert outlines to TrueType")
    args = parser.parse_args()
    made = make(args.source, args.target, truetype=args.truetype)
    print(f"{made} {made.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
