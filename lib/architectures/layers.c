/* Linear layers (prepared by the model's backend, or GEMM on the raw weights),
 * activations and attention on top of the backend kernels. */
#include "architectures/layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int ce_activation_from_name(const char *name)
{
    if (!name)
        return -1;
    if (!strcmp(name, "gelu"))
        return CE_ACT_GELU_ERF;
    if (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh") || !strcmp(name, "gelu_fast"))
        return CE_ACT_GELU_TANH;
    if (!strcmp(name, "relu"))
        return CE_ACT_RELU;
    return -1;
}

void ce_activate(ce_backend *be, ce_activation act, size_t n, float *x)
{
    switch (act) {
    case CE_ACT_GELU_ERF: be->ops.gelu_erf(be->ctx, n, x); break;
    case CE_ACT_GELU_TANH: be->ops.gelu_tanh(be->ctx, n, x); break;
    case CE_ACT_RELU: be->ops.relu(be->ctx, n, x); break;
    case CE_ACT_SIGMOID: be->ops.sigmoid(be->ctx, n, x); break;
    case CE_ACT_TANH: be->ops.tanh(be->ctx, n, x); break;
    case CE_ACT_NONE: break;
    }
}

static ce_backend_activation backend_act(ce_activation act)
{
    switch (act) {
    case CE_ACT_GELU_ERF: return CE_BACKEND_ACT_GELU_ERF;
    case CE_ACT_GELU_TANH: return CE_BACKEND_ACT_GELU_TANH;
    case CE_ACT_RELU: return CE_BACKEND_ACT_RELU;
    case CE_ACT_SIGMOID: return CE_BACKEND_ACT_SIGMOID;
    case CE_ACT_TANH: return CE_BACKEND_ACT_TANH;
    case CE_ACT_NONE: break;
    }
    return CE_BACKEND_ACT_NONE;
}

void ce_lin_setup(ce_lin_list *list, ce_lin *lin, size_t in, size_t out, ce_transpose layout,
                  ce_activation act, const char *name)
{
    lin->in = in;
    lin->out = out;
    lin->ld = layout == CE_TRANS ? in : out;
    lin->layout = layout;
    lin->act = act;
    lin->prepared = NULL;
    lin->src = NULL;
    lin->w_shared = 0;
    snprintf(lin->name, sizeof lin->name, "%s", name);
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 32;
        ce_lin **items = realloc(list->items, cap * sizeof *items);
        if (!items) {
            list->failed = 1;
            return;
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = lin;
}

void ce_lin_list_free(ce_lin_list *list)
{
    free(list->items);
    memset(list, 0, sizeof *list);
}

void ce_lins_release(ce_lin_list *list, const ce_backend_model *bm)
{
    if (!list || !bm || !bm->prepares)
        return;
    for (size_t i = 0; i < list->n; i++)
        if (list->items[i]->prepared) {
            bm->ops.linear_release(bm->state, list->items[i]->prepared);
            list->items[i]->prepared = NULL;
        }
}

static ce_status prepare_one(ce_lin *lin, const ce_backend_model *bm)
{
    if (!lin->w) /* freed after an earlier backend prepared it below f32, then failed: a
                    deferred weight is converted again (convert_now), one converted when the
                    model was bound (ELMo's) is not */
        return ce_error(CE_ERR_OUT_OF_MEMORY,
                        "backend \"%s\": cannot prepare tensor '%s': its float32 copy was freed "
                        "when another backend failed to prepare the model; open it again",
                        bm->ops.name, lin->name);
    ce_linear_desc d = {sizeof d,    lin->in, lin->out,              lin->w,    lin->ld,
                        lin->layout, lin->b,  backend_act(lin->act), lin->name, bm->precision};
    void *prepared = NULL;
    ce_backend_call call;
    ce_backend_call_begin(&call);
    ce_status st = bm->ops.linear_prepare(bm->state, &d, &prepared);
    if (st == CE_OK && !prepared)
        st = ce_error(CE_ERR_BACKEND, "linear_prepare returned no prepared weight");
    char context[256];
    snprintf(context, sizeof context, "backend \"%s\": cannot prepare tensor '%s' [%zu x %zu]",
             bm->ops.name, lin->name, lin->out, lin->in);
    st = ce_backend_call_end(&call, st, context, NULL);
    if (st == CE_OK)
        lin->prepared = prepared;
    return st;
}

static size_t lin_bytes(const ce_lin *lin)
{
    return lin->in * lin->out * sizeof(float);
}

/* Largest first: while a weight is prepared, its original and its copy are
 * both resident; with the largest (GPT-2's 154 MB head) done before the
 * others, that moment never comes on top of all the other copies. */
static int by_size_desc(const void *a, const void *b)
{
    size_t x = lin_bytes(*(ce_lin *const *)a), y = lin_bytes(*(ce_lin *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* A weight whose conversion was deferred, converted now (and again after a
 * backend that failed freed it). */
static ce_status convert_now(ce_lin *lin, ce_weights *w)
{
    if (lin->w || !lin->src)
        return CE_OK;
    return ce_weights_f32_of(w, lin->src, &lin->w);
}

ce_status ce_lins_prepare(ce_lin_list *list, const ce_backend_model *bm, ce_weights *w)
{
    if (list->failed)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory listing linear layers");
    if (!bm || !bm->prepares) { /* the raw weights are what sessions multiply */
        ce_status st = CE_OK;
        for (size_t i = 0; i < list->n && st == CE_OK; i++)
            st = convert_now(list->items[i], w);
        return st;
    }
    if (list->n == 0)
        return CE_OK;
    ce_lin **order = malloc(list->n * sizeof *order);
    if (!order)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory preparing weights");
    memcpy(order, list->items, list->n * sizeof *order);
    qsort(order, list->n, sizeof *order, by_size_desc);
    ce_status st = CE_OK;
    for (size_t i = 0; i < list->n && st == CE_OK; i++) {
        ce_lin *lin = order[i];
        st = convert_now(lin, w);
        if (st == CE_OK)
            st = prepare_one(lin, bm);
        if (st != CE_OK)
            break;
        /* At once, so that the original and the prepared copy of only one
         * tensor are resident together. A tensor listed twice (GPT-2's tied
         * head is wte) is simply read back from the file. */
        size_t rows = lin->layout == CE_TRANS ? lin->out : lin->in;
        size_t cols = lin->layout == CE_TRANS ? lin->in : lin->out;
        size_t bytes = ((rows - 1) * lin->ld + cols) * sizeof(float);
        ce_weights_drop_resident(w, lin->w, bytes);
        /* Below f32 no session reads the raw weights (sessions on another
         * backend are refused): a float32 copy converted from the file would
         * only add to what the prepared weights save. At once, so that the
         * copies go as the prepared weights come. */
        if (bm->precision != CE_PRECISION_F32 && !lin->w_shared &&
            ce_weights_release_converted(w, lin->w, bytes))
            lin->w = NULL;
    }
    free(order);
    if (st != CE_OK)
        ce_lins_release(list, bm);
    return st;
}

void ce_lin_apply(ce_backend *be, const ce_lin *lin, size_t rows, const float *x, size_t ldx,
                  float beta, float *y, size_t ldy)
{
    if (rows == 0)
        return;
    if (be->model && lin->prepared) { /* the session's backend is the model's */
        be->ops.linear(be->ctx, lin->prepared, rows, x, ldx, beta, y, ldy);
        return;
    }
    be->ops.gemm(be->ctx, CE_NO_TRANS, lin->layout, rows, lin->out, lin->in, 1.0f, x, ldx, lin->w,
                 lin->ld, beta, y, ldy, lin->b);
    if (lin->act == CE_ACT_NONE)
        return;
    if (ldy == lin->out)
        ce_activate(be, lin->act, rows * lin->out, y);
    else
        for (size_t r = 0; r < rows; r++)
            ce_activate(be, lin->act, lin->out, y + r * ldy);
}

#define SAME_X_MAX 8 /* products ce_lins_apply_same_x hands the backend at once */

/* The products' prepared weights, when the session's backend has them all. */
static int all_prepared(const ce_backend *be, size_t n, const ce_lin *const *lins,
                        const void **w)
{
    if (!be->model || n > SAME_X_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(w[i] = lins[i]->prepared))
            return 0;
    return 1;
}

void ce_lins_apply_same_x(ce_backend *be, size_t n, const ce_lin *const *lins, size_t rows,
                          const float *x, size_t ldx, float *const *y, const size_t *ldy)
{
    const void *w[SAME_X_MAX] = {NULL};
    if (rows && be->ext.linear_same_x && all_prepared(be, n, lins, w) &&
        be->ext.linear_same_x(be->ctx, n, w, rows, x, ldx, y, ldy))
        return;
    for (size_t i = 0; i < n; i++)
        ce_lin_apply(be, lins[i], rows, x, ldx, 0.0f, y[i], ldy[i]);
}

void ce_attention(ce_backend *be, const ce_attn_args *a)
{
    be->ops.attention(be->ctx, a->heads, a->hd, a->tq, a->tk, a->q, a->ldq, a->k, a->ldk, a->v,
                      a->ldv, a->scale, a->causal, a->q_offset, a->ctx, a->ldc);
}
