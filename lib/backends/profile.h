/* Internal: where a session's time goes, slot by slot (contextembed bench --profile).
 *
 * ce_backend_profile_start() puts a timing layer between the architectures and
 * a session's backend: every kernel slot is replaced by one that calls the
 * backend's own and adds the elapsed time to a table; the backend's context
 * moves inside the layer, so ce_backend_close() still frees both. Timing costs
 * two clock reads per kernel call. Not thread-safe (a session is used by one
 * thread at a time). */
#ifndef CE_BACKENDS_PROFILE_H
#define CE_BACKENDS_PROFILE_H

#include "backends/backend_internal.h"

#define CE_PROFILE_MAX 1024

typedef struct ce_profile_entry {
    const char *slot;    /* "linear", "attention", "layer_norm", ... */
    const void *key;     /* linear: the prepared weight; gemm: NULL */
    size_t n, k;         /* gemm: the product's n and k (per shape); linear_same_x: n weights */
    double seconds;
    unsigned long calls;
} ce_profile_entry;

/* Start timing @p b's kernels (time accumulates from zero). */
ce_status ce_backend_profile_start(ce_backend *b);

/* The entries so far (count returned, at most CE_PROFILE_MAX), and zero them.
 * NULL when @p b is not being profiled. */
const ce_profile_entry *ce_backend_profile_take(ce_backend *b, size_t *count);

#endif
