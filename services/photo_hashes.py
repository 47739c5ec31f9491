"""Perceptual hashes of photos and the reused-photo lookup.

Two 64-bit hashes per photo, both computed from the small oriented image the pipeline already has:

- `phash`: the signs of the 8×8 lowest frequencies of a 32×32 DCT against their median (the imagehash `phash`
  recipe). Survives resizing, recompression, brightness changes and small crops; this is the hash that is indexed.
- `dhash`: brightness gradients between neighbouring cells of a 9×8 grid. Fails differently from `phash`, so a
  candidate must be close in both before it counts as the same photo (fewer false matches between two photos of
  the same meeting room).

Thresholds, measured through `process` on the generated scenes of tests/images.py (tests/test_photos.py keeps
them honest; distances are phash/dhash out of 64):
- the same photo resized to 50 %, recompressed at quality 60, cropped by 2-3 %, brightened or darkened: ≤ 8 / ≤ 12;
- a rough re-shoot (tilted 1.5°, cropped 4 %, blurred, darker, half size): ≤ 8-10 on phash, but up to 16 on dhash;
- another meeting in the same room (same background, other people): 8-22 / 4-16, e.g. (8, 16), (10, 6);
- unrelated scenes: ≥ 22 / ≥ 21.
Hence two levels. "same": phash ≤ 8 and dhash ≤ 12, the same picture, edited; no same-room pair reached it.
"similar": phash ≤ 10 otherwise, a re-shoot or the same scene: for a person to look at, not an automatic refusal.
Real re-shoots add perspective and moiré and real meeting rooms repeat: recalibrate on real uploads.

Lookup: a 64-bit hash splits into four 16-bit chunks (c0 is the most significant). If two hashes are at most `d`
apart, at least one chunk pair is at most `d // 4` apart (pigeonhole), so probing each chunk with every value
within that radius finds every match. Exact chunk equality alone only guarantees d ≤ 3. The database stores the
chunks as indexed columns and runs the same probes (`chunk_probes`) as `c0 IN (...) OR c1 IN (...) ...`.
"""

from __future__ import annotations

import math
from functools import cache
from itertools import combinations
from operator import mul
from typing import NamedTuple

from PIL import Image

SAME_PHASH_DISTANCE = 8  # of 64 bits; with the next line: the same picture (resized, recompressed, cropped, edited)
SAME_DHASH_DISTANCE = 12  # the second hash must agree too: rules out other meetings in the same room
SIMILAR_PHASH_DISTANCE = 10  # a likely re-shoot or the same scene: for review; also the lookup radius
SAME, SIMILAR = "same", "similar"
CHUNKS = 4
CHUNK_BITS = 16
_MASK64 = (1 << 64) - 1
_DCT_SIZE = 32
_DCT_KEEP = 8


