/* Version 2 of the backend vtable from a host's side: a registered backend
 * with per-model state and prepared weights runs BERT, GPT-2 (decoding) and
 * ELMo like "ref" does, preparing every weight once per model whatever the
 * number of sessions and releasing it all when the model is freed; a
 * backend whose prepare fails makes an explicit ce_model_open() fail with a
 * message naming it and the tensor, and is skipped by "auto"; a table built
 * against the version-1 header (test/compat/backend_v1.h) still runs; and
 * the registry refuses v2 tables that are too short or incomplete.
 *
 * Backends registered here stay for the life of the process: every test
 * registers its own names (tolerating CE_ERR_STATE so that the suite also
 * runs with CK_FORK=no), and the one outranking the built-ins runs last. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contextembed/contextembed.h"
#include "api/model_internal.h"
#include "backends/backend_internal.h"
#include "compat/backend_v1.h"
#include "test-util.h"

#define TOL 1e-4

/* ---- a host backend: weights copied into its own [out, in] layout ---- */

#define MAGIC_STATS 0x53544154u
#define MAGIC_MODEL 0x4d4f444cu
#define MAGIC_CTX 0x43545854u
#define MAGIC_WEIGHT 0x57454954u

typedef struct host_stats {
    uint32_t magic; /* user_data must be this */
    const char *name;
    int fail_at; /* linear_prepare call (1-based) that fails; 0: none */
    int null_at; /* linear_prepare call that succeeds with no prepared weight */
    ce_status fail_status;
    bool fail_model_create;
    int model_creates, model_destroys, session_creates, destroys;
    int prepares, releases, linear_calls, live_weights;
    int sessions_with_state, sessions_without_state;
    void *model_state;       /* the last one created */
    int live_at_destroy;     /* live weights when model_destroy ran (must be 0) */
    char failed_tensor[128]; /* the name in the desc of the failing prepare */
    char violation[256];     /* the first contract violation seen, "" if none */
} host_stats;

typedef struct host_model {
    uint32_t magic;
    host_stats *st;
} host_model;

typedef struct host_ctx {
    uint32_t magic;
    host_model *model; /* NULL when the session's model has another backend */
    host_stats *st;
} host_ctx;

typedef struct host_weight {
    uint32_t magic;
    host_model *owner;
    size_t in, out;
    ce_backend_activation act;
    float *w;    /* [out, in] */
    float *bias; /* [out] or NULL */
} host_weight;

static int bad_user_data; /* calls that did not get the table's user_data */

/* The stats behind @p user_data, or NULL (counted) when it is not ours. */
static host_stats *stats_of(void *user_data)
{
    host_stats *st = user_data;
    if (!st || st->magic != MAGIC_STATS) {
        bad_user_data++;
        return NULL;
    }
    return st;
}

static void violation(host_stats *st, const char *what)
{
    if (!st->violation[0])
        snprintf(st->violation, sizeof st->violation, "%s", what);
}

static ce_status host_model_create(void *user_data, int n_threads, void **model_state)
{
    host_stats *st = stats_of(user_data);
    if (!st)
        return CE_ERR_BACKEND;
    st->model_creates++;
    if (n_threads < 1)
        violation(st, "model_create: n_threads < 1");
    if (st->fail_model_create)
        return CE_ERR_OUT_OF_MEMORY;
    host_model *m = calloc(1, sizeof *m);
    if (!m)
        return CE_ERR_OUT_OF_MEMORY;
    m->magic = MAGIC_MODEL;
    m->st = st;
    st->model_state = m;
    *model_state = m;
    return CE_OK;
}

static void host_model_destroy(void *model_state)
{
    host_model *m = model_state;
    if (!m || m->magic != MAGIC_MODEL)
        return; /* the caller sees model_destroys not counted */
    m->st->model_destroys++;
    m->st->live_at_destroy = m->st->live_weights;
    m->magic = 0;
    free(m);
}

