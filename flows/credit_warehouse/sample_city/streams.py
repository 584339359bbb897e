"""Deterministic randomness: every random choice derives from the seed and *where* it is made.

Streams are keyed by (seed, purpose, date, feed, row) instead of being drawn in generation order, so
any day, file or single record can be regenerated alone and gives the same bytes as within a longer
range (needed for range independence and for correction files that re-send earlier records).
"""

from __future__ import annotations

import hashlib
import random

MASK64 = (1 << 64) - 1


def stable_int(*parts: object) -> int:
    """A 64-bit integer from the parts (sha256, so it does not change between Python runs)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def stream(*parts: object) -> random.Random:
    """An independent random stream for one purpose."""
    return random.Random(stable_int(*parts))


def mix64(x: int) -> int:
    """splitmix64 finaliser: a cheap, well-spread hash of an integer (per-subject attributes)."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def poisson(rng: random.Random, lam: float) -> int:
    """Poisson draw: Knuth for small means, a rounded normal for large ones (benchmark volumes)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    limit, k, p = 2.718281828459045 ** -lam, 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
