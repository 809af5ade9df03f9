/* The process-wide backend registry and ce_backend_open/close.
 *
 * A fixed array of table copies behind one mutex; the built-in backends are
 * registered once, lazily, by whichever call comes first (call_once). Entries
 * are never removed, so a name pointer handed out stays valid. */
#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
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
#if CE_HAVE_BLIS || CE_HAVE_ONEDNN
#include "backends/cpu/cpu_parallel.h"
#endif
#if CE_HAVE_ONEDNN
#include "backends/onednn/onednn_backend.h"
#endif

/* Version 1's layout is frozen: backends built against it are copied by size. */
#if UINTPTR_MAX == 0xffffffffffffffffu
static_assert(offsetof(ce_backend_ops, name) == 8, "v1 layout");
static_assert(offsetof(ce_backend_ops, create) == 24, "v1 layout");
static_assert(offsetof(ce_backend_ops, gemm) == 40, "v1 layout");
static_assert(offsetof(ce_backend_ops, lstm_cell) == 120, "v1 layout");
static_assert(CE_BACKEND_OPS_V1_SIZE == 128, "v1 layout");
static_assert(offsetof(ce_backend_ops, user_data) == 128, "v2 appends after v1");
#endif
static_assert(offsetof(ce_backend_ops, user_data) >= CE_BACKEND_OPS_V1_SIZE, "v2 appends");

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
#if CE_HAVE_ONEDNN
    registry[registry_count++] = *ce_backend_onednn_ops();
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
    size_t need = ops->abi_version >= 2 ? CE_BACKEND_OPS_V2_SIZE : CE_BACKEND_OPS_V1_SIZE;
    if (ops->struct_size < need)
        return ce_error(CE_ERR_BACKEND,
                        "ce_backend_register: struct_size %u is smaller than the version %u "
                        "table (%zu bytes)",
                        (unsigned)ops->struct_size, (unsigned)ops->abi_version, need);
    /* A version-1 table's struct_size may cover bytes it never meant as v2 slots. */
    size_t n = ops->abi_version >= 2 ? ops->struct_size : CE_BACKEND_OPS_V1_SIZE;
    if (n > sizeof *out)
        n = sizeof *out;
    memset(out, 0, sizeof *out);
    memcpy(out, ops, n);
    out->struct_size = sizeof *out;
    if (!out->name || !out->name[0] || strcmp(out->name, "auto") == 0)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_backend_register: the name must be non-empty and not \"auto\"");
    if ((!out->create && !out->session_create) || !out->destroy)
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_backend_register: backend \"%s\" lacks create or destroy", out->name);
    if (out->linear_prepare && (!out->linear || !out->linear_release))
        return ce_error(CE_ERR_INVALID_ARGUMENT,
                        "ce_backend_register: backend \"%s\" has linear_prepare but not linear "
                        "and linear_release", out->name);
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

size_t ce_backend_ranked(const char **names, size_t cap)
{
    registry_enter();
    size_t n = 0;
    bool used[CE_BACKEND_REGISTRY_CAPACITY] = {false};
    while (n < cap && n < registry_count) {
        size_t best = registry_count;
        for (size_t i = 0; i < registry_count; i++)
            if (!used[i] && (best == registry_count || registry[i].priority > registry[best].priority))
                best = i;
        used[best] = true;
        names[n++] = registry[best].name;
    }
    registry_leave();
    return n;
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
#define FILL(slot) if (!ops->slot) ops->slot = ref->slot
    FILL(gemm);
    FILL(layer_norm);
    FILL(softmax);
    FILL(gelu_erf);
    FILL(gelu_tanh);
    FILL(add);
    FILL(scale);
    FILL(relu);
    FILL(sigmoid);
    FILL(tanh);
    FILL(lstm_cell);
    FILL(attention);
    FILL(max_rows);
    FILL(gate_mix);
    FILL(clip);
#undef FILL
}

void ce_backend_call_begin(ce_backend_call *call)
{
    snprintf(call->saved, sizeof call->saved, "%s", ce_last_error());
    ce_error_clear();
}

ce_status ce_backend_call_end(ce_backend_call *call, ce_status st, const char *context,
                              const char *what_failed)
{
    if (st == CE_OK)
        return ce_error(CE_OK, "%s", call->saved);
    if (st < CE_OK || st > CE_ERR_STATE)
        st = CE_ERR_BACKEND; /* not a status this library knows */
    if (ce_last_error()[0])
        return ce_error_prefix(st, "%s: ", context);
    return ce_error(st, "%s%s%s", context, what_failed ? ": " : "", what_failed ? what_failed : "");
}

/* The end of a backend's create or model_create call. */
static ce_status create_end(ce_backend_call *call, ce_status st, const ce_backend_ops *ops,
                            const char *what, int n_threads)
{
    char context[128], failed[96];
    snprintf(context, sizeof context, "backend \"%s\"", ops->name);
    snprintf(failed, sizeof failed, "%s failed with %d threads", what, n_threads);
    return ce_backend_call_end(call, st, context, failed);
}

/* Backend objects (model states and session contexts) open or being opened.
 * When the last one is closed, the OpenMP worker threads that the calling
 * thread's computations started (the built-in backends' kernels, BLIS and
 * oneDNN all run there) are ended: nothing of the library keeps a thread once
 * every model and session is freed. Other host threads' pools end with those
 * threads. */
static atomic_long objects_open;

static void object_enter(void)
{
    atomic_fetch_add(&objects_open, 1);
}