static ce_status host_session_create(void *user_data, void *model_state, int n_threads, void **ctx)
{
    host_stats *st = stats_of(user_data);
    if (!st)
        return CE_ERR_BACKEND;
    st->session_creates++;
    if (n_threads < 1)
        violation(st, "session_create: n_threads < 1");
    host_model *m = model_state;
    if (m && (m->magic != MAGIC_MODEL || m->st != st))
        violation(st, "session_create: model_state is not this backend's");
    if (m)
        st->sessions_with_state++;
    else
        st->sessions_without_state++;
    host_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return CE_ERR_OUT_OF_MEMORY;
    c->magic = MAGIC_CTX;
    c->model = m;
    c->st = st;
    *ctx = c;
    return CE_OK;
}

static void host_destroy(void *ctx)
{
    host_ctx *c = ctx;
    if (!c)
        return;
    c->st->destroys++;
    c->magic = 0;
    free(c);
}

static void check_desc(host_stats *st, const ce_linear_desc *d)
{
    char msg[256];
    size_t row = d->layout == CE_TRANS ? d->in : d->out;
    if (d->struct_size != sizeof(ce_linear_desc))
        snprintf(msg, sizeof msg, "desc: struct_size %u", (unsigned)d->struct_size);
    else if (d->in < 1 || d->out < 1)
        snprintf(msg, sizeof msg, "desc: in %zu out %zu", d->in, d->out);
    else if (d->layout != CE_TRANS && d->layout != CE_NO_TRANS)
        snprintf(msg, sizeof msg, "desc: layout %d", (int)d->layout);
    else if (d->ld < row)
        snprintf(msg, sizeof msg, "desc: ld %zu < row %zu", d->ld, row);
    else if (!d->weight)
        snprintf(msg, sizeof msg, "desc: no weight");
    else if (!d->name || !d->name[0])
        snprintf(msg, sizeof msg, "desc: no name");
    else if ((unsigned)d->act > CE_BACKEND_ACT_TANH)
        snprintf(msg, sizeof msg, "desc: activation %d", (int)d->act);
    else
        return;
    violation(st, msg);
}

static ce_status host_prepare(void *model_state, const ce_linear_desc *d, void **prepared)
{
    host_model *m = model_state;
    if (!m || m->magic != MAGIC_MODEL)
        return CE_ERR_STATE; /* shows up as a failed open */
    host_stats *st = m->st;
    st->prepares++;
    check_desc(st, d);
    if (st->prepares == st->fail_at) {
        snprintf(st->failed_tensor, sizeof st->failed_tensor, "%s", d->name ? d->name : "");
        return st->fail_status;
    }
    if (st->prepares == st->null_at) {
        snprintf(st->failed_tensor, sizeof st->failed_tensor, "%s", d->name ? d->name : "");
        *prepared = NULL;
        return CE_OK;
    }
    host_weight *w = calloc(1, sizeof *w);
    if (!w)
        return CE_ERR_OUT_OF_MEMORY;
    w->magic = MAGIC_WEIGHT;
    w->owner = m;
    w->in = d->in, w->out = d->out, w->act = d->act;
    w->w = malloc(d->in * d->out * sizeof *w->w);
    w->bias = d->bias ? malloc(d->out * sizeof *w->bias) : NULL;
    if (!w->w || (d->bias && !w->bias)) {
        free(w->w), free(w->bias), free(w);
        return CE_ERR_OUT_OF_MEMORY;
    }
    for (size_t j = 0; j < d->out; j++)
        for (size_t p = 0; p < d->in; p++)
            w->w[j * d->in + p] = d->layout == CE_TRANS ? d->weight[j * d->ld + p]
                                                        : d->weight[p * d->ld + j];
    if (d->bias)
        memcpy(w->bias, d->bias, d->out * sizeof *w->bias);
    st->live_weights++;
    *prepared = w;
    return CE_OK;
}

static void host_release(void *model_state, void *prepared)
{
    host_model *m = model_state;
    host_weight *w = prepared;
    if (!m || m->magic != MAGIC_MODEL || !w || w->magic != MAGIC_WEIGHT)
        return; /* not counted: the test sees releases != prepares */
    if (w->owner != m)
        violation(m->st, "linear_release: weight of another model state");
    m->st->releases++;
    m->st->live_weights--;
    w->magic = 0;
    free(w->w), free(w->bias), free(w);
}

