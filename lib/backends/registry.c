/* The process-wide backend registry and ce_backend_open/close.
 *
 * A fixed array of table copies behind one mutex; the built-in backends are
 * registered once, lazily, by whichever call comes first (call_once). Entries
 * are never removed, so a name pointer handed out stays valid. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "ce_config.h"
#include "backends/backend_internal.h"
#include "core/error.h"
#if CE_HAVE_BLIS
#include "backends/blis/blis_backend.h"
#endif

static once_flag registry_once = ONCE_FLAG_INIT;
static mtx_t registry_lock;
static bool registry_lock_ok;
static ce_backend_ops registry[CE_BACKEND_REGISTRY_CAPACITY];
static size_t registry_count;

static void registry_init(void)
{
    /* Without a mutex nothing can be registered later, so the built-ins below
     * are all there is and reading them unlocked is safe. */
    registry_lock_ok = mtx_init(&registry_lock, mtx_plain) == thrd_success;
    registry[registry_count++] = *ce_backend_ref_ops();
#if CE_HAVE_BLIS
    registry[registry_count++] = *ce_backend_blis_ops();
#endif
}

static void registry_enter(void)
{
    call_once(&registry_once, registry_init);
    if (registry_lock_ok)
        mtx_lock(&registry_lock);
}

static void registry_leave(void)
{
    if (registry_lock_ok)
        mtx_unlock(&registry_lock);
}

/* Index of @p name, or registry_count. Call with the lock held. */
static size_t registry_find(const char *name)
{
    size_t i = 0;
    while (i < registry_count && strcmp(registry[i].name, name) != 0)
        i++;
    return i;
}

/* Index of the highest priority, the first registered among equals. */
static size_t registry_best(void)
{
    size_t best = 0;
    for (size_t i = 1; i < registry_count; i++)
        if (registry[i].priority > registry[best].priority)
            best = i;
    return best;
}

/* Copy the caller's table into @p out (zero-padded), refusing what we cannot use. */
static ce_status copy_table(const ce_backend_ops *ops, ce_backend_ops *out)
{
    if (!ops)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_backend_register: ops is NULL");
    if (ops->abi_version == 0 || ops->abi_version > CE_BACKEND_ABI_VERSION)
        return ce_error(CE_ERR_BACKEND,
                        "ce_backend_register: table has abi_version %u, this library knows 1..%d",
                        (unsigned)ops->abi_version, CE_BACKEND_ABI_VERSION);
    if (ops->struct_size < CE_BACKEND_OPS_V1_SIZE)
        return ce_error(CE_ERR_BACKEND,
                        "ce_backend_register: struct_size %u is smaller than the version 1 "
                        "table (%zu bytes)",
                        (unsigned)ops->struct_size, (size_t)CE_BACKEND_OPS_V1_SIZE);
    size_t n = ops->struct_size < sizeof *out ? ops->struct_size : sizeof *out;
    memset(out, 0, sizeof *out);
    memcpy(out, ops, n);
    out->struct_size = sizeof *out;
    if (!out->name || !out->name[0] || strcmp(out->name, "auto") == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_backend_register: the name must be non-empty and not \"auto\"");
    if (!out->create || !out->destroy)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_backend_register: backend \"%s\" lacks create or destroy", out->name);
    return CE_OK;
}

ce_status ce_backend_register(const ce_backend_ops *ops)
{
    ce_backend_ops copy;
    ce_status st = copy_table(ops, &copy);
    if (st != CE_OK)
        return st;
    registry_enter();
    if (!registry_lock_ok)
        st = ce_error(CE_ERR_BACKEND, "ce_backend_register: the registry has no mutex");
    else if (registry_find(copy.name) < registry_count)
        st = ce_error(CE_ERR_STATE,
                      "ce_backend_register: a backend named \"%s\" is already registered",
                      copy.name);
    else if (registry_count == CE_BACKEND_REGISTRY_CAPACITY)
        st = ce_error(CE_ERR_STATE, "ce_backend_register: the registry is full (%d backends)",
                      CE_BACKEND_REGISTRY_CAPACITY);
    else
        registry[registry_count++] = copy;
    registry_leave();
    return st;
}

size_t ce_backend_count(void)
{
    registry_enter();
    size_t n = registry_count;
    registry_leave();
    return n;
}

const char *ce_backend_name(size_t index)
{
    registry_enter();
    const char *name = index < registry_count ? registry[index].name : NULL;
    registry_leave();
    return name;
}

/* Look up @p name (NULL/"auto": the best) and copy its table; false if unknown. */
static bool registry_lookup(const char *name, ce_backend_ops *out)
{
    registry_enter();
    size_t i = (!name || strcmp(name, "auto") == 0) ? registry_best() : registry_find(name);
    bool found = i < registry_count;
    if (found)
        *out = registry[i];
    registry_leave();
    return found;
}

static ce_status not_found(const char *name)
{
    char list[256] = "";
    size_t used = 0;
    registry_enter();
    for (size_t i = 0; i < registry_count && used < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", registry[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    registry_leave();
    return ce_error(CE_ERR_NOT_FOUND, "unknown backend \"%s\" (available: %s, auto)", name, list);
}

/* Kernels the backend left NULL come from the reference table. */
static void fill_from_ref(ce_backend_ops *ops)
{
    const ce_backend_ops *ref = ce_backend_ref_ops();
    if (!ops->gemm) ops->gemm = ref->gemm;
    if (!ops->layer_norm) ops->layer_norm = ref->layer_norm;
    if (!ops->softmax) ops->softmax = ref->softmax;
    if (!ops->gelu_erf) ops->gelu_erf = ref->gelu_erf;
    if (!ops->gelu_tanh) ops->gelu_tanh = ref->gelu_tanh;
    if (!ops->add) ops->add = ref->add;
    if (!ops->scale) ops->scale = ref->scale;
    if (!ops->relu) ops->relu = ref->relu;
    if (!ops->sigmoid) ops->sigmoid = ref->sigmoid;
    if (!ops->tanh) ops->tanh = ref->tanh;
    if (!ops->lstm_cell) ops->lstm_cell = ref->lstm_cell;
}

static ce_status create_failed(const ce_backend_ops *ops, ce_status st, int n_threads)
{
    if (st <= CE_OK || st > CE_ERR_STATE)
        st = CE_ERR_BACKEND; /* not a status this library knows */
    if (!ce_last_error()[0])
        return ce_error(st, "backend \"%s\": create failed with %d threads", ops->name, n_threads);
    return ce_error_prefix(st, "backend \"%s\": ", ops->name);
}

ce_status ce_backend_open(const char *name, int n_threads, ce_backend **out)
{
    if (!out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_backend_open: out is NULL");
    if (n_threads < 1)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_backend_open: n_threads is %d, expected >= 1",
                        n_threads);
    ce_backend *b = calloc(1, sizeof *b);
    if (!b)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_backend_open: out of memory");
    if (!registry_lookup(name, &b->ops)) {
        free(b);
        return not_found(name);
    }
    fill_from_ref(&b->ops);
    b->n_threads = n_threads;
    /* Cleared so that a create failing without a message can be told apart;
     * restored on success, which must not change ce_last_error(). */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", ce_last_error());
    ce_error_clear();
    ce_status st = b->ops.create(n_threads, &b->ctx);
    if (st != CE_OK) {
        st = create_failed(&b->ops, st, n_threads);
        free(b);
        return st;
    }
    ce_error(CE_OK, "%s", saved);
    *out = b;
    return CE_OK;
}

void ce_backend_close(ce_backend *b)
{
    if (!b)
        return;
    b->ops.destroy(b->ctx);
    free(b);
}
