"""Test images: scenes and camera EXIF come from services.demo_images (shared with the demo seed); here are the
edits a reused photo goes through (resize, recompress, crop, re-shoot) and hostile files (pixel floods). No binary
fixtures, no real photos.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageEnhance, ImageFilter

from services.demo_images import EXIF_IFD, GPS_IFD, add_grain, camera_exif, jpeg_bytes, scene

__all__ = ["EXIF_IFD", "GPS_IFD", "camera_exif", "jpeg_bytes", "scene"]


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def heic_bytes(im: Image.Image, *, exif: Image.Exif | None = None) -> bytes:
    """A HEIC made with pillow-heif's encoder (x265)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    im.save(buf, format="HEIF", quality=80, exif=exif.tobytes() if exif is not None else None)
    return buf.getvalue()


def resized(im: Image.Image, factor: float) -> Image.Image:
    return im.resize((round(im.width * factor), round(im.height * factor)), Image.Resampling.LANCZOS)


def recompressed(im: Image.Image, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_bytes(im, quality=quality))).convert("RGB")


def cropped(im: Image.Image, fraction: float) -> Image.Image:
    """Cuts `fraction` of each dimension, split between both sides (as a re-framed shot would)."""
    dx, dy = round(im.width * fraction / 2), round(im.height * fraction / 2)
    return im.crop((dx, dy, im.width - dx, im.height - dy))


def brightened(im: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(im).enhance(factor)


def reshot(im: Image.Image) -> Image.Image:
    """Roughly a photo of the photo: slight rotation, a 4 % crop, softer, darker, with new grain, half size."""
    tilted = im.rotate(1.5, resample=Image.Resampling.BICUBIC, expand=False)
    softer = cropped(tilted, 0.04).filter(ImageFilter.GaussianBlur(2))
    return add_grain(brightened(resized(softer, 0.5), 0.85), random.Random(99))


def pixel_flood_png(width: int, height: int, *, rows_per_block: int = 100) -> bytes:
    """A valid greyscale PNG of `width`×`height` black pixels, built in milliseconds.

    A 20000×20000 one is 400 MB decoded and about 400 KB on disk. The deflate stream is one compressed block of
    `rows_per_block` black rows repeated (each ends with a full flush, so copies are independent), plus the
    Adler-32 of all-zero data, which has a closed form.
    """
    if height % rows_per_block:
        raise ValueError("height must be a multiple of rows_per_block")
    raw_size = (width + 1) * height  # each row: filter byte 0 + pixels
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b"\x00" * (width + 1) * rows_per_block) + packer.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    adler = ((raw_size % 65521) << 16) | 1
    body = b"\x78\xda" + block * (height // rows_per_block) + final + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def with_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming another size (a pixel flood that costs nothing to send)."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = jpeg.find(marker)
        if at != -1:
            return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]
    raise ValueError("no SOF0/SOF2 marker")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