static float activate(ce_backend_activation act, double x)
{
    switch (act) {
    case CE_BACKEND_ACT_NONE: break;
    case CE_BACKEND_ACT_GELU_ERF: return (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0))));
    case CE_BACKEND_ACT_GELU_TANH:
        return (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    case CE_BACKEND_ACT_RELU: return x < 0.0 ? 0.0f : (float)x;
    case CE_BACKEND_ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-x)));
    case CE_BACKEND_ACT_TANH: return (float)tanh(x);
    }
    return (float)x;
}

static void host_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy)
{
    host_ctx *c = ctx;
    const host_weight *w = prepared;
    if (!c || c->magic != MAGIC_CTX || !w || w->magic != MAGIC_WEIGHT)
        abort(); /* nothing sensible to compute: fail loudly */
    c->st->linear_calls++;
    if (w->owner != c->model)
        violation(c->st, "linear: weight prepared by another model state than the session's");
    if (beta != 0.0f && beta != 1.0f)
        violation(c->st, "linear: beta neither 0 nor 1");
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < w->out; j++) {
            double s = w->bias ? w->bias[j] : 0.0;
            if (beta != 0.0f)
                s += (double)beta * y[r * ldy + j];
            for (size_t p = 0; p < w->in; p++)
                s += (double)x[r * ldx + p] * w->w[j * w->in + p];
            y[r * ldy + j] = activate(w->act, s);
        }
}

static ce_backend_ops host_table(host_stats *st, const char *name)
{
    memset(st, 0, sizeof *st);
    st->magic = MAGIC_STATS;
    st->name = name;
    st->fail_status = CE_ERR_OUT_OF_MEMORY;
    ce_backend_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = CE_BACKEND_ABI_VERSION;
    ops.struct_size = sizeof ops;
    ops.name = name;
    ops.priority = -10;
    ops.destroy = host_destroy;
    ops.user_data = st;
    ops.model_create = host_model_create;
    ops.model_destroy = host_model_destroy;
    ops.session_create = host_session_create;
    ops.linear_prepare = host_prepare;
    ops.linear_release = host_release;
    ops.linear = host_linear;
    return ops;
}

/* Register (or, run unforked a second time, find it registered). */
static void register_once(const ce_backend_ops *ops)
{
    ce_status st = ce_backend_register(ops);
    ck_assert_msg(st == CE_OK || st == CE_ERR_STATE, "%s: %s", ops->name, ce_last_error());
}

/* ---- models, sessions, comparisons ---- */

static void fixture_path(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "%s/%s", ce_test_fixtures(), name);
}

static ce_options *options(const char *backend)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    if (backend)
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, 2), CE_OK);
    return o;
}

static ce_model *open_model(const char *fixture, const char *backend)
{
    char dir[4096];
    fixture_path(dir, sizeof dir, fixture);
    ce_options *o = options(backend);
    ce_model *m = NULL;
    ck_assert_msg(ce_model_open(dir, o, &m) == CE_OK, "%s on %s: %s", fixture, backend,
                  ce_last_error());
    ce_options_free(o);
    return m;
}

static ce_session *open_session(const ce_model *m, const char *backend)
{
    ce_options *o = backend ? options(backend) : NULL;
    ce_session *s = NULL;
    ck_assert_msg(ce_session_create(m, o, &s) == CE_OK, "%s", ce_last_error());
    ce_options_free(o);
    return s;
}

/* How many weights the model's family lists (each must be prepared once). */
static size_t listed_weights(const ce_model *m)
{
    return m->arch->linears(m->arch_data)->n;
}

static float *all_layers(const ce_session *s, size_t seq, size_t *count)
{
    ce_select *all;
    ck_assert_int_eq(ce_select_create(&all), CE_OK);
    ck_assert_int_eq(ce_select_layers(all, NULL, 0), CE_OK);
    ck_assert_int_eq(ce_session_output(s, seq, all, NULL, 0, count), CE_ERR_BUFFER_TOO_SMALL);
    float *out = malloc(*count * sizeof *out);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(ce_session_output(s, seq, all, out, *count, count), CE_OK);
    ce_select_free(all);
    return out;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) /* NaN counts */
            worst = d;
    }
    return worst;
}

