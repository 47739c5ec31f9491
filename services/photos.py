"""Checking and preparing an uploaded meeting (or duty check-in) photo: a pure library, no Flask, no database.

`process` refuses what is not a whole JPEG/PNG/HEIC photo of sane size, reads its EXIF from the original bytes,
and returns the copies to store (display, thumbnail, watermarked; none with EXIF), the perceptual hashes that
find a photo reused for another meeting, and the SHA-256 of the original (kept as uploaded: nothing is lost).

Speed: for JPEG the decoder scales by 1/2, 1/4 or 1/8 during the DCT (`Image.draft`) so a 12-megapixel photo is
never decoded at full size; the thumbnail is made from the display copy and the hashes from the thumbnail.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import BinaryIO

from PIL import Image, ImageFile

from services.errors import Invalid
from services.photo_exif import PhotoExif, read_exif
from services.photo_hashes import (
    SAME,
    SIMILAR,
    PhotoHashIndex,
    PhotoMatch,
    chunk_probes,
    compare,
    dhash,
    from_signed64,
    hamming,
    hash_chunks,
    match_level,
    phash,
    to_signed64,
)
from services.photo_watermark import FontChoice, choose_font, stamp_watermark

__all__ = [
    "SAME",
    "SIMILAR",
    "FontChoice",
    "PhotoExif",
    "PhotoHashIndex",
    "PhotoMatch",
    "PhotoRejected",
    "ProcessedPhoto",
    "chunk_probes",
    "compare",
    "declared_kind",
    "from_signed64",
    "hamming",
    "hash_chunks",
    "match_level",
    "process",
    "sniff",
    "to_signed64",
]

SNIFF_BYTES = 64  # enough for a HEIC `ftyp` box with its compatible brands
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # phone photos are 2-8 MB; HEIC less
DEFAULT_MAX_PIXELS = 50_000_000  # a 48-megapixel phone sensor passes; a pixel flood does not
DISPLAY_MAX_SIDE = 2048
DISPLAY_MIN_SIDE = 1600  # JPEG DCT scaling may stop anywhere between this and the maximum: no resample needed
THUMB_SIDE = 320
DISPLAY_QUALITY = 82
THUMB_QUALITY = 75

_FORMATS = {"jpeg": "JPEG", "png": "PNG", "heic": "HEIF"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1"}  # also the major brand of AVIF files, so the compatible list decides
_MIME_KINDS = {
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/png": "png",
    "image/heic": "heic",
    "image/heif": "heic",
}
_SUFFIX_KINDS = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png", ".heic": "heic", ".heif": "heic"}
_KIND_NAMES = {"jpeg": "JPEG", "png": "PNG", "heic": "HEIC"}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# What Pillow and pillow-heif raise on a damaged file, besides DecompressionBombError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, RuntimeError)


class PhotoRejected(Invalid, ValueError):
    """An upload that is not a usable photo. `reason` is a stable token; the message is for the member."""

    def __init__(self, reason: str, message: str):
        super().__init__(message, code=reason)
        self.reason = reason
        if reason == "too_large":
            self.status = 413


@dataclass(frozen=True)
class ProcessedPhoto:
    """Everything the meeting (or check-in) feature stores about one accepted photo.

    `width`/`height` are the original's, upright. The three JPEGs carry no EXIF. `phash`/`dhash` are unsigned
    64-bit; store them with `to_signed64` and index `hash_chunks(phash)`. `stage_ms` says where the time went.
    """

    kind: str
    width: int
    height: int
    byte_size: int
    sha256: str
    exif: PhotoExif
    display_jpeg: bytes
    thumb_jpeg: bytes
    watermarked_jpeg: bytes
    phash: int
    dhash: int
    watermark_font: FontChoice
    stage_ms: dict[str, float] = field(default_factory=dict, compare=False)


def sniff(head: bytes) -> str | None:
    """The real type from the first bytes ("jpeg", "png", "heic"), whatever the file is called; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 16 and head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[0:4], "big")
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
        if brands & _HEIC_BRANDS or (head[8:12] in _GENERIC_HEIF_BRANDS and not brands & {b"avif", b"avis"}):
            return "heic"
    return None


