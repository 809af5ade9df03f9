/* Even shares of a kernel's items that idle threads take chunks from
 * (cpu_shares.h). */
#include "backends/cpu/cpu_shares.h"

static uint64_t pack(size_t begin, size_t end)
{
    return (uint64_t)begin << 32 | (uint64_t)end;
}

int ce_cpu_shares_init(ce_cpu_shares *s, size_t n, size_t parts, size_t chunk, size_t align)
{
    if (n > UINT32_MAX || parts == 0 || parts > CE_CPU_MAX_THREADS)
        return 0;
    align = align ? align : 1;
    size_t per = (n + parts - 1) / parts;
    per = (per + align - 1) / align * align;
    s->parts = parts;
    s->chunk = ((chunk ? chunk : 1) + align - 1) / align * align;
    for (size_t t = 0; t < parts; t++) {
        size_t begin = t * per < n ? t * per : n, end = begin + per < n ? begin + per : n;
        atomic_init(&s->range[t], pack(begin, end));
    }
    return 1;
}

int ce_cpu_shares_next(ce_cpu_shares *s, size_t t, size_t *begin, size_t *end, size_t *limit)
{
    uint64_t v = atomic_load(&s->range[t]);
    for (;;) {
        size_t lo = (size_t)(v >> 32), hi = (size_t)(v & UINT32_MAX);
        if (lo >= hi)
            return 0;
        size_t to = hi - lo > s->chunk ? lo + s->chunk : hi;
        if (atomic_compare_exchange_weak(&s->range[t], &v, pack(to, hi))) {
            *begin = lo, *end = to, *limit = hi;
            return 1;
        }
    }
}

/* The last chunk of share o, cut where its owner's chunks would start (the
 * owner's begin stays on the chunk grid), or all of it when that is less. */
static int take_back(ce_cpu_shares *s, size_t o, size_t *begin, size_t *end)
{
    uint64_t v = atomic_load(&s->range[o]);
    for (;;) {
        size_t lo = (size_t)(v >> 32), hi = (size_t)(v & UINT32_MAX);
        if (lo >= hi)
            return 0;
        size_t from = hi - lo > s->chunk ? lo + (hi - lo - 1) / s->chunk * s->chunk : lo;
        if (atomic_compare_exchange_weak(&s->range[o], &v, pack(lo, from))) {
            *begin = from, *end = hi;
            return 1;
        }
    }
}

int ce_cpu_shares_steal(ce_cpu_shares *s, size_t t, size_t *begin, size_t *end)
{
    for (size_t i = 1; i < s->parts; i++)
        if (take_back(s, (t + i) % s->parts, begin, end))
            return 1;
    return 0;
}