/* Every layer of every sequence of the last runs of @p s and @p ref. */
static void expect_same_layers(const ce_session *s, const ce_session *ref, const char *what)
{
    size_t n_seqs = ce_session_num_sequences(s);
    ck_assert_uint_gt(n_seqs, 0);
    ck_assert_uint_eq(n_seqs, ce_session_num_sequences(ref));
    for (size_t q = 0; q < n_seqs; q++) {
        size_t n, n_ref;
        float *got = all_layers(s, q, &n), *want = all_layers(ref, q, &n_ref);
        ck_assert_uint_eq(n, n_ref);
        double d = max_diff(got, want, n);
        ck_assert_msg(d <= TOL, "%s, sequence %zu: layers differ from ref by %g", what, q, d);
        free(got), free(want);
    }
}

static float *logits_of(const ce_session *s, size_t *count)
{
    ck_assert_int_eq(ce_session_logits(s, NULL, 0, count), CE_ERR_BUFFER_TOO_SMALL);
    float *out = malloc(*count * sizeof *out);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(ce_session_logits(s, out, *count, count), CE_OK);
    return out;
}

static void expect_same_logits(const ce_session *s, const ce_session *ref, const char *what)
{
    size_t n, n_ref;
    float *got = logits_of(s, &n), *want = logits_of(ref, &n_ref);
    ck_assert_uint_eq(n, n_ref);
    double d = max_diff(got, want, n);
    ck_assert_msg(d <= TOL, "%s: logits differ from ref by %g", what, d);
    free(got), free(want);
}

static const int32_t bert_ids[] = {2, 17, 45, 99, 101, 7, 250, 282, 3, 2, 60, 61, 3};
static const size_t bert_lengths[] = {9, 4};

static void run_bert(ce_session *s)
{
    ck_assert_msg(ce_session_run(s, 2, bert_lengths, bert_ids, NULL) == CE_OK, "%s",
                  ce_last_error());
}

/* Sentences for ELMo as ce_session_run_words() takes them. */
static const char elmo_text[] = "The cat sat on the mat . Hello wörld again";
static const size_t elmo_words[] = {7, 3};
static const size_t elmo_offsets[] = {0,  3,  4,  7,  8,  11, 12, 14, 15, 18,
                                      19, 22, 23, 24, 25, 30, 31, 37, 38, 43};

static void run_elmo(ce_session *s)
{
    ck_assert_msg(ce_session_run_words(s, 2, elmo_words, elmo_text, sizeof elmo_text - 1,
                                       elmo_offsets) == CE_OK,
                  "%s", ce_last_error());
}

/* Stats after a model opened on the host backend: created once, every
 * listed weight prepared once, nothing violated. */
static void expect_prepared_once(const host_stats *st, const ce_model *m)
{
    ck_assert_int_eq(bad_user_data, 0);
    ck_assert_msg(!st->violation[0], "%s", st->violation);
    ck_assert_int_eq(st->model_creates, 1);
    ck_assert_int_eq(st->model_destroys, 0);
    ck_assert_uint_gt(listed_weights(m), 0);
    ck_assert_int_eq(st->prepares, (int)listed_weights(m));
    ck_assert_int_eq(st->live_weights, st->prepares);
    ck_assert_ptr_eq(m->backend->state, st->model_state);
}

static void expect_freed(const host_stats *st, int prepares)
{
    ck_assert_int_eq(bad_user_data, 0);
    ck_assert_msg(!st->violation[0], "%s", st->violation);
    ck_assert_int_eq(st->prepares, prepares);
    ck_assert_int_eq(st->releases, prepares);
    ck_assert_int_eq(st->live_weights, 0);
    ck_assert_int_eq(st->model_destroys, 1);
    ck_assert_int_eq(st->live_at_destroy, 0); /* released before model_destroy */
    ck_assert_int_eq(st->destroys, st->session_creates);
}

/* ---- (a) a host backend with prepared weights on every family ---- */

/* Register the host backend @p name (once per process) counting into @p st,
 * open @p fixture with it, and check that its weights were prepared once. */
static ce_model *open_on_host(host_stats *st, const char *name, const char *fixture)
{
    ce_backend_ops ops = host_table(st, name);
    register_once(&ops);
    ce_model *m = open_model(fixture, st->name);
    expect_prepared_once(st, m);
    return m;
}

