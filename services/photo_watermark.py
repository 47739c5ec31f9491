"""The watermark band villages know from their watermark-camera apps: organisation, meeting, time, place.

Chinese text needs a CJK font. In order: the path the caller passes (configuration; a wrong path is an error,
not a silent fallback), Noto Sans SC from the `justmytype-intl-cjk` wheel on PyPI (SIL OFL 1.1), the usual
Debian/Ubuntu and macOS system fonts. Without any of them the band is still drawn with Pillow's built-in font,
which has no CJK glyphs: only the Latin characters of each line (dates, times, numbers) are kept, and
`FontChoice.cjk` is False so the caller can log it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_PACKAGED_FONT = ("justmytype_intl_cjk", "fonts/ofl/notosanssc/NotoSansSC[wght].ttf")
# (path, face index): the Noto CJK collections hold JP, KR, SC, TC, HK in that order.
_SYSTEM_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
)
_BAND_DARKEN = 0.45  # the band keeps 45 % of the photo's brightness: readable text, the scene still visible
_ACCENT = (200, 22, 29)  # party red, the bar left of the text
_WEIGHT = 500  # variable fonts default to their thinnest weight; medium reads better on photos


@dataclass(frozen=True)
class FontChoice:
    """The font the band is drawn with; `path` None means Pillow's built-in font (no Chinese)."""

    path: str | None
    index: int = 0
    cjk: bool = False


def choose_font(font_path: str | os.PathLike | None = None) -> FontChoice:
    """The font to use: `font_path` if given (must exist), else the packaged or a system CJK font, else built-in."""
    if font_path is not None:
        if not Path(font_path).is_file():
            raise FileNotFoundError(f"watermark font not found: {font_path}")
        return FontChoice(str(font_path), 0, cjk=True)
    return _default_font()


def stamp_watermark(im: Image.Image, lines: Sequence[str], font: FontChoice) -> None:
    """Draws the band with `lines` over the bottom of `im`, in place (the first line is the larger title)."""
    lines = [_drawable(line, font) for line in lines]
    lines = [line for line in lines if line]
    if not lines:
        return
    base = max(14, round(min(im.size) / 36))  # 42 px on a 2000×1500 copy
    fonts = [_font(font, round(base * 1.2))] + [_font(font, base)] * (len(lines) - 1)
    pad, gap = round(base * 0.6), round(base * 0.35)
    heights = [f.getbbox("国Ag")[3] for f in fonts]
    band_height = min(im.height, 2 * pad + sum(heights) + gap * (len(lines) - 1))
    top = im.height - band_height
    band = im.crop((0, top, im.width, im.height)).point([round(v * _BAND_DARKEN) for v in range(256)] * 3)
    draw = ImageDraw.Draw(band)
    text_x = pad + round(base * 0.6)
    draw.rectangle((pad, pad, pad + max(3, base // 5), band_height - pad), fill=_ACCENT)
    y = pad
    for line, line_font, height in zip(lines, fonts, heights, strict=True):
        draw.text((text_x, y), _fit(line, line_font, im.width - text_x - pad), font=line_font, fill=(255, 255, 255))
        y += height + gap
    im.paste(band, (0, top))


def _drawable(line: str, font: FontChoice) -> str:
    """The line as the font can draw it: all of it with a CJK font, its Latin part without."""
    line = " ".join(line.split())
    if font.cjk:
        return line
    return " ".join("".join(ch if ord(ch) < 0x250 else " " for ch in line).split())


def _fit(line: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """`line`, shortened with an ellipsis if wider than `width` pixels."""
    if font.getlength(line) <= width:
        return line
    while line and font.getlength(line + "…") > width:
        line = line[:-1]
    return line + "…"


@lru_cache(maxsize=16)
def _font(choice: FontChoice, size: int) -> ImageFont.FreeTypeFont:
    """A loaded font at `size`, cached (loading is cheap, but the variable-weight setup is per object)."""
    if choice.path is None:
        return ImageFont.load_default(size=size)
    font = ImageFont.truetype(choice.path, size, index=choice.index)
    try:
        axes = font.get_variation_axes()
    except OSError:  # not a variable font
        return font
    font.set_variation_by_axes([min(max(_WEIGHT, axis["minimum"]), axis["maximum"]) for axis in axes])
    return font


@cache
def _default_font() -> FontChoice:
    """The first CJK font found on this machine; looked up once per process."""
    package, member = _PACKAGED_FONT
    try:
        packaged = resources.files(package) / member
        if packaged.is_file():
            return FontChoice(str(packaged), 0, cjk=True)
    except ModuleNotFoundError:
        pass
    for path, index in _SYSTEM_FONTS:
        if os.path.isfile(path):
            return FontChoice(path, index, cjk=True)
    return FontChoice(None)
