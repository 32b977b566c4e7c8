"""Giving freed heap memory back to the operating system, where the C library keeps it otherwise.

glibc's malloc keeps what Python frees in its heaps for reuse, and raises its mmap threshold after a large
block is freed, so that the next large bodies come from the heap too: after a burst of large request bodies
the process stays at its peak size. ``malloc_trim`` returns the free pages; other C libraries lack it,
and there this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_libc_name = ctypes.util.find_library("c")
_malloc_trim = getattr(ctypes.CDLL(_libc_name), "malloc_trim", None) if _libc_name else None


def release_free_memory() -> None:
    """Return the heap's free pages to the system (a few ms at most; call it when a burst is over)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