static host_stats bert_stats;

START_TEST(test_host_backend_bert)
{
    host_stats *st = &bert_stats;
    ce_model *m = open_on_host(st, "host-v2-bert", "bert-tiny-uncased");
    int prepares = st->prepares;
    ce_session *s1 = open_session(m, NULL), *s2 = open_session(m, st->name);
    ce_session *ref = open_session(m, "ref");
    ck_assert_str_eq(ce_session_backend(s1), st->name); /* "auto": the model's backend */
    ck_assert_str_eq(ce_session_backend(s2), st->name);
    ck_assert_str_eq(ce_session_backend(ref), "ref");
    ck_assert_int_eq(st->session_creates, 2);
    ck_assert_int_eq(st->sessions_with_state, 2);
    run_bert(s1), run_bert(s2), run_bert(ref);
    ck_assert_int_gt(st->linear_calls, 0);
    expect_same_layers(s1, ref, "bert, first session");
    expect_same_layers(s2, ref, "bert, second session");
    ck_assert_int_eq(st->prepares, prepares); /* per model, not per session */
    ck_assert_msg(!st->violation[0], "%s", st->violation);
    ce_session_free(s1), ce_session_free(s2), ce_session_free(ref);
    ck_assert_int_eq(st->releases, 0); /* the model still holds them */
    ce_model_free(m);
    expect_freed(st, prepares);

    /* A model opened with "ref": a session on the host backend gets no
     * model state, runs gemm on the raw weights and prepares nothing. */
    memset(st->violation, 0, sizeof st->violation);
    int linear_calls = st->linear_calls, creates = st->model_creates;
    m = open_model("bert-tiny-uncased", "ref");
    ck_assert_int_eq(st->model_creates, creates);
    s1 = open_session(m, st->name);
    ref = open_session(m, NULL);
    ck_assert_str_eq(ce_session_backend(ref), "ref");
    ck_assert_int_eq(st->sessions_without_state, 1);
    run_bert(s1), run_bert(ref);
    expect_same_layers(s1, ref, "bert, host session on a ref model");
    ck_assert_int_eq(st->linear_calls, linear_calls);
    ck_assert_int_eq(st->prepares, prepares);
    ce_session_free(s1), ce_session_free(ref);
    ce_model_free(m);
}
END_TEST

static host_stats gpt2_stats;

START_TEST(test_host_backend_gpt2)
{
    host_stats *st = &gpt2_stats;
    ce_model *m = open_on_host(st, "host-v2-gpt2", "gpt2-tiny");
    int prepares = st->prepares;
    ce_session *s1 = open_session(m, NULL), *s2 = open_session(m, NULL);
    ce_session *ref = open_session(m, "ref");
    ck_assert_str_eq(ce_session_backend(s1), st->name);
    ck_assert_int_eq(st->sessions_with_state, 2);
    static const int32_t prompt[] = {576, 12, 300, 41, 7, 199, 500};
    size_t n_prompt = sizeof prompt / sizeof *prompt;
    ce_session *both[] = {s1, s2};
    for (int k = 0; k < 2; k++) {
        ce_session *s = both[k];
        ck_assert_int_eq(ce_session_rewind(ref, 0), CE_OK);
        ck_assert_int_eq(ce_session_append(s, prompt, n_prompt, CE_APPEND_ALL_LOGITS), CE_OK);
        ck_assert_int_eq(ce_session_append(ref, prompt, n_prompt, CE_APPEND_ALL_LOGITS), CE_OK);
        expect_same_logits(s, ref, "gpt2 prompt");
        for (int32_t t = 0; t < 4; t++) { /* one token at a time on the KV cache */
            int32_t id = 100 + 37 * t + k;
            ck_assert_int_eq(ce_session_append(s, &id, 1, 0), CE_OK);
            ck_assert_int_eq(ce_session_append(ref, &id, 1, 0), CE_OK);
            expect_same_logits(s, ref, "gpt2 decoding");
        }
        ck_assert_uint_eq(ce_session_context_length(s), n_prompt + 4);
    }
    /* hidden states of a packed batch */
    size_t lengths[] = {4, 3};
    ck_assert_int_eq(ce_session_run(s1, 2, lengths, prompt, NULL), CE_OK);
    ck_assert_int_eq(ce_session_run(ref, 2, lengths, prompt, NULL), CE_OK);
    expect_same_layers(s1, ref, "gpt2 hidden states");
    ck_assert_int_gt(st->linear_calls, 0);
    ck_assert_int_eq(st->prepares, prepares);
    ck_assert_msg(!st->violation[0], "%s", st->violation);
    ce_session_free(s1), ce_session_free(s2), ce_session_free(ref);
    ce_model_free(m);
    expect_freed(st, prepares);
}
END_TEST

