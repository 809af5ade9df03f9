/* Internal: an opened compute backend, as the architectures use it.
 *
 * ce_backend_open() looks a backend up in the registry (registry.c), copies
 * its table, fills every NULL kernel slot with the reference kernel and
 * creates the backend's per-session context. Callers then call the kernels
 * directly: b->ops.gemm(b->ctx, ...). The reference kernels ignore ctx, so
 * they can stand in for any backend's missing slot. */
#ifndef CE_BACKENDS_BACKEND_INTERNAL_H
#define CE_BACKENDS_BACKEND_INTERNAL_H

#include <stddef.h>

#include "contextembed/backend.h"

/* Size of the version-1 table: a registered table must be at least this big. */
#define CE_BACKEND_OPS_V1_SIZE \
    (offsetof(ce_backend_ops, lstm_cell) + sizeof(((ce_backend_ops *)0)->lstm_cell))

/* How many backends (built-in ones included) the registry holds at most. */
#define CE_BACKEND_REGISTRY_CAPACITY 32

typedef struct ce_backend {
    ce_backend_ops ops; /* every slot filled: the backend's own, else the reference kernels */
    void *ctx;          /* from ops.create */
    int n_threads;
} ce_backend;

/* Open backend @p name ("ref", "blis", a registered one) with @p n_threads >= 1.
 * NULL or "auto" picks the registered backend with the highest priority (the
 * first registered among equals). Unknown name: CE_ERR_NOT_FOUND, the message
 * lists the available names. On success *out is the caller's, closed with
 * ce_backend_close(); on failure *out is untouched. */
ce_status ce_backend_open(const char *name, int n_threads, ce_backend **out);

/* Destroy the context and free. NULL-safe. */
void ce_backend_close(ce_backend *b);

/* The reference table: every slot filled, static lifetime. */
const ce_backend_ops *ce_backend_ref_ops(void);

#endif
