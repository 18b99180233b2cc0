"""Allocator size classes (what the server's allocator hands out for a request of n bytes)
and the sds header sizes that go into those requests.

The compiled twin is ``_alloc.pxi``, included by the compiled scanner and model.
Allocators are named by a small code everywhere the model passes one along:
:data:`JEMALLOC` (Redis' bundled build, 8-byte quantum), :data:`JEMALLOC_16`
(distribution packages, 16-byte quantum) and :data:`LIBC` (glibc malloc, for
servers built with ``MALLOC=libc``).  The code 1 is ``True``: older callers
that pass a ``quantum16`` flag get the same answers.
"""

JEMALLOC, JEMALLOC_16, LIBC = 0, 1, 2
ALLOCATORS = {"jemalloc": JEMALLOC, "jemalloc-16": JEMALLOC_16, "libc": LIBC}
"""The ``--allocator`` names and their codes."""

LIBC_MMAP_THRESHOLD = 128 * 1024   # glibc M_MMAP_THRESHOLD default: larger chunks are mmapped


def jemalloc_size(n, quantum16=False):
    """Usable size of a jemalloc allocation of ``n`` bytes (8- or 16-byte quantum).

    With the 8-byte quantum Redis bundles: multiples of 8 up to 64, then
    four classes per power of two; with the 16-byte quantum of distribution
    builds: multiples of 16 up to 128, then the same.  A ``quantum16`` of
    :data:`LIBC` answers :func:`libc_size` instead.
    """
    if quantum16 == LIBC:
        return libc_size(n)
    if n <= 8:
        return 8
    if quantum16:
        if n <= 128:
            return (n + 15) & ~15
    elif n <= 64:
        return (n + 7) & ~7
    delta = 1 << ((n - 1).bit_length() - 1 - 2)
    return (n + delta - 1) & ~(delta - 1)


def libc_size(n):
    """glibc ``malloc_usable_size`` of a ``malloc(n)`` on 64-bit Linux.

    A heap chunk is the request plus its 8-byte size field, rounded up to
    16 bytes, at least 32; all but the size field is usable.  From the mmap
    threshold (128 KiB unless glibc has raised it after freeing a larger
    mapped chunk) the chunk is mapped: whole pages, 16 bytes of header.
    """
    chunk = (n + 8 + 15) & ~15
    if chunk < 32:
        chunk = 32
    if chunk >= LIBC_MMAP_THRESHOLD:
        return ((chunk + 8 + 4095) & ~4095) - 16
    return chunk - 8


alloc_size = jemalloc_size
"""The usable size of ``n`` bytes under an allocator code (:data:`JEMALLOC`, :data:`JEMALLOC_16`, :data:`LIBC`)."""


def valkey_sds_header(n):
    """Header bytes of an sds string of ``n`` bytes by Valkey's ``sdsReqType``.

    Type 5 below 32 bytes (even when empty: ``sdsnewlen`` alone turns an
    empty string into type 8), type 8 up to 252 bytes, type 16 up to
    65,529, then type 32 (Redis switches at 256 and 65,536).
    """
    if n < 32:
        return 1
    if n <= 252:
        return 3
    if n <= 65529:
        return 5
    return 9 if n <= 4294967286 else 17