static host_stats elmo_stats;

START_TEST(test_host_backend_elmo)
{
    host_stats *st = &elmo_stats;
    ce_model *m = open_on_host(st, "host-v2-elmo", "elmo-skip");
    int prepares = st->prepares;
    ce_session *s1 = open_session(m, NULL), *s2 = open_session(m, NULL);
    ce_session *ref = open_session(m, "ref");
    ck_assert_str_eq(ce_session_backend(s2), st->name);
    ck_assert_int_eq(st->sessions_with_state, 2);
    run_elmo(s1), run_elmo(s2), run_elmo(ref);
    ck_assert_int_gt(st->linear_calls, 0);
    expect_same_layers(s1, ref, "elmo, first session");
    expect_same_layers(s2, ref, "elmo, second session");
    ck_assert_int_eq(st->prepares, prepares);
    ck_assert_msg(!st->violation[0], "%s", st->violation);
    ce_session_free(s1), ce_session_free(s2), ce_session_free(ref);
    ce_model_free(m);
    expect_freed(st, prepares);
}
END_TEST

/* ---- (b) a backend whose prepare fails, named explicitly ---- */

static host_stats fail_stats;

/* Open bert-tiny on @p st's backend: it must fail with @p want, the message
 * naming the backend and the tensor, the output untouched, everything that
 * was prepared released and the model state destroyed. */
static void expect_open_fails(host_stats *st, ce_status want, int prepared_ok)
{
    char dir[4096];
    fixture_path(dir, sizeof dir, "bert-tiny-uncased");
    ce_options *o = options(st->name);
    ce_model *m = (ce_model *)&m;
    ce_status got = ce_model_open(dir, o, &m);
    ce_options_free(o);
    const char *msg = ce_last_error();
    ck_assert_msg(got == want, "got %d (%s), want %d", got, msg, want);
    ck_assert_ptr_eq(m, (ce_model *)&m);
    ck_assert_msg(strstr(msg, st->name), "'%s' does not name the backend %s", msg, st->name);
    if (st->failed_tensor[0])
        ck_assert_msg(strstr(msg, st->failed_tensor), "'%s' does not name the tensor '%s'", msg,
                      st->failed_tensor);
    ck_assert_msg(!st->violation[0], "%s", st->violation);
    ck_assert_int_eq(st->model_creates, 1);
    ck_assert_int_eq(st->model_destroys, st->fail_model_create ? 0 : 1);
    ck_assert_int_eq(st->releases, prepared_ok);
    ck_assert_int_eq(st->live_weights, 0);
    ck_assert_int_eq(st->live_at_destroy, 0);
    ck_assert_int_eq(st->session_creates, 0);
}

START_TEST(test_explicit_backend_prepare_fails)
{
    ce_backend_ops ops = host_table(&fail_stats, "host-fails-third");
    register_once(&ops);
    fail_stats.fail_at = 3;
    expect_open_fails(&fail_stats, CE_ERR_OUT_OF_MEMORY, 2);
    ck_assert_str_ne(fail_stats.failed_tensor, "");
    ck_assert_int_eq(fail_stats.prepares, 3);

    /* a status this library does not know becomes CE_ERR_BACKEND */
    static host_stats odd;
    ops = host_table(&odd, "host-fails-odd");
    register_once(&ops);
    odd.fail_at = 1;
    odd.fail_status = (ce_status)77;
    expect_open_fails(&odd, CE_ERR_BACKEND, 0);

    /* success without a prepared weight is a failure too */
    static host_stats null;
    ops = host_table(&null, "host-prepares-null");
    register_once(&ops);
    null.null_at = 4;
    expect_open_fails(&null, CE_ERR_BACKEND, 3);

    /* and so is a failing model_create */
    static host_stats no_model;
    ops = host_table(&no_model, "host-no-model");
    register_once(&ops);
    no_model.fail_model_create = true;
    expect_open_fails(&no_model, CE_ERR_OUT_OF_MEMORY, 0);
    ck_assert_int_eq(no_model.prepares, 0);
}
END_TEST

