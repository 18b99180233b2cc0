# Shared by the compiled scanner and the compiled model (included, not imported,
# so both keep these inline).  The allocator code q16 is 0 (jemalloc, 8-byte
# quantum), 1 (jemalloc, 16-byte quantum) or 2 (glibc malloc): rdbscan.model.alloc.

cdef extern from *:
    int __builtin_clzll(unsigned long long) nogil


cdef inline int64_t libc_size(int64_t n) noexcept nogil:
    # glibc malloc_usable_size: request + 8-byte size field rounded to 16
    # (at least 32), minus the size field; mmapped chunks from 128 KiB:
    # whole pages minus a 16-byte header.
    cdef int64_t chunk = (n + 8 + 15) & ~(<int64_t>15)
    if chunk < 32:
        chunk = 32
    if chunk >= 131072:
        return ((chunk + 8 + 4095) & ~(<int64_t>4095)) - 16
    return chunk - 8


cdef inline int64_t jemalloc_size(int64_t n, int q16=0) noexcept nogil:
    # Usable size of an allocation of n bytes.  With the 8-byte quantum
    # Redis bundles: multiples of 8 up to 64, then four classes per power
    # of two; with the 16-byte quantum of distribution builds: multiples of
    # 16 up to 128, then the same; q16 == 2: glibc malloc.
    cdef int64_t delta
    cdef int lg
    if q16 == 2:
        return libc_size(n)
    if n <= 8:
        return 8
    if q16:
        if n <= 128:
            return (n + 15) & ~15
    elif n <= 64:
        return (n + 7) & ~7
    lg = 63 - __builtin_clzll(<unsigned long long>(n - 1))
    delta = (<int64_t>1) << (lg - 2)
    return (n + delta - 1) & ~(delta - 1)


cdef inline int64_t valkey_sds_header(int64_t n) noexcept nogil:
    # Header bytes of an sds of n bytes by Valkey's sdsReqType (type 5 below
    # 32 bytes, even when empty; type 8 up to 252; 16 up to 65529; then 32).
    if n < 32:
        return 1
    if n <= 252:
        return 3
    if n <= 65529:
        return 5
    return 9 if n <= 4294967286LL else 17