def phash(im: Image.Image) -> int:
    """The 64-bit DCT hash of `im` (any mode, any size; a few hundred pixels wide is plenty)."""
    gray = im.convert("L").resize((_DCT_SIZE, _DCT_SIZE), Image.Resampling.BOX)
    pixels = list(gray.tobytes())
    rows = [pixels[i : i + _DCT_SIZE] for i in range(0, _DCT_SIZE * _DCT_SIZE, _DCT_SIZE)]
    table = _cosine_table()
    # Separable DCT-II, keeping only the 8 lowest frequencies in each direction.
    row_coeffs = [[sum(map(mul, row, basis)) for basis in table] for row in rows]
    columns = list(zip(*row_coeffs, strict=True))
    low = [sum(map(mul, column, basis)) for basis in table for column in columns]
    median = sorted(low)[len(low) // 2]
    return _bits_to_int(value > median for value in low)


def dhash(im: Image.Image) -> int:
    """The 64-bit difference hash of `im`: is each cell of a 9×8 grid brighter than its right neighbour."""
    gray = im.convert("L").resize((9, 8), Image.Resampling.BOX)
    pixels = gray.tobytes()
    return _bits_to_int(pixels[r * 9 + c] > pixels[r * 9 + c + 1] for r in range(8) for c in range(8))


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes (signed database values are accepted too)."""
    return ((a ^ b) & _MASK64).bit_count()


def match_level(phash_distance: int, dhash_distance: int) -> str | None:
    """SAME, SIMILAR or None for two photos at these hash distances (see the thresholds above)."""
    if phash_distance <= SAME_PHASH_DISTANCE and dhash_distance <= SAME_DHASH_DISTANCE:
        return SAME
    return SIMILAR if phash_distance <= SIMILAR_PHASH_DISTANCE else None


def compare(phash_a: int, dhash_a: int, phash_b: int, dhash_b: int) -> str | None:
    """SAME, SIMILAR or None for two photos given their hashes (signed or unsigned)."""
    return match_level(hamming(phash_a, phash_b), hamming(dhash_a, dhash_b))


def to_signed64(h: int) -> int:
    """The unsigned hash as MySQL BIGINT (signed) stores it."""
    h &= _MASK64
    return h - (1 << 64) if h >= 1 << 63 else h


def from_signed64(s: int) -> int:
    """The unsigned hash back from a signed BIGINT."""
    return s & _MASK64


def hash_chunks(h: int) -> tuple[int, int, int, int]:
    """The four 16-bit chunks (c0 = most significant bits) the database indexes for candidate lookup."""
    h &= _MASK64
    return (h >> 48) & 0xFFFF, (h >> 32) & 0xFFFF, (h >> 16) & 0xFFFF, h & 0xFFFF


def chunk_probes(h: int, max_distance: int = SIMILAR_PHASH_DISTANCE) -> tuple[tuple[int, ...], ...]:
    """Per chunk, every value within `max_distance // 4` bits: `c0 IN probes[0] OR c1 IN probes[1] ...`.

    Any stored hash within `max_distance` of `h` matches at least one of these; the caller then checks the exact
    distance with `hamming`. Distances 8-11 give 137 values per chunk; 4-7 give 17.
    """
    masks = _flip_masks(max_distance // CHUNKS)
    return tuple(tuple(chunk ^ m for m in masks) for chunk in hash_chunks(h))


class PhotoMatch(NamedTuple):
    key: object
    level: str  # SAME or SIMILAR
    phash_distance: int
    dhash_distance: int


class PhotoHashIndex:
    """In-memory multi-index over stored photo hashes: which stored photos are the same picture as a new one.

    For a worker or a cache; the database does the same with indexed chunk columns and `chunk_probes`. Answers in
    about a millisecond against 200,000 photos (bench/photo_pipeline.py). Keys are whatever the caller names a
    photo by (an id); several keys may share a hash.
    """

    def __init__(self) -> None:
        self._phashes: list[int] = []
        self._dhashes: list[int] = []
        self._keys: list[object] = []
        self._tables: list[dict[int, list[int]]] = [{} for _ in range(CHUNKS)]

    def __len__(self) -> int:
        return len(self._phashes)

    def add(self, key: object, phash_value: int, dhash_value: int) -> None:
        """Stores a photo's hashes (signed or unsigned) under `key`."""
        phash_value &= _MASK64
        slot = len(self._phashes)
        self._phashes.append(phash_value)
        self._dhashes.append(dhash_value & _MASK64)
        self._keys.append(key)
        for table, chunk in zip(self._tables, hash_chunks(phash_value), strict=True):
            table.setdefault(chunk, []).append(slot)

    def query(self, phash_value: int, dhash_value: int) -> list[PhotoMatch]:
        """Every stored photo SAME as or SIMILAR to the given hashes, closest first."""
        phash_value &= _MASK64
        dhash_value &= _MASK64
        hits = []
        for slot in self._candidates(phash_value):
            near = (self._phashes[slot] ^ phash_value).bit_count()
            if near <= SIMILAR_PHASH_DISTANCE:
                far = (self._dhashes[slot] ^ dhash_value).bit_count()
                hits.append(PhotoMatch(self._keys[slot], match_level(near, far), near, far))
        return sorted(hits, key=lambda hit: (hit.level != SAME, hit.phash_distance, hit.dhash_distance))

    def _candidates(self, phash_value: int) -> set[int]:
        slots: set[int] = set()
        for table, probes in zip(self._tables, chunk_probes(phash_value), strict=True):
            for probe in probes:
                found = table.get(probe)
                if found:
                    slots.update(found)
        return slots


@cache
def _flip_masks(radius: int) -> tuple[int, ...]:
    """Every 16-bit mask with at most `radius` bits set (XOR-ing a chunk with each gives its neighbourhood)."""
    masks = [0]
    for bits in range(1, radius + 1):
        masks.extend(sum(1 << b for b in chosen) for chosen in combinations(range(CHUNK_BITS), bits))
    return tuple(masks)


@cache
def _cosine_table() -> tuple[tuple[float, ...], ...]:
    """DCT-II basis rows for the kept frequencies (normalisation does not matter: only signs vs the median)."""
    n = _DCT_SIZE
    return tuple(tuple(math.cos(math.pi * (2 * x + 1) * u / (2 * n)) for x in range(n)) for u in range(_DCT_KEEP))


def _bits_to_int(bits) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | bool(bit)
    return value