/* ---- (d) a table built against the version-1 header ---- */

static int v1_gemm_calls, v1_creates, v1_destroys;

static ce_status v1_create(int n_threads, void **ctx)
{
    (void)n_threads;
    v1_creates++;
    *ctx = &v1_gemm_calls;
    return CE_OK;
}

static void v1_destroy(void *ctx)
{
    if (ctx == &v1_gemm_calls)
        v1_destroys++;
}

static void v1_gemm(void *ctx, ce_transpose_v1 ta, ce_transpose_v1 tb, size_t m, size_t n,
                    size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                    float beta, float *c, size_t ldc, const float *bias)
{
    ++*(int *)ctx;
    ce_backend_ref_ops()->gemm(NULL, ta == CE_V1_TRANS ? CE_TRANS : CE_NO_TRANS,
                               tb == CE_V1_TRANS ? CE_TRANS : CE_NO_TRANS, m, n, k, alpha, a, lda,
                               b, ldb, beta, c, ldc, bias);
}

START_TEST(test_version1_table)
{
    ck_assert_uint_eq(sizeof(ce_backend_ops_v1), CE_BACKEND_OPS_V1_SIZE);
    /* exactly as big as the old header says: reading past it is an ASan error */
    ce_backend_ops_v1 *v1 = calloc(1, sizeof *v1);
    ck_assert_ptr_nonnull(v1);
    v1->abi_version = CE_BACKEND_V1_ABI_VERSION;
    v1->struct_size = sizeof *v1;
    v1->name = "host-v1";
    v1->priority = -20;
    v1->create = v1_create;
    v1->destroy = v1_destroy;
    v1->gemm = v1_gemm;
    ce_status st = ce_backend_register((const ce_backend_ops *)v1);
    ck_assert_msg(st == CE_OK || st == CE_ERR_STATE, "%s", ce_last_error());
    free(v1);

    ce_model *m = open_model("bert-tiny-uncased", "host-v1");
    ck_assert_ptr_null(m->backend->state);
    ck_assert(!m->backend->prepares);
    ce_session *s = open_session(m, NULL), *ref = open_session(m, "ref");
    ck_assert_str_eq(ce_session_backend(s), "host-v1");
    run_bert(s), run_bert(ref);
    ck_assert_int_gt(v1_gemm_calls, 0);
    expect_same_layers(s, ref, "bert on a version-1 table");
    /* the version-2 slots it does not have come from the reference */
    const ce_backend_ops *r = ce_backend_ref_ops();
    ce_backend *b;
    ck_assert_int_eq(ce_backend_open("host-v1", 1, NULL, &b), CE_OK);
    ck_assert_ptr_null(b->ops.user_data);
    ck_assert_ptr_null(b->ops.model_create);
    ck_assert_ptr_null(b->ops.session_create);
    ck_assert_ptr_null(b->ops.linear_prepare);
    ck_assert_ptr_null(b->ops.set_threads);
    ck_assert_ptr_eq(b->ops.attention, r->attention);
    ck_assert_ptr_eq(b->ops.max_rows, r->max_rows);
    ck_assert_ptr_eq(b->ops.gate_mix, r->gate_mix);
    ck_assert_ptr_eq(b->ops.clip, r->clip);
    ce_backend_close(b);
    ce_session_free(s), ce_session_free(ref);
    ce_model_free(m);
    ck_assert_int_eq(v1_destroys, v1_creates);
}
END_TEST

