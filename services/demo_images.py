"""Photo-like images generated in code, for the demo city's meeting photos and for the tests (no real photos).

A "scene" is a seeded sky-and-ground gradient with shapes (a banner, people-sized blobs, tables), a line of text
and grain, so perceptual hashes behave as on photos rather than on flat colour. The same seed always gives the
same pixels. `camera_exif` writes EXIF as a phone camera does (time with offset, GPS in degrees/minutes/seconds).
"""

from __future__ import annotations

import io
import random
from datetime import datetime

from PIL import Image, ImageDraw, ImageFilter, ImageFont

EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def scene(seed: int, size: tuple[int, int] = (1600, 1200), *, people: int | None = None) -> Image.Image:
    """A deterministic photo-like RGB image; different seeds give unrelated compositions.

    `people` seeds the figures in the foreground separately: the same `seed` with another `people` is another
    meeting in the same room.
    """
    rng = random.Random(seed)
    w, h = size
    im = _gradient(rng, size)
    draw = ImageDraw.Draw(im)
    for _ in range(rng.randint(6, 12)):
        _shape(draw, rng, w, h)
    _people(draw, random.Random(seed if people is None else 10_000 + people), w, h)
    font = ImageFont.load_default(size=max(12, h // 18))
    draw.text((w * rng.uniform(0.05, 0.4), h * rng.uniform(0.05, 0.2)), f"MEETING {seed}", fill="white", font=font)
    im = im.filter(ImageFilter.GaussianBlur(radius=max(1, w // 800)))
    return add_grain(im, rng)


def jpeg_bytes(im: Image.Image, *, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, exif=exif if exif is not None else b"")
    return buf.getvalue()


def camera_exif(
    *,
    taken_at: datetime | None = datetime(2025, 6, 18, 9, 30, 5),
    offset: str | None = "+08:00",
    lat: float | None = 30.65984,
    lng: float | None = 104.06335,
    orientation: int | None = None,
    make: str = "HUAWEI",
    model: str = "ELS-AN00",
) -> Image.Exif:
    """EXIF as a phone camera writes it: make/model, DateTimeOriginal (+offset), GPS in degrees/minutes/seconds."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    if orientation is not None:
        exif[0x0112] = orientation
    if taken_at is not None:
        exif_ifd = exif.get_ifd(EXIF_IFD)
        exif_ifd[0x9003] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            exif_ifd[0x9011] = offset
    if lat is not None and lng is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[0x0000] = b"\x02\x02\x00\x00"
        gps[0x0001], gps[0x0002] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[0x0003], gps[0x0004] = ("E" if lng >= 0 else "W"), _dms(abs(lng))
    return exif


def _gradient(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Sky over ground, each a vertical gradient between two random colours."""
    w, h = size
    horizon = rng.randint(h // 3, 2 * h // 3)
    ramp = Image.linear_gradient("L").resize((w, h))
    top, bottom = _colour(rng), _colour(rng)
    sky = Image.composite(Image.new("RGB", size, top), Image.new("RGB", size, bottom), ramp)
    ground = Image.new("RGB", size, _colour(rng))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle((0, horizon, w, h), fill=255)
    return Image.composite(ground, sky, mask)


def _shape(draw: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int) -> None:
    x0, y0 = rng.uniform(-0.1, 0.9) * w, rng.uniform(0, 0.9) * h
    x1, y1 = x0 + rng.uniform(0.05, 0.45) * w, y0 + rng.uniform(0.05, 0.45) * h
    kind = rng.choice(("rectangle", "ellipse", "polygon"))
    if kind == "polygon":
        points = [(rng.uniform(x0, x1), rng.uniform(y0, y1)) for _ in range(rng.randint(3, 6))]
        draw.polygon(points, fill=_colour(rng))
    else:
        getattr(draw, kind)((x0, y0, x1, y1), fill=_colour(rng), outline=_colour(rng), width=max(1, w // 300))


def _people(draw: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int) -> None:
    """Seated figures: a head over a body, in the lower half."""
    for _ in range(rng.randint(4, 8)):
        x, y, size = rng.uniform(0.05, 0.9) * w, rng.uniform(0.5, 0.8) * h, rng.uniform(0.04, 0.08) * w
        draw.rectangle((x, y, x + size, y + 2 * size), fill=_colour(rng))
        draw.ellipse((x + size * 0.2, y - size * 0.7, x + size * 0.8, y - size * 0.1), fill=_colour(rng))


def add_grain(im: Image.Image, rng: random.Random) -> Image.Image:
    """Sensor-like grain from seeded bytes (Pillow's own noise generator is not seedable)."""
    small = (max(1, im.width // 2), max(1, im.height // 2))
    noise = Image.frombytes("L", small, rng.randbytes(small[0] * small[1])).resize(im.size)
    return Image.blend(im, Image.merge("RGB", (noise, noise, noise)), 0.08)


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return float(degrees), float(minutes), seconds
