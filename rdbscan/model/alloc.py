"""Allocator size classes: what the server's allocator hands out for a request of n bytes.

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
