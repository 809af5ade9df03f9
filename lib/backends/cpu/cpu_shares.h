/* Internal: a kernel's items shared out between threads that may not run at
 * the same speed.
 *
 * Split evenly ahead of time, a product waits for its slowest thread, and on
 * a shared machine one core is often slower than another for a while (the
 * development VM: one thread 10-35 % behind the other over hundreds of
 * calls). Here each thread owns an even, contiguous share of [0, n) and takes
 * it from the front a chunk at a time, so its own work stays in order (what
 * it prefetches is what it runs next); a thread done with its share then
 * takes chunks from the back of the others'. Claims are compare-and-swap on
 * one word per share, so every item runs exactly once. */
#ifndef CE_BACKENDS_CPU_CPU_SHARES_H
#define CE_BACKENDS_CPU_CPU_SHARES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/cpu/cpu_kernels.h"

typedef struct ce_cpu_shares {
    _Atomic uint64_t range[CE_CPU_MAX_THREADS]; /* share t's items left: begin << 32 | end */
    size_t parts, chunk;
} ce_cpu_shares;

/* [0, n) in @p parts shares (1 to CE_CPU_MAX_THREADS) starting on multiples
 * of @p align, taken @p chunk items at a time (rounded up to a multiple of
 * align). Returns 0 when n does not fit the 32 bits a bound takes. */
int ce_cpu_shares_init(ce_cpu_shares *s, size_t n, size_t parts, size_t chunk, size_t align);

/* The next chunk of share @p t, from its front: 1 with [*begin, *end) and,
 * in *limit, where the share ends now (others may take chunks back from
 * there); 0 when none is left. */
int ce_cpu_shares_next(ce_cpu_shares *s, size_t t, size_t *begin, size_t *end, size_t *limit);

/* A chunk taken from the back of another share (the next one after @p t
 * with items left): 1 with [*begin, *end); 0 when every share is done. */
int ce_cpu_shares_steal(ce_cpu_shares *s, size_t t, size_t *begin, size_t *end);

#endif
