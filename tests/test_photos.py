"""The photo pipeline (services.photos): refusals, EXIF, stored copies, perceptual hashes and reuse lookup.

All images are generated in tests/images.py. No timings are asserted here: bench/photo_pipeline.py measures.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat

from services import photo_watermark
from services.errors import Invalid
from services.photos import (
    SAME,
    SIMILAR,
    PhotoHashIndex,
    PhotoRejected,
    chunk_probes,
    compare,
    declared_kind,
    from_signed64,
    hamming,
    hash_chunks,
    process,
    sniff,
    to_signed64,
)
from tests import images

LINES = ["中共东风村支部委员会", "6月主题党日：学习党章", "2025-06-18 09:30", "东风村村委会二楼会议室"]
EDITS = {
    "resized 50%": lambda im: images.resized(im, 0.5),
    "quality 60": lambda im: images.recompressed(im, 60),
    "cropped 2%": lambda im: images.cropped(im, 0.02),
    "cropped 3%": lambda im: images.cropped(im, 0.03),
    "brighter": lambda im: images.brightened(im, 1.3),
    "darker": lambda im: images.brightened(im, 0.7),
}
HASH_SIZE = (1024, 768)


def run(data, **kwargs):
    kwargs.setdefault("watermark_lines", LINES)
    return process(data, **kwargs)


def rejected(data, **kwargs) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        run(data, **kwargs)
    return caught.value


def hashes_of(im: Image.Image) -> tuple[int, int]:
    photo = process(images.jpeg_bytes(im), watermark_lines=[])
    return photo.phash, photo.dhash


@pytest.fixture(scope="module")
def photo():
    return images.scene(1)


@pytest.fixture(scope="module")
def photo_jpeg(photo):
    return images.jpeg_bytes(photo, exif=images.camera_exif())


@pytest.fixture(scope="module")
def processed(photo_jpeg):
    return run(photo_jpeg)


@pytest.fixture(scope="module")
def scenes():
    return [images.scene(seed, HASH_SIZE) for seed in range(8)]


@pytest.fixture(scope="module")
def scene_hashes(scenes):
    return [hashes_of(im) for im in scenes]


# --- sniffing ---------------------------------------------------------------------------------------------------


def test_sniff_recognises_the_three_types_by_content(photo):
    small = images.resized(photo, 0.1)
    assert sniff(images.jpeg_bytes(small)[:64]) == "jpeg"
    assert sniff(images.png_bytes(small)[:64]) == "png"
    assert sniff(images.heic_bytes(small)[:64]) == "heic"


@pytest.mark.parametrize(
    ("major", "compatible", "expected"),
    [
        (b"heic", b"mif1heic", "heic"),
        (b"heix", b"mif1heix", "heic"),
        (b"hevc", b"msf1hevc", "heic"),
        (b"mif1", b"mif1heic", "heic"),
        (b"mif1", b"mif1miaf", "heic"),
        (b"avif", b"mif1avif", None),
        (b"mif1", b"mif1avif", None),
        (b"isom", b"isomiso2mp41", None),  # an MP4 video
        (b"qt  ", b"qt  ", None),
    ],
)
def test_sniff_heif_brands(major, compatible, expected):
    box = (16 + len(compatible)).to_bytes(4, "big") + b"ftyp" + major + b"\0\0\0\0" + compatible
    assert sniff(box + b"\0\0\0\x08meta") == expected


@pytest.mark.parametrize(
    "head",
    [
        b"GIF89a\x01\x00\x01\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
        b"<!DOCTYPE html><html><body>",
        b"MZ\x90\x00\x03\x00\x00\x00",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"",
        b"\xff\xd8",
    ],
)
def test_sniff_refuses_everything_else(head):
    assert sniff(head) is None


@pytest.mark.parametrize(
    ("declared", "kind"),
    [
        ("image/jpeg", "jpeg"),
        ("image/png; charset=binary", "png"),
        ("IMG_0001.HEIC", "heic"),
        ("wxfile://tmp_7f3a.jpg", "jpeg"),
        ("application/octet-stream", None),
        ("blob", None),
        (None, None),
    ],
)
def test_declared_kind(declared, kind):
    assert declared_kind(declared) == kind


# --- refusals ---------------------------------------------------------------------------------------------------


def test_refusal_is_an_invalid_value_error_with_a_chinese_message():
    error = rejected(b"GIF89a" + bytes(100))
    assert isinstance(error, ValueError) and isinstance(error, Invalid)
    assert (error.reason, error.code, error.status) == ("unsupported_type", "unsupported_type", 422)
    assert error.message == "只接受 JPEG、PNG 或 HEIC 格式的照片"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP"])
def test_other_image_formats_are_refused(photo, fmt):
    buf = io.BytesIO()
    images.resized(photo, 0.1).save(buf, format=fmt)
    assert rejected(buf.getvalue()).reason == "unsupported_type"


@pytest.mark.parametrize("content", [b"%PDF-1.4\n", b"<html><script>alert(1)</script>", b"MZ\x90\x00" + bytes(500)])
def test_documents_pages_and_programs_are_refused(content):
    assert rejected(content, declared_type="photo.jpg").reason == "unsupported_type"


def test_oversized_bytes_are_refused(photo_jpeg):
    error = rejected(photo_jpeg, max_bytes=len(photo_jpeg) - 1)
    assert (error.reason, error.status) == ("too_large", 413)
    assert "MB" in error.message


def test_an_oversized_stream_is_not_read_to_the_end(photo_jpeg):
    stream = io.BytesIO(photo_jpeg + bytes(10_000_000))
    assert rejected(stream, max_bytes=len(photo_jpeg)).reason == "too_large"
    assert stream.tell() == len(photo_jpeg) + 1


def test_a_stream_is_accepted(photo_jpeg):
    assert run(io.BytesIO(photo_jpeg)).kind == "jpeg"


@pytest.fixture()
def no_decoding(monkeypatch):
    """Fails the test if any image is decoded: pixel floods must be refused from the header alone."""

    def load(self):
        raise AssertionError(f"decoded a {self.size} image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_a_png_pixel_flood_is_refused_from_its_header(no_decoding):
    flood = images.pixel_flood_png(20000, 20000)
    assert len(flood) < 500_000  # 400 megapixels in a small upload
    assert rejected(flood).reason == "pixel_flood"


def test_a_png_above_our_limit_but_below_pillows_is_refused_with_its_size(no_decoding):
    error = rejected(images.pixel_flood_png(8000, 7000))
    assert error.reason == "pixel_flood"
    assert "8000×7000" in error.message and "5000 万像素" in error.message


def test_a_jpeg_claiming_a_huge_frame_is_refused(photo, no_decoding):
    lie = images.with_jpeg_size(images.jpeg_bytes(images.resized(photo, 0.1)), 60000, 60000)
    assert rejected(lie).reason == "pixel_flood"


def test_the_pixel_limit_is_configurable(photo_jpeg):
    assert rejected(photo_jpeg, max_pixels=1_000_000).reason == "pixel_flood"


@pytest.mark.parametrize("kind", ["jpeg", "png", "heic"])
def test_an_upload_cut_off_halfway_is_refused(photo, kind):
    encode = {"jpeg": images.jpeg_bytes, "png": images.png_bytes, "heic": images.heic_bytes}[kind]
    whole = encode(images.resized(photo, 0.25))
    error = rejected(whole[: len(whole) // 2])
    assert error.reason == "corrupt"
    assert error.message == "照片不完整或已损坏（可能上传中断），请重新上传"


def test_garbage_behind_a_jpeg_signature_is_refused():
    assert rejected(b"\xff\xd8\xff\xe0" + random.Random(1).randbytes(5000)).reason == "corrupt"


def test_truncated_images_must_not_be_tolerated_globally(photo_jpeg, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        run(photo_jpeg)


@pytest.mark.parametrize("declared", ["photo.jpg", "image/jpeg", "IMG_0001.HEIC"])
def test_a_declared_type_other_than_the_content_is_refused(photo, declared):
    error = rejected(images.png_bytes(images.resized(photo, 0.25)), declared_type=declared)
    assert error.reason == "type_mismatch"
    assert "PNG" in error.message


@pytest.mark.parametrize("declared", ["photo.png", "image/png", "application/octet-stream", None])
def test_a_matching_or_uninformative_declared_type_is_accepted(photo, declared):
    assert run(images.png_bytes(images.resized(photo, 0.25)), declared_type=declared).kind == "png"


# --- EXIF -------------------------------------------------------------------------------------------------------


def test_exif_time_place_and_camera_are_read(processed):
    exif = processed.exif
    assert exif.taken_at == datetime(2025, 6, 18, 9, 30, 5)
    assert exif.utc_offset == timedelta(hours=8)
    assert exif.taken_at_aware.utcoffset() == timedelta(hours=8)
    assert exif.gps_lat == pytest.approx(30.65984, abs=1e-6)
    assert exif.gps_lng == pytest.approx(104.06335, abs=1e-6)
    assert (exif.make, exif.model, exif.coordinate_system) == ("HUAWEI", "ELS-AN00", "wgs84")


def test_southern_and_western_references_give_negative_degrees(photo):
    small = images.resized(photo, 0.25)
    exif = run(images.jpeg_bytes(small, exif=images.camera_exif(lat=-33.8568, lng=-151.2153, offset=None))).exif
    assert (exif.gps_lat, exif.gps_lng) == (pytest.approx(-33.8568, abs=1e-6), pytest.approx(-151.2153, abs=1e-6))
    assert exif.utc_offset is None and exif.taken_at_aware is None


def test_a_photo_without_exif_gives_empty_fields(photo):
    exif = run(images.jpeg_bytes(images.resized(photo, 0.25))).exif
    assert (exif.taken_at, exif.gps_lat, exif.gps_lng, exif.make, exif.orientation) == (None, None, None, None, 1)
    assert not exif.has_gps


def test_a_zero_gps_fix_counts_as_none(photo):
    exif = run(images.jpeg_bytes(images.resized(photo, 0.25), exif=images.camera_exif(lat=0.0, lng=0.0))).exif
    assert not exif.has_gps and exif.taken_at is not None


def test_heic_is_accepted_with_its_exif(photo):
    photo_heic = run(images.heic_bytes(images.resized(photo, 0.25), exif=images.camera_exif()))
    assert (photo_heic.kind, photo_heic.width, photo_heic.height) == ("heic", 400, 300)
    assert photo_heic.exif.taken_at == datetime(2025, 6, 18, 9, 30, 5)
    assert photo_heic.exif.gps_lat == pytest.approx(30.65984, abs=1e-6)


# --- stored copies ----------------------------------------------------------------------------------------------


def test_no_stored_copy_carries_exif(processed):
    for copy in (processed.display_jpeg, processed.thumb_jpeg, processed.watermarked_jpeg):
        stored = Image.open(io.BytesIO(copy))
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0 and not stored.getexif().get_ifd(0x8825)
        assert b"Exif\0\0" not in copy and b"HUAWEI" not in copy


def test_sizes_of_the_copies(processed):
    assert (processed.width, processed.height, processed.kind) == (1600, 1200, "jpeg")
    assert Image.open(io.BytesIO(processed.display_jpeg)).size == (1600, 1200)
    assert Image.open(io.BytesIO(processed.thumb_jpeg)).size == (320, 240)
    assert processed.byte_size > 0 and len(processed.sha256) == 64


def test_a_large_jpeg_is_scaled_during_decoding():
    big = Image.linear_gradient("L").resize((3000, 2250)).convert("RGB")
    display = Image.open(io.BytesIO(run(images.jpeg_bytes(big)).display_jpeg))
    assert 1600 <= max(display.size) <= 2048 and display.size[0] * 3 == display.size[1] * 4


@pytest.mark.parametrize(("size", "display"), [((2400, 1200), (2048, 1024)), ((4000, 1000), (2000, 500))])
def test_a_large_png_is_brought_within_the_display_limit(size, display):
    big = Image.linear_gradient("L").resize(size).convert("RGB")
    assert Image.open(io.BytesIO(run(images.png_bytes(big)).display_jpeg)).size == display


def test_a_multi_picture_jpeg_is_a_jpeg(photo):
    """Many Android cameras write MPO (a JPEG with an extra picture appended); Pillow calls it MPO."""
    buf = io.BytesIO()
    small = images.resized(photo, 0.25)
    small.save(buf, "MPO", save_all=True, append_images=[images.resized(small, 0.5)], exif=images.camera_exif())
    result = run(buf.getvalue(), declared_type="IMG_20250618.jpg")
    assert (result.kind, result.width, result.exif.make) == ("jpeg", 400, "HUAWEI")


def test_exif_orientation_is_applied(photo):
    marked = images.resized(photo, 0.5)
    marked.paste((255, 0, 0), (0, 0, 100, 100))  # top-left as the sensor stored it
    result = run(images.jpeg_bytes(marked, exif=images.camera_exif(orientation=6)))
    assert (result.width, result.height, result.exif.orientation) == (600, 800, 6)
    display = Image.open(io.BytesIO(result.display_jpeg)).convert("RGB")
    assert display.size == (600, 800)
    red, green, _ = display.getpixel((display.width - 20, 20))  # orientation 6: turned clockwise
    assert red > 200 and green < 60


def test_transparency_is_flattened_on_white(photo):
    rgba = images.resized(photo, 0.25).convert("RGBA")
    rgba.putalpha(0)
    display = Image.open(io.BytesIO(run(images.png_bytes(rgba)).display_jpeg)).convert("RGB")
    assert min(display.getpixel((10, 10))) > 245


def test_the_watermark_band_is_at_the_bottom(processed):
    display = Image.open(io.BytesIO(processed.display_jpeg)).convert("L")
    marked = Image.open(io.BytesIO(processed.watermarked_jpeg)).convert("L")
    w, h = display.size
    assert _mean_difference(display, marked, (0, 0, w, h // 2)) < 2
    assert _mean_difference(display, marked, (0, h - h // 10, w, h)) > 20
    assert processed.watermark_font.cjk


def test_the_watermark_without_a_cjk_font_keeps_the_latin_text(photo, monkeypatch):
    monkeypatch.setattr(photo_watermark, "_default_font", lambda: photo_watermark.FontChoice(None))
    result = run(images.jpeg_bytes(images.resized(photo, 0.5)))
    assert not result.watermark_font.cjk
    display = Image.open(io.BytesIO(result.display_jpeg)).convert("L")
    marked = Image.open(io.BytesIO(result.watermarked_jpeg)).convert("L")
    assert _mean_difference(display, marked, (0, 500, 800, 600)) > 20
    assert photo_watermark._drawable("2025-06-18 09:30 星期三", result.watermark_font) == "2025-06-18 09:30"


def test_a_configured_font_that_does_not_exist_is_an_error(photo_jpeg):
    with pytest.raises(FileNotFoundError):
        run(photo_jpeg, font_path="/nonexistent/font.ttf")


def test_no_watermark_lines_leave_the_display_copy_unchanged(photo):
    result = run(images.jpeg_bytes(images.resized(photo, 0.25)), watermark_lines=[" "])
    assert result.watermarked_jpeg == result.display_jpeg


# --- perceptual hashes and reuse --------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", EDITS)
def test_an_edited_copy_is_the_same_photo(scenes, scene_hashes, edit):
    for im, original in zip(scenes[:5], scene_hashes, strict=False):
        assert compare(*original, *hashes_of(EDITS[edit](im))) == SAME, edit


def test_a_reshot_copy_is_at_least_similar(scenes, scene_hashes):
    for im, (original_phash, original_dhash) in zip(scenes[:5], scene_hashes, strict=False):
        reshot_phash, reshot_dhash = hashes_of(images.reshot(im))
        assert compare(original_phash, original_dhash, reshot_phash, reshot_dhash) in (SAME, SIMILAR)


def test_different_scenes_are_not_matched(scene_hashes):
    for i, a in enumerate(scene_hashes):
        for b in scene_hashes[i + 1 :]:
            assert compare(*a, *b) is None
            assert hamming(a[0], b[0]) >= 16


def test_another_meeting_in_the_same_room_is_never_the_same_photo():
    for seed in range(4):
        first = hashes_of(images.scene(seed, HASH_SIZE, people=1))
        second = hashes_of(images.scene(seed, HASH_SIZE, people=2))
        assert compare(*first, *second) != SAME


def test_the_index_finds_an_edited_copy_among_many(scenes, scene_hashes):
    rng = random.Random(7)
    index = PhotoHashIndex()
    for n in range(5000):
        index.add(f"random-{n}", rng.getrandbits(64), rng.getrandbits(64))
    for n, (p, d) in enumerate(scene_hashes):
        index.add(f"scene-{n}", to_signed64(p), to_signed64(d))  # as read back from the database
    assert len(index) == 5000 + len(scene_hashes)
    matches = index.query(*hashes_of(images.recompressed(images.cropped(scenes[2], 0.02), 60)))
    assert [(m.key, m.level) for m in matches] == [("scene-2", SAME)]
    assert index.query(*hashes_of(images.scene(99, HASH_SIZE))) == []


def test_chunk_probes_find_every_hash_within_the_similar_radius():
    rng = random.Random(3)
    for _ in range(300):
        h = rng.getrandbits(64)
        near = h
        for bit in rng.sample(range(64), rng.randint(0, 10)):
            near ^= 1 << bit
        probes = chunk_probes(h)
        assert any(chunk in probes[i] for i, chunk in enumerate(hash_chunks(near)))
    assert [len(p) for p in chunk_probes(0)] == [137] * 4
    assert [len(p) for p in chunk_probes(0, 7)] == [17] * 4


def test_signed_storage_round_trips():
    for h in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 0xE342161CDC6B6CA6):
        s = to_signed64(h)
        assert -(1 << 63) <= s < 1 << 63
        assert from_signed64(s) == h
        assert hamming(s, h) == 0
    assert hash_chunks(0x0123456789ABCDEF) == (0x0123, 0x4567, 0x89AB, 0xCDEF)


def _mean_difference(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    return ImageStat.Stat(ImageChops.difference(a.crop(box), b.crop(box))).mean[0]
