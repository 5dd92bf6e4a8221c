"""A Bloom filter of stored event-id hashes: most chunks then dedupe without reading the store.

Dedupe compares a chunk's 64-bit event-id hashes (``key_hash``) with those already stored
for its source. In SQL that is a scan of the whole ``key_hash`` column per chunk: cheap for
a file's large chunks, but a cost that grows with the store for the live service's many
small ones. :class:`KeyFilter` answers "certainly new" for almost every new event without
touching the store; only the hashes it *might* have seen (a retry, or a false positive at
about 1 % by design) go to the exact SQL check. It never says "new" for a stored hash, so
dedupe stays exact.

Bits are set before the chunk's transaction commits; should it roll back, the extra bits
only cost an exact check later. The filter is sized for twice the rows it starts with and is
rebuilt from the store (one column scan) each time the count of added hashes doubles, so
the false-positive rate stays near its design value: 10 bits and 4 probes a key, about 1.2 %.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["KeyFilter"]

BITS_PER_KEY = 10
PROBES = 4
MIN_CAPACITY = 1 << 20

U64 = NDArray[np.uint64]


class KeyFilter:
    """A Bloom filter over uint64 hashes (already uniform: DuckDB's ``hash``).

    Examples
    --------
    >>> f = KeyFilter.of(np.array([1, 2, 3], dtype=np.uint64))
    >>> f.might_contain(np.array([2, 12345678901], dtype=np.uint64)).tolist()
    [True, False]
    """

    def __init__(self, capacity: int) -> None:
        bits = 1 << max(int(capacity * BITS_PER_KEY - 1).bit_length(), 6)
        self.capacity = capacity
        self.count = 0
        self._mask = np.uint64(bits - 1)
        self._words = np.zeros(bits // 64, dtype=np.uint64)

    @classmethod
    def of(cls, hashes: U64) -> KeyFilter:
        """A filter holding ``hashes``, with room for as many again (at least ``MIN_CAPACITY``)."""
        out = cls(max(MIN_CAPACITY, 2 * int(hashes.size)))
        out.add(hashes)
        return out

    @property
    def full(self) -> bool:
        """More hashes were added than it was sized for: rebuild it from the store."""
        return self.count > self.capacity

    def _positions(self, hashes: U64) -> U64:
        h = np.asarray(hashes, dtype=np.uint64)
        low = h & np.uint64(0xFFFFFFFF)
        step = (h >> np.uint64(32)) | np.uint64(1)  # odd: the probes of one key never coincide
        probes = np.arange(PROBES, dtype=np.uint64)[:, None]
        out: U64 = (low[None, :] + probes * step[None, :]) & self._mask
        return out

    def add(self, hashes: U64) -> None:
        pos = self._positions(hashes).ravel()
        np.bitwise_or.at(self._words, pos >> np.uint64(6), np.uint64(1) << (pos & np.uint64(63)))
        self.count += int(np.asarray(hashes).size)

    def might_contain(self, hashes: U64) -> NDArray[np.bool_]:
        """False: certainly never added. True: perhaps added (check the store)."""
        pos = self._positions(hashes)
        bits = (self._words[pos >> np.uint64(6)] >> (pos & np.uint64(63))) & np.uint64(1)
        out: NDArray[np.bool_] = bits.astype(bool).all(axis=0)
        return out