static void object_leave(void)
{
    if (atomic_fetch_sub(&objects_open, 1) == 1) {
#if CE_HAVE_BLIS || CE_HAVE_ONEDNN
        ce_cpu_pool_release();
#endif
    }
}

/* Find and fill the table of @p name; check the thread count. */
static ce_status lookup_filled(const char *name, int n_threads, ce_backend_ops *ops)
{
    if (n_threads < 1)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_backend_open: n_threads is %d, expected >= 1",
                        n_threads);
    if (!registry_lookup(name, ops))
        return not_found(name);
    fill_from_ref(ops);
    return CE_OK;
}

uint32_t ce_backend_prepared_precisions(const ce_backend_ops *ops)
{
    if (!ops->linear_prepare)
        return 0;
    return ops->precisions ? ops->precisions : CE_PRECISION_BIT(CE_PRECISION_F32);
}

int ce_backend_runs_precision(const ce_backend_ops *ops, ce_precision precision)
{
    return precision == CE_PRECISION_F32 ||
           (ce_backend_prepared_precisions(ops) & CE_PRECISION_BIT(precision)) != 0;
}

static ce_status precision_refused(const ce_backend_ops *ops, ce_precision precision)
{
    char runs[64] = "f32";
    size_t used = 3;
    uint32_t bits = ce_backend_prepared_precisions(ops);
    for (int p = CE_PRECISION_BF16; p <= CE_PRECISION_INT8; p++)
        if (bits & CE_PRECISION_BIT(p)) {
            int w = snprintf(runs + used, sizeof runs - used, ", %s",
                             ce_precision_name((ce_precision)p));
            used += w > 0 && (size_t)w < sizeof runs - used ? (size_t)w : 0;
        }
    const char *name = ce_precision_name(precision);
    return ce_error(CE_ERR_UNSUPPORTED,
                    "backend \"%s\" cannot run precision \"%s\" (it runs: %s)%s", ops->name,
                    name ? name : "?", runs,
                    ops->linear_prepare ? "" : "; it does not prepare weights");
}

ce_status ce_backend_model_open(const char *name, int n_threads, ce_backend_model **out)
{
    return ce_backend_model_open_at(name, n_threads, CE_PRECISION_F32, out);
}

ce_status ce_backend_model_open_at(const char *name, int n_threads, ce_precision precision,
                                   ce_backend_model **out)
{
    ce_backend_model *bm = calloc(1, sizeof *bm);
    if (!bm)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_backend_model_open: out of memory");
    object_enter();
    ce_status st = lookup_filled(name, n_threads, &bm->ops);
    if (st == CE_OK && !ce_backend_runs_precision(&bm->ops, precision))
        st = precision_refused(&bm->ops, precision);
    if (st == CE_OK && bm->ops.model_create) {
        ce_backend_call call;
        ce_backend_call_begin(&call);
        st = bm->ops.model_create(bm->ops.user_data, n_threads, &bm->state);
        st = create_end(&call, st, &bm->ops, "model_create", n_threads);
    }
#if CE_HAVE_ONEDNN
    if (st == CE_OK && bm->ops.model_create == ce_dnnl_model_create)
        ce_dnnl_model_set_precision(bm->state, precision);
#endif
    if (st != CE_OK) {
        free(bm);
        object_leave();
        return st;
    }
    bm->n_threads = n_threads;
    bm->precision = precision;
    bm->prepares = (ce_backend_prepared_precisions(&bm->ops) & CE_PRECISION_BIT(precision)) != 0;
    *out = bm;
    return CE_OK;
}

void ce_backend_model_close(ce_backend_model *bm)
{
    if (!bm)
        return;
    if (bm->ops.model_destroy)
        bm->ops.model_destroy(bm->state);
    free(bm);
    object_leave();
}

ce_status ce_backend_open(const char *name, int n_threads, const ce_backend_model *model,
                          ce_backend **out)
{
    if (!out)
        return ce_error(CE_ERR_INVALID_ARGUMENT, "ce_backend_open: out is NULL");
    ce_backend *b = calloc(1, sizeof *b);
    if (!b)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "ce_backend_open: out of memory");
    object_enter();
    ce_status st = lookup_filled(name, n_threads, &b->ops);
    if (st != CE_OK) {
        free(b);
        object_leave();
        return st;
    }
    if (model && strcmp(model->ops.name, b->ops.name) != 0)
        model = NULL; /* another backend's prepared weights mean nothing here */
    b->model = model;
#if CE_HAVE_ONEDNN
    if (model && b->ops.session_create == ce_dnnl_session_create)
        b->ext = *ce_backend_onednn_ext();
#endif
    b->n_threads = b->active_threads = n_threads;
    ce_backend_call call;
    ce_backend_call_begin(&call);
    st = b->ops.session_create ? b->ops.session_create(b->ops.user_data,
                                                       model ? model->state : NULL, n_threads,
                                                       &b->ctx)
                               : b->ops.create(n_threads, &b->ctx);
    st = create_end(&call, st, &b->ops, "create", n_threads);
    if (st != CE_OK) {
        free(b);
        object_leave();
        return st;
    }
    *out = b;
    return CE_OK;
}

void ce_backend_close(ce_backend *b)
{
    if (!b)
        return;
    b->ops.destroy(b->ctx);
    free(b);
    object_leave();
}

void ce_backend_set_threads(ce_backend *b, int n)
{
    if (n < 1)
        n = 1;
    if (n > b->n_threads)
        n = b->n_threads;
    if (n == b->active_threads)
        return;
    b->active_threads = n;
    if (b->ops.set_threads)
        b->ops.set_threads(b->ctx, n);
}