def process(
    data: bytes | BinaryIO,
    *,
    watermark_lines: Sequence[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    declared_type: str | None = None,
    font_path: str | None = None,
) -> ProcessedPhoto:
    """Checks an upload and prepares its stored copies; raises `PhotoRejected` for anything unusable.

    `declared_type` is the client's MIME type or file name; when it names one of our types and the content is
    another, the upload is refused. `watermark_lines` are drawn in order (organisation, meeting, time, place);
    `font_path` overrides the CJK font search (see services.photo_watermark).
    Side effects: reads `data` (at most `max_bytes` + 1 bytes of a stream); the first HEIC registers pillow-heif's
    opener with Pillow and the first watermark looks up the font, both once per process.
    """
    clock = _Stopwatch()
    raw = _read_limited(data, max_bytes)
    kind = _check_kind(raw, declared_type)
    clock.lap("sniff")
    im = _open_checked(raw, kind, max_pixels)
    header_size = im.size
    display, icc = _decode_display(im, kind)
    clock.lap("decode")
    exif = read_exif(im)  # after the checked load: Pillow may decode a PNG to find its EXIF
    width, height = _upright_size(header_size, exif.orientation)
    display = _upright(display, exif.orientation)
    clock.lap("exif")
    display_jpeg = _encode(display, DISPLAY_QUALITY, icc)
    clock.lap("display")
    thumb = _fit(display, THUMB_SIDE, reducing_gap=1.0)
    thumb_jpeg = _encode(thumb, THUMB_QUALITY, icc)
    clock.lap("thumbnail")
    hashes = phash(thumb), dhash(thumb)
    clock.lap("hashes")
    font = choose_font(font_path)
    stamp_watermark(display, watermark_lines, font)
    watermarked_jpeg = _encode(display, DISPLAY_QUALITY, icc)
    clock.lap("watermark")
    digest = hashlib.sha256(raw).hexdigest()
    clock.lap("sha256")
    return ProcessedPhoto(
        kind=kind,
        width=width,
        height=height,
        byte_size=len(raw),
        sha256=digest,
        exif=exif,
        display_jpeg=display_jpeg,
        thumb_jpeg=thumb_jpeg,
        watermarked_jpeg=watermarked_jpeg,
        phash=hashes[0],
        dhash=hashes[1],
        watermark_font=font,
        stage_ms=clock.laps,
    )


def declared_kind(declared_type: str | None) -> str | None:
    """Our type for a client's MIME type or file name; None when it names none of ours (no check then)."""
    if not declared_type:
        return None
    value = declared_type.strip().lower()
    mime = value.split(";")[0].strip()
    if mime in _MIME_KINDS:
        return _MIME_KINDS[mime]
    dot = value.rfind(".")
    return _SUFFIX_KINDS.get(value[dot:]) if dot != -1 else None


def _read_limited(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    """The upload's bytes, refusing more than `max_bytes` without reading further than one byte past it."""
    raw = data if isinstance(data, bytes | bytearray | memoryview) else data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PhotoRejected("too_large", f"照片不能超过 {max_bytes / 1024 / 1024:g} MB，请压缩后重新上传")
    return bytes(raw)


def _check_kind(raw: bytes, declared_type: str | None) -> str:
    kind = sniff(raw[:SNIFF_BYTES])
    if kind is None:
        raise PhotoRejected("unsupported_type", "只接受 JPEG、PNG 或 HEIC 格式的照片")
    declared = declared_kind(declared_type)
    if declared is not None and declared != kind:
        raise PhotoRejected(
            "type_mismatch",
            f"照片的类型（{_KIND_NAMES[declared]}）与内容（{_KIND_NAMES[kind]}）不符，请直接上传相机拍摄的原图",
        )
    return kind


def _open_checked(raw: bytes, kind: str, max_pixels: int) -> Image.Image:
    """The image opened lazily: header parsed, size checked, nothing decoded yet."""
    if kind == "heic":
        _register_heif()
    try:
        im = Image.open(io.BytesIO(raw), formats=[_FORMATS[kind]])
    except Image.DecompressionBombError:
        raise _pixel_flood(None, max_pixels) from None
    except _DECODE_ERRORS:
        raise _corrupt() from None
    if im.width * im.height > max_pixels:
        raise _pixel_flood(im.size, max_pixels)
    return im


def _decode_display(im: Image.Image, kind: str) -> tuple[Image.Image, bytes | None]:
    """The display copy as RGB within DISPLAY_MAX_SIDE (not yet upright) and the RGB colour profile to keep.

    A cut-off file is refused here, never accepted half-grey.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("ImageFile.LOAD_TRUNCATED_IMAGES must stay False: cut-off uploads would be accepted")
    icc = im.info.get("icc_profile")
    if kind == "jpeg" and max(im.size) > DISPLAY_MAX_SIDE:
        scale = DISPLAY_MIN_SIDE / max(im.size)
        im.draft("RGB", (round(im.width * scale), round(im.height * scale)))
    try:
        im.load()
    except _DECODE_ERRORS:
        raise _corrupt() from None
    keep_icc = bool(icc) and icc[16:20] == b"RGB " and im.mode == "RGB"
    rgb = _to_rgb(im)
    factor = max(rgb.size) // DISPLAY_MIN_SIDE
    if factor >= 2:  # what DCT scaling does for JPEG, as a box filter: far cheaper than resampling it all
        rgb = rgb.reduce(factor)
    return _fit(rgb, DISPLAY_MAX_SIDE), icc if keep_icc else None


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    """`im` turned as its EXIF orientation says (the camera stores pixels as the sensor saw them)."""
    return im.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else im


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white (screenshots, stickers), 16-bit greyscale scaled down."""
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if im.mode.startswith("I"):
        return im.convert("I").point(lambda v: v / 257).convert("L").convert("RGB")
    return im.convert("RGB")


def _fit(im: Image.Image, max_side: int, *, reducing_gap: float = 2.0) -> Image.Image:
    """`im` scaled down so its longer side is at most `max_side` (the same object if it already fits).

    A smaller `reducing_gap` box-averages more before the Lanczos pass: faster, and good enough for thumbnails.
    """
    if max(im.size) <= max_side:
        return im
    scale = max_side / max(im.size)
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=reducing_gap)


def _encode(im: Image.Image, quality: int, icc: bytes | None) -> bytes:
    """A baseline JPEG of `im` with no EXIF, whatever `im.info` holds; only the colour profile is kept."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, exif=b"", icc_profile=icc or b"")
    return buf.getvalue()


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _pixel_flood(size: tuple[int, int] | None, max_pixels: int) -> PhotoRejected:
    shown = f"（{size[0]}×{size[1]}）" if size else ""
    return PhotoRejected("pixel_flood", f"照片像素过多{shown}，最多 {max_pixels // 10_000} 万像素")


def _corrupt() -> PhotoRejected:
    return PhotoRejected("corrupt", "照片不完整或已损坏（可能上传中断），请重新上传")


@cache
def _register_heif() -> None:
    """Teaches Pillow to open HEIC (a process-wide registration, done once, on the first HEIC upload)."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False)


class _Stopwatch:
    """Milliseconds per pipeline stage, for logs and the benchmark."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = (now - self._last) * 1000
        self._last = now