START_TEST(test_version2_refusals)
{
    static host_stats st;
    ce_backend_ops ops = host_table(&st, "refused-v2");
    size_t before = ce_backend_count();
    /* too short for version 2 */
    ops.struct_size = (uint32_t)(CE_BACKEND_OPS_V2_SIZE - sizeof(void (*)(void)));
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_BACKEND);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "struct_size"));
    ops.struct_size = (uint32_t)CE_BACKEND_OPS_V1_SIZE;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_BACKEND);
    ops.struct_size = sizeof ops;
    /* linear_prepare without linear, or without linear_release */
    ops.linear = NULL;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "refused-v2"));
    ops.linear = host_linear;
    ops.linear_release = NULL;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_INVALID_ARGUMENT);
    /* neither create nor session_create */
    ops.linear_release = host_release;
    ops.session_create = NULL;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ce_backend_count(), before);
    /* session_create alone is enough, and linear without linear_prepare is harmless */
    ops.session_create = host_session_create;
    ops.linear_prepare = NULL;
    ops.linear_release = NULL;
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ck_assert_uint_eq(ce_backend_count(), before + 1);
}
END_TEST

/* ---- (c) "auto" skips a backend whose prepare fails (runs last) ---- */

static host_stats eager_stats;
static char logged[4096];

static void log_to_buffer(void *user_data, ce_log_level level, const char *message)
{
    (void)user_data;
    if (level >= CE_LOG_WARNING && strlen(logged) + strlen(message) + 2 < sizeof logged) {
        strcat(logged, message);
        strcat(logged, "\n");
    }
}

START_TEST(test_auto_skips_failing_backend)
{
    const char *names[CE_BACKEND_REGISTRY_CAPACITY];
    size_t n = ce_backend_ranked(names, CE_BACKEND_REGISTRY_CAPACITY);
    ck_assert_uint_ge(n, 1);
    const char *best = names[0]; /* the best before ours */
    ce_backend_ops ops = host_table(&eager_stats, "host-eager-fails");
    ops.priority = 1000000;
    register_once(&ops);
    eager_stats.fail_at = 1;
    n = ce_backend_ranked(names, CE_BACKEND_REGISTRY_CAPACITY);
    ck_assert_str_eq(names[0], "host-eager-fails");

    logged[0] = '\0';
    ce_set_log_callback(log_to_buffer, NULL, CE_LOG_WARNING);
    char dir[4096];
    fixture_path(dir, sizeof dir, "bert-tiny-uncased");
    ce_model *m = NULL;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    ce_set_log_callback(NULL, NULL, CE_LOG_WARNING);
    ck_assert_msg(strstr(logged, "host-eager-fails"), "log: '%s'", logged);
    ck_assert_int_eq(eager_stats.model_creates, 1);
    ck_assert_int_eq(eager_stats.model_destroys, 1);
    ck_assert_int_eq(eager_stats.prepares, 1);
    ck_assert_int_eq(eager_stats.live_weights, 0);

    ce_session *s = open_session(m, NULL), *ref = open_session(m, "ref");
    ck_assert_str_ne(ce_session_backend(s), "host-eager-fails");
    ck_assert_str_eq(ce_session_backend(s), best);
    ck_assert_int_eq(eager_stats.session_creates, 0);
    run_bert(s), run_bert(ref);
    expect_same_layers(s, ref, "bert on the backend after the failing one");
    ce_session_free(s), ce_session_free(ref);
    ce_model_free(m);

    /* named explicitly, the same backend makes the open fail */
    eager_stats.model_creates = eager_stats.model_destroys = eager_stats.prepares = 0;
    eager_stats.failed_tensor[0] = '\0';
    eager_stats.fail_at = 1;
    expect_open_fails(&eager_stats, CE_ERR_OUT_OF_MEMORY, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("backend-v2");
    TCase *tc = tcase_create("backend-v2");
    tcase_add_test(tc, test_host_backend_bert);
    tcase_add_test(tc, test_host_backend_gpt2);
    tcase_add_test(tc, test_host_backend_elmo);
    tcase_add_test(tc, test_explicit_backend_prepare_fails);
    tcase_add_test(tc, test_version1_table);
    tcase_add_test(tc, test_version2_refusals);
    /* last: it outranks every other backend for "auto" */
    tcase_add_test(tc, test_auto_skips_failing_backend);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
