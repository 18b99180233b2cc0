"""Allocator size classes (what the server's allocator hands out for a request of n bytes)
and the sds header sizes that go into those requests.

The compiled twin is ``_alloc.pxi``, included by the compiled scanner and model.
"""


def jemalloc_size(n, quantum16=False):
    """Usable size of a jemalloc allocation of ``n`` bytes (8- or 16-byte quantum).

    With the 8-byte quantum Redis bundles: multiples of 8 up to 64, then
    four classes per power of two; with the 16-byte quantum of distribution
    builds: multiples of 16 up to 128, then the same.
    """
    if n <= 8:
        return 8
    if quantum16:
        if n <= 128:
            return (n + 15) & ~15
    elif n <= 64:
        return (n + 7) & ~7
    delta = 1 << ((n - 1).bit_length() - 1 - 2)
    return (n + delta - 1) & ~(delta - 1)


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
