/* sentence-transformers directories against the PyTorch reference (test/gen/gen_sentence.py):
 * modules.json / 1_Pooling / Normalize / sentence_bert_config.json read at open, the model's own
 * sentence embedding (CE_POOL_DEFAULT) for every pooling mode and a concatenation, on every built
 * backend, alone and packed; tokenisation with max_seq_length and do_lower_case; the Dense module
 * refused unless CE_OPT_SENTENCE_MODULES is 0; the new pools on a plain BERT checkpoint; bad
 * module files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contextembed/contextembed.h"
#include "io/json.h"
#include "io/weights.h"
#include "test-util.h"

#define TOL       1e-4
#define MAX_CASES 16
#define MAX_T     64

#define BIT(p) (1 << (p))

/* What each fixture must report, written here rather than read from cases.json. */
static const struct {
    const char *name;
    int64_t pooling; /* CE_INFO_POOLING */
    int normalize;
} st_fixtures[] = {
    {"st-cls", BIT(CE_POOL_CLS), 0},
    {"st-mean", BIT(CE_POOL_MEAN), 1},
    {"st-max", BIT(CE_POOL_MAX), 0},
    {"st-mean-sqrt", BIT(CE_POOL_MEAN_SQRT_LEN), 0},
    {"st-weightedmean", BIT(CE_POOL_WEIGHTED_MEAN), 0},
    {"st-lasttoken", BIT(CE_POOL_LAST), 0},
    {"st-multi", BIT(CE_POOL_CLS) | BIT(CE_POOL_MAX) | BIT(CE_POOL_MEAN), 1},
    {"st-lower", BIT(CE_POOL_MEAN), 1},
    {"st-old", BIT(CE_POOL_MEAN), 0},
};
#define N_ST ((int)(sizeof st_fixtures / sizeof *st_fixtures))

/* sentence-transformers' concatenation order */
static const ce_pool st_order[] = {CE_POOL_CLS,           CE_POOL_MAX,           CE_POOL_MEAN,
                                   CE_POOL_MEAN_SQRT_LEN, CE_POOL_WEIGHTED_MEAN, CE_POOL_LAST};

#define ST_HIDDEN  32
#define ST_MAX_SEQ 16

/* ---- reference data ---- */

typedef struct st_case {
    char name[32];
    const char *text;
    size_t text_len;
    size_t len, len_untruncated;
    int32_t ids[MAX_T];
    const ce_json *plain_ids; /* st-lower: ids of the plain checkpoint's tokenizer, else NULL */
    const float *tok;         /* [len, hidden] */
    const float *sent;        /* [dim] */
} st_case;

typedef struct st_ref {
    char dir[4096];
    ce_json *doc;
    ce_weights *w;
    size_t hidden, dim;
    st_case cases[MAX_CASES];
    size_t n;
} st_ref;

static void load_ref(const char *fixture, st_ref *r)
{
    char path[4200];
    snprintf(r->dir, sizeof r->dir, "%s/%s", ce_test_fixtures(), fixture);
    snprintf(path, sizeof path, "%s/cases.json", r->dir);
    ck_assert_msg(ce_json_parse_file(path, &r->doc) == CE_OK, "%s", ce_last_error());
    snprintf(path, sizeof path, "%s/expected.safetensors", r->dir);
    ck_assert_msg(ce_weights_open_file(path, &r->w) == CE_OK, "%s", ce_last_error());
    int64_t hidden, dim;
    ck_assert(ce_json_get_int(r->doc, "hidden_size", &hidden));
    ck_assert(ce_json_get_int(r->doc, "sentence_embedding_dim", &dim));
    r->hidden = (size_t)hidden;
    r->dim = (size_t)dim;
    const ce_json *cases = ce_json_get(r->doc, "cases");
    ck_assert_ptr_nonnull(cases);
    ck_assert_uint_le(cases->n, MAX_CASES);
    r->n = cases->n;
    for (size_t i = 0; i < r->n; i++) {
        st_case *c = &r->cases[i];
        const ce_json *j = cases->items[i];
        snprintf(c->name, sizeof c->name, "%s", ce_json_get_string(j, "name"));
        const ce_json *text = ce_json_get(j, "text");
        c->text = text->str;
        c->text_len = text->len;
        int64_t v;
        ck_assert(ce_json_get_int(j, "length_untruncated", &v));
        c->len_untruncated = (size_t)v;
        c->plain_ids = ce_json_get(j, "input_ids_plain_checkpoint");
        char name[96];
        snprintf(name, sizeof name, "%s.input_ids", c->name);
        const ce_tensor_info *t = ce_weights_find(r->w, name);
        ck_assert_msg(t != NULL && t->dtype == CE_DTYPE_I32, "%s", name);
        c->len = (size_t)t->shape[0];
        ck_assert_uint_le(c->len, MAX_T);
        memcpy(c->ids, t->data, c->len * sizeof *c->ids);
        const ce_json *ids = ce_json_get(j, "input_ids");
        ck_assert_uint_eq(ids->n, c->len);
        for (size_t k = 0; k < c->len; k++)
            ck_assert_int_eq(ids->items[k]->integer, c->ids[k]);
        snprintf(name, sizeof name, "%s.token_embeddings", c->name);
        int64_t shape2[2] = {(int64_t)c->len, (int64_t)r->hidden};
        ck_assert_int_eq(ce_weights_get_f32(r->w, name, 2, shape2, &c->tok), CE_OK);
        snprintf(name, sizeof name, "%s.sentence_embedding", c->name);
        int64_t shape1[1] = {(int64_t)r->dim};
        ck_assert_int_eq(ce_weights_get_f32(r->w, name, 1, shape1, &c->sent), CE_OK);
    }
    ck_assert_uint_gt(r->n, 0);
}

static void free_ref(st_ref *r)
{
    ce_weights_close(r->w);
    ce_json_free(r->doc);
}

/* ---- pooling written out from its definition, on one sequence's rows h [T, D] ---- */

static void pool_ref(const float *h, size_t T, size_t D, ce_pool mode, double *out)
{
    for (size_t j = 0; j < D; j++) {
        double acc = mode == CE_POOL_MAX ? -INFINITY : 0, wsum = 0;
        for (size_t t = 0; t < T; t++) {
            double x = h[t * D + j];
            switch (mode) {
            case CE_POOL_MAX:
                acc = x > acc ? x : acc;
                break;
            case CE_POOL_WEIGHTED_MEAN:
                acc += (double)(t + 1) * x;
                wsum += (double)(t + 1);
                break;
            default:
                acc += x;
            }
        }
        switch (mode) {
        case CE_POOL_CLS:
            out[j] = h[j];
            break;
        case CE_POOL_LAST:
            out[j] = h[(T - 1) * D + j];
            break;
        case CE_POOL_MEAN:
            out[j] = acc / (double)T;
            break;
        case CE_POOL_MEAN_SQRT_LEN:
            out[j] = acc / sqrt((double)T);
            break;
        case CE_POOL_WEIGHTED_MEAN:
            out[j] = acc / wsum;
            break;
        default: /* max */
            out[j] = acc;
        }
    }
}

static void normalize_ref(double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    double norm = sqrt(s);
    if (norm < 1e-12)
        norm = 1e-12;
    for (size_t i = 0; i < n; i++)
        v[i] /= norm;
}

/* The model's own embedding from token rows: modes of @p mask concatenated in
 * sentence-transformers' order, normalised when asked. Returns the length. */
static size_t default_ref(const float *h, size_t T, size_t D, int64_t mask, int normalize,
                          double *out)
{
    size_t n = 0;
    for (size_t k = 0; k < sizeof st_order / sizeof *st_order; k++)
        if (mask & BIT(st_order[k])) {
            pool_ref(h, T, D, st_order[k], out + n);
            n += D;
        }
    if (normalize)
        normalize_ref(out, n);
    return n;
}

static double max_diff(const float *got, const double *want, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

static double max_diff_f(const float *got, const float *want, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

/* ---- sessions and selections ---- */

static int run_threads = 1;

static ce_session *open_session(const char *dir, const char *backend, int modules, ce_model **m)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, run_threads), CE_OK);
    if (modules >= 0)
        ck_assert_msg(ce_options_set_int(o, CE_OPT_SENTENCE_MODULES, modules) == CE_OK, "%s",
                      ce_last_error());
    ck_assert_msg(ce_model_open(dir, o, m) == CE_OK, "%s: %s", dir, ce_last_error());
    ce_session *s;
    ck_assert_msg(ce_session_create(*m, o, &s) == CE_OK, "%s", ce_last_error());
    ck_assert_str_eq(ce_session_backend(s), backend);
    ce_options_free(o);
    return s;
}

static ce_select *make_select(ce_pool pool, int normalize /* -1: no call */)
{
    ce_select *sel;
    ck_assert_int_eq(ce_select_create(&sel), CE_OK);
    ck_assert_int_eq(ce_select_pool(sel, pool), CE_OK);
    if (normalize >= 0)
        ck_assert_int_eq(ce_select_normalize(sel, normalize), CE_OK);
    return sel;
}

/* Output of sequence @p seq under @p sel (malloc'd), with the 1-d shape checked
 * against @p want_dim (0: shape not checked). */
static float *output(const ce_session *s, size_t seq, const ce_select *sel, size_t want_dim,
                     size_t *count)
{
    if (want_dim) {
        size_t shape[3] = {0, 0, 0}, ndim = 0;
        ck_assert_msg(ce_session_output_shape(s, seq, sel, shape, &ndim) == CE_OK, "%s",
                      ce_last_error());
        ck_assert_uint_eq(ndim, 1);
        ck_assert_uint_eq(shape[0], want_dim);
    }
    ck_assert_msg(ce_session_output(s, seq, sel, NULL, 0, count) == CE_ERR_BUFFER_TOO_SMALL, "%s",
                  ce_last_error());
    float *out = malloc(*count * sizeof *out + 1);
    ck_assert_msg(ce_session_output(s, seq, sel, out, *count, count) == CE_OK, "%s",
                  ce_last_error());
    return out;
}

static void check_info(const ce_model *m, int64_t pooling, int64_t normalize, int64_t max_seq)
{
    int64_t caps = -1, v = -1;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_CAPABILITIES, &caps), CE_OK);
    ck_assert_int_eq(!!(caps & CE_CAP_SENTENCE_POOLING), pooling != 0);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_POOLING, &v), CE_OK);
    ck_assert_int_eq(v, pooling);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NORMALIZE, &v), CE_OK);
    ck_assert_int_eq(v, normalize);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_SEQ_LENGTH, &v), CE_OK);
    ck_assert_int_eq(v, max_seq);
}

/* Everything about one case, from sequence @p seq of the last run. */
static void check_case(const ce_session *s, size_t seq, const st_ref *r, const st_case *c,
                       int64_t pooling, int normalize, const char *what)
{
    size_t D = r->hidden, count;
    double want[6 * MAX_T];

    /* the model's own sentence embedding */
    ce_select *def = make_select(CE_POOL_DEFAULT, -1);
    float *got = output(s, seq, def, r->dim, &count);
    ck_assert_uint_eq(count, r->dim);
    double d = max_diff_f(got, c->sent, r->dim);
    ck_assert_msg(d <= TOL, "%s %s: CE_POOL_DEFAULT differs by %g", what, c->name, d);
    if (normalize) {
        double ss = 0;
        for (size_t i = 0; i < count; i++)
            ss += (double)got[i] * got[i];
        ck_assert_msg(fabs(sqrt(ss) - 1) <= 1e-5, "%s %s: norm %g", what, c->name, sqrt(ss));
    }
    free(got);
    ce_select_free(def);

    /* ... and the same from the reference's token rows, normalised explicitly on / off */
    for (int norm = 0; norm <= 1; norm++) {
        ce_select *sel = make_select(CE_POOL_DEFAULT, norm);
        size_t n = default_ref(c->tok, c->len, D, pooling, norm, want);
        ck_assert_uint_eq(n, r->dim);
        got = output(s, seq, sel, n, &count);
        d = max_diff(got, want, n);
        ck_assert_msg(d <= TOL, "%s %s: CE_POOL_DEFAULT, ce_select_normalize(%d), differs by %g",
                      what, c->name, norm, d);
        free(got);
        ce_select_free(sel);
    }

    /* an explicit pool ignores the model's normalisation: CLS is the raw first row */
    ce_select *cls = make_select(CE_POOL_CLS, -1);
    got = output(s, seq, cls, D, &count);
    d = max_diff_f(got, c->tok, D);
    ck_assert_msg(d <= TOL, "%s %s: CE_POOL_CLS differs from token 0 by %g", what, c->name, d);
    free(got);
    ce_select_free(cls);

    /* each of the fixture's modes alone */
    for (size_t k = 0; k < sizeof st_order / sizeof *st_order; k++) {
        if (!(pooling & BIT(st_order[k])))
            continue;
        ce_select *sel = make_select(st_order[k], -1);
        pool_ref(c->tok, c->len, D, st_order[k], want);
        got = output(s, seq, sel, D, &count);
        d = max_diff(got, want, D);
        ck_assert_msg(d <= TOL, "%s %s: pool %d differs by %g", what, c->name, (int)st_order[k], d);
        free(got);
        ce_select_free(sel);
    }

    /* one vector per token: the Transformer module's output */
    got = output(s, seq, NULL, 0, &count);
    ck_assert_uint_eq(count, c->len * D);
    d = max_diff_f(got, c->tok, count);
    ck_assert_msg(d <= TOL, "%s %s: token embeddings differ by %g", what, c->name, d);
    free(got);
}

/* ---- every st-* fixture on every backend ---- */

START_TEST(test_st_fixture)
{
    int f = _i / CE_TEST_N_RUNS;
    const char *backend = ce_test_run_backend(_i % CE_TEST_N_RUNS);
    if (!ce_test_has_backend(backend))
        return;
    run_threads = ce_test_run_threads;
    st_ref r;
    load_ref(st_fixtures[f].name, &r);
    ce_model *m;
    ce_session *s = open_session(r.dir, backend, -1, &m);
    ck_assert_str_eq(ce_model_architecture(m), "bert");
    check_info(m, st_fixtures[f].pooling, st_fixtures[f].normalize, ST_MAX_SEQ);
    int64_t hidden;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &hidden), CE_OK);
    ck_assert_int_eq(hidden, (int64_t)r.hidden);
    char what[160];

    /* one sequence per run */
    snprintf(what, sizeof what, "%s/%s/%d alone", st_fixtures[f].name, backend, run_threads);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_msg(ce_session_run(s, 1, &r.cases[i].len, r.cases[i].ids, NULL) == CE_OK, "%s",
                      ce_last_error());
        check_case(s, 0, &r, &r.cases[i], st_fixtures[f].pooling, st_fixtures[f].normalize, what);
    }
    /* every case packed into one run */
    size_t lens[MAX_CASES], total = 0;
    int32_t ids[MAX_CASES * MAX_T];
    for (size_t i = 0; i < r.n; i++) {
        memcpy(ids + total, r.cases[i].ids, r.cases[i].len * sizeof *ids);
        total += lens[i] = r.cases[i].len;
    }
    ck_assert_msg(ce_session_run(s, r.n, lens, ids, NULL) == CE_OK, "%s", ce_last_error());
    ck_assert_uint_eq(ce_session_num_sequences(s), r.n);
    snprintf(what, sizeof what, "%s/%s/%d packed", st_fixtures[f].name, backend, run_threads);
    for (size_t i = 0; i < r.n; i++)
        check_case(s, i, &r, &r.cases[i], st_fixtures[f].pooling, st_fixtures[f].normalize, what);

    ce_session_free(s);
    ce_model_free(m);
    free_ref(&r);
}
END_TEST

/* The model's tokenizer with max_length = CE_INFO_MAX_SEQ_LENGTH gives the
 * pipeline's ids: truncated to 16 with [CLS]/[SEP] kept, lower-cased for st-lower. */
START_TEST(test_st_tokenize)
{
    st_ref r;
    load_ref(st_fixtures[_i].name, &r);
    ce_model *m;
    ck_assert_msg(ce_model_open(r.dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    int64_t max_seq = 0;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_SEQ_LENGTH, &max_seq), CE_OK);
    ck_assert_int_eq(max_seq, ST_MAX_SEQ);
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    int truncated = 0;
    for (size_t i = 0; i < r.n; i++) {
        const st_case *c = &r.cases[i];
        ce_encoding *e;
        ck_assert_int_eq(ce_tokenizer_encode(tok, c->text, c->text_len, NULL, 0,
                                             CE_ENCODE_ADD_SPECIAL, (size_t)max_seq, &e),
                         CE_OK);
        ck_assert_msg(ce_encoding_length(e) == c->len, "%s %s: %zu tokens, want %zu",
                      st_fixtures[_i].name, c->name, ce_encoding_length(e), c->len);
        for (size_t k = 0; k < c->len; k++)
            ck_assert_msg(ce_encoding_ids(e)[k] == c->ids[k], "%s %s: token %zu is %d, want %d",
                          st_fixtures[_i].name, c->name, k, ce_encoding_ids(e)[k], c->ids[k]);
        ce_encoding_free(e);
        /* without a limit the tokenizer does not cut */
        ck_assert_int_eq(
            ce_tokenizer_encode(tok, c->text, c->text_len, NULL, 0, CE_ENCODE_ADD_SPECIAL, 0, &e),
            CE_OK);
        ck_assert_uint_eq(ce_encoding_length(e), c->len_untruncated);
        truncated += c->len_untruncated > c->len;
        ce_encoding_free(e);
    }
    ck_assert_int_gt(truncated, 0);
    ce_model_free(m);
    free_ref(&r);
}
END_TEST

/* st-lower opened as a plain checkpoint: no lower-casing (the cased tokenizer's
 * ids), no pooling, max_seq_length = the model's positions; the Transformer
 * itself is the same. */
START_TEST(test_st_lower_plain)
{
    st_ref r;
    load_ref("st-lower", &r);
    ce_model *m;
    ce_session *s = open_session(r.dir, "ref", 0, &m);
    check_info(m, 0, 0, 64);
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    int differ = 0;
    for (size_t i = 0; i < r.n; i++) {
        const st_case *c = &r.cases[i];
        ck_assert_ptr_nonnull(c->plain_ids);
        ce_encoding *e;
        ck_assert_int_eq(
            ce_tokenizer_encode(tok, c->text, c->text_len, NULL, 0, CE_ENCODE_ADD_SPECIAL, 0, &e),
            CE_OK);
        ck_assert_uint_eq(ce_encoding_length(e), c->plain_ids->n);
        for (size_t k = 0; k < c->plain_ids->n; k++)
            ck_assert_int_eq(ce_encoding_ids(e)[k], c->plain_ids->items[k]->integer);
        differ += c->plain_ids->n != c->len || memcmp(ce_encoding_ids(e), c->ids, c->len * 4);
        ce_encoding_free(e);

        ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, NULL), CE_OK);
        size_t count;
        float *got = output(s, 0, NULL, 0, &count);
        ck_assert_uint_eq(count, c->len * r.hidden);
        ck_assert_double_le(max_diff_f(got, c->tok, count), TOL);
        free(got);
    }
    ck_assert_int_gt(differ, 0);
    ce_session_free(s);
    ce_model_free(m);
    free_ref(&r);
}
END_TEST

/* A Dense module is refused, naming it; CE_OPT_SENTENCE_MODULES 0 opens the Transformer alone. */
START_TEST(test_st_dense)
{
    int64_t lo = -1, hi = -1;
    ck_assert_int_eq(ce_option_bounds(CE_OPT_SENTENCE_MODULES, &lo, &hi), CE_OK);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 1);

    st_ref r;
    load_ref("st-dense", &r);
    ce_model *m = NULL;
    ck_assert_int_eq(ce_model_open(r.dir, NULL, &m), CE_ERR_UNSUPPORTED);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(ce_last_error(), "Dense") != NULL, "message: %s", ce_last_error());
    /* the default is 1: setting it changes nothing */
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    int64_t v = -1;
    ck_assert_int_eq(ce_options_get_int(o, CE_OPT_SENTENCE_MODULES, &v), CE_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_SENTENCE_MODULES, 1), CE_OK);
    ck_assert_int_eq(ce_model_open(r.dir, o, &m), CE_ERR_UNSUPPORTED);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_SENTENCE_MODULES, 2), CE_ERR_OUT_OF_RANGE);
    ce_options_free(o);

    ce_session *s = open_session(r.dir, "ref", 0, &m);
    check_info(m, 0, 0, 64);
    for (size_t i = 0; i < r.n; i++) {
        const st_case *c = &r.cases[i];
        ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, NULL), CE_OK);
        size_t count;
        float *got = output(s, 0, NULL, 0, &count);
        ck_assert_uint_eq(count, c->len * r.hidden);
        ck_assert_double_le(max_diff_f(got, c->tok, count), TOL);
        free(got);
        ce_select *cls = make_select(CE_POOL_CLS, -1);
        got = output(s, 0, cls, r.hidden, &count);
        ck_assert_double_le(max_diff_f(got, c->tok, r.hidden), TOL);
        free(got);
        ce_select_free(cls);
        /* no pooling of its own */
        ce_select *def = make_select(CE_POOL_DEFAULT, -1);
        float buf[6 * ST_HIDDEN];
        size_t shape[3], ndim;
        count = 12345;
        ck_assert_int_eq(ce_session_output_shape(s, 0, def, shape, &ndim), CE_ERR_UNSUPPORTED);
        ck_assert_int_eq(ce_session_output(s, 0, def, buf, 6 * ST_HIDDEN, &count),
                         CE_ERR_UNSUPPORTED);
        ce_select_free(def);
    }
    ce_session_free(s);
    ce_model_free(m);
    free_ref(&r);
}
END_TEST

/* ---- the new pools on a plain BERT checkpoint (bert-tiny-uncased) ---- */

typedef struct plain_case {
    size_t len;
    int32_t *ids, *types;
    const float *hidden; /* [3, T, 64] */
} plain_case;

static size_t load_plain(ce_weights *w, plain_case *pc, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; n < cap; i++) {
        char name[64];
        snprintf(name, sizeof name, "case%zu.input_ids", i);
        const ce_tensor_info *t = ce_weights_find(w, name);
        if (!t)
            break;
        plain_case *c = &pc[n++];
        c->len = (size_t)t->shape[0];
        c->ids = malloc(c->len * sizeof *c->ids);
        memcpy(c->ids, t->data, c->len * sizeof *c->ids);
        snprintf(name, sizeof name, "case%zu.token_type_ids", i);
        t = ce_weights_find(w, name);
        ck_assert_ptr_nonnull(t);
        c->types = malloc(c->len * sizeof *c->types);
        memcpy(c->types, t->data, c->len * sizeof *c->types);
        snprintf(name, sizeof name, "case%zu.hidden_states", i);
        int64_t shape[3] = {3, (int64_t)c->len, 64};
        ck_assert_int_eq(ce_weights_get_f32(w, name, 3, shape, &c->hidden), CE_OK);
    }
    return n;
}

static void check_plain_pools(const ce_session *s, size_t seq, const plain_case *c,
                              const char *what)
{
    static const ce_pool pools[] = {CE_POOL_MEAN_SQRT_LEN, CE_POOL_WEIGHTED_MEAN, CE_POOL_LAST,
                                    CE_POOL_CLS,           CE_POOL_MEAN,          CE_POOL_MAX};
    const size_t D = 64, plane = c->len * D;
    double want[2 * 64];
    size_t count;
    for (size_t k = 0; k < sizeof pools / sizeof *pools; k++) {
        /* last layer */
        ce_select *sel = make_select(pools[k], -1);
        float *got = output(s, seq, sel, D, &count);
        pool_ref(c->hidden + 2 * plane, c->len, D, pools[k], want);
        double d = max_diff(got, want, D);
        ck_assert_msg(d <= TOL, "%s pool %d (T=%zu): differs by %g", what, (int)pools[k], c->len,
                      d);
        free(got);
        /* normalised */
        ck_assert_int_eq(ce_select_normalize(sel, 1), CE_OK);
        got = output(s, seq, sel, D, &count);
        normalize_ref(want, D);
        d = max_diff(got, want, D);
        ck_assert_msg(d <= TOL, "%s pool %d normalised: differs by %g", what, (int)pools[k], d);
        free(got);
        ce_select_free(sel);
        /* layers 0 and -1: [2, D] */
        sel = make_select(pools[k], -1);
        int32_t layers[2] = {0, -1};
        ck_assert_int_eq(ce_select_layers(sel, layers, 2), CE_OK);
        size_t shape[3], ndim;
        ck_assert_int_eq(ce_session_output_shape(s, seq, sel, shape, &ndim), CE_OK);
        ck_assert_uint_eq(ndim, 2);
        ck_assert_uint_eq(shape[0], 2);
        ck_assert_uint_eq(shape[1], D);
        got = output(s, seq, sel, 0, &count);
        ck_assert_uint_eq(count, 2 * D);
        pool_ref(c->hidden, c->len, D, pools[k], want);
        pool_ref(c->hidden + 2 * plane, c->len, D, pools[k], want + D);
        d = max_diff(got, want, 2 * D);
        ck_assert_msg(d <= TOL, "%s pool %d layers {0,-1}: differs by %g", what, (int)pools[k], d);
        free(got);
        ce_select_free(sel);
    }
    /* no pooling of its own */
    ce_select *def = make_select(CE_POOL_DEFAULT, -1);
    float buf[6 * 64];
    size_t shape[3], ndim;
    ck_assert_int_eq(ce_session_output_shape(s, seq, def, shape, &ndim), CE_ERR_UNSUPPORTED);
    ck_assert_int_eq(ce_session_output(s, seq, def, buf, 6 * 64, &count), CE_ERR_UNSUPPORTED);
    ce_select_free(def);
}

START_TEST(test_plain_bert_pools)
{
    const char *backend = ce_test_run_backend(_i);
    if (!ce_test_has_backend(backend))
        return;
    run_threads = ce_test_run_threads;
    char dir[4096], path[4200], what[128];
    snprintf(dir, sizeof dir, "%s/bert-tiny-uncased", ce_test_fixtures());
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    ce_weights *w;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    plain_case pc[16];
    size_t n = load_plain(w, pc, 16);
    ck_assert_uint_ge(n, 4);
    ce_model *m;
    ce_session *s = open_session(dir, backend, -1, &m);
    int64_t positions;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MAX_POSITIONS, &positions), CE_OK);
    check_info(m, 0, 0, positions);
    snprintf(what, sizeof what, "bert-tiny-uncased/%s/%d", backend, run_threads);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ce_session_run(s, 1, &pc[i].len, pc[i].ids, pc[i].types), CE_OK);
        check_plain_pools(s, 0, &pc[i], what);
    }
    /* packed: weights and the last token restart with each sequence */
    size_t lens[16], total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i] = pc[i].len;
    int32_t *ids = malloc(total * sizeof *ids), *types = malloc(total * sizeof *types);
    for (size_t i = 0, at = 0; i < n; at += pc[i].len, i++) {
        memcpy(ids + at, pc[i].ids, pc[i].len * sizeof *ids);
        memcpy(types + at, pc[i].types, pc[i].len * sizeof *types);
    }
    ck_assert_int_eq(ce_session_run(s, n, lens, ids, types), CE_OK);
    for (size_t i = 0; i < n; i++)
        check_plain_pools(s, i, &pc[i], what);
    free(ids);
    free(types);
    for (size_t i = 0; i < n; i++) {
        free(pc[i].ids);
        free(pc[i].types);
    }
    ce_session_free(s);
    ce_model_free(m);
    ce_weights_close(w);
}
END_TEST

/* ---- bad module files, in a temporary copy of st-mean ---- */

static const char *const st_mean_files[] = {
    "config.json",
    "model.safetensors",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
};
#define N_FILES (sizeof st_mean_files / sizeof *st_mean_files)

static void write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_file(dir, name, text, strlen(text));
}

/* The temporary directory of the bad-input tests: made and removed by the
 * parent process (an unchecked fixture), so that it goes even when a forked
 * test fails half-way. */
static char copy_dir[4096];

/* Fill copy_dir with a copy of st-mean. */
static void copy_st_mean(void)
{
    ck_assert_msg(copy_dir[0] != '\0', "no temporary directory");
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/1_Pooling", copy_dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    for (size_t i = 0; i < N_FILES; i++) {
        char src[4200];
        snprintf(src, sizeof src, "%s/st-mean/%s", ce_test_fixtures(), st_mean_files[i]);
        size_t len;
        char *data = ce_test_read_file(src, &len);
        ck_assert_msg(data != NULL, "cannot read %s", src);
        write_file(copy_dir, st_mean_files[i], data, len);
        free(data);
    }
}

static void remove_copy(const char *tmp)
{
    char path[4200];
    for (size_t i = 0; i < N_FILES; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, st_mean_files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/2_Normalize", tmp);
    rmdir(path);
    snprintf(path, sizeof path, "%s/1_Pooling", tmp);
    rmdir(path);
    rmdir(tmp);
}

static void bad_input_setup(void)
{
    snprintf(copy_dir, sizeof copy_dir, "%s", "/tmp/ce-test-sentence-XXXXXX");
    if (!mkdtemp(copy_dir))
        copy_dir[0] = '\0';
}

static void bad_input_teardown(void)
{
    if (copy_dir[0])
        remove_copy(copy_dir);
}

static void expect_open(const char *dir, ce_status want, const char *in_message, const char *what)
{
    ce_model *m = NULL;
    ce_status st = ce_model_open(dir, NULL, &m);
    ck_assert_msg(st == want, "%s: status %d (%s), want %d", what, (int)st, ce_last_error(),
                  (int)want);
    if (want != CE_OK) {
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(ce_last_error(), in_message) != NULL,
                      "%s: message \"%s\" lacks \"%s\"", what, ce_last_error(), in_message);
    }
    ce_model_free(m);
}

static const char pooling_ok[] =
    "{\"word_embedding_dimension\": 32, \"pooling_mode_cls_token\": false,"
    " \"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": false,"
    " \"pooling_mode_mean_sqrt_len_tokens\": false, \"pooling_mode_weightedmean_tokens\": false,"
    " \"pooling_mode_lasttoken\": false, \"include_prompt\": true}";

START_TEST(test_bad_modules)
{
    const char *tmp = copy_dir;
    copy_st_mean();
    expect_open(tmp, CE_OK, NULL, "the unchanged copy");

    /* sentence-transformers leaves 2_Normalize/ empty: present or not, the same model */
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/2_Normalize", tmp);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ce_model *m;
    ck_assert_msg(ce_model_open(tmp, NULL, &m) == CE_OK, "%s", ce_last_error());
    check_info(m, BIT(CE_POOL_MEAN), 1, ST_MAX_SEQ);
    ce_model_free(m);

    /* modules.json */
    write_text(tmp, "modules.json", "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\",");
    expect_open(tmp, CE_ERR_FORMAT, "modules.json", "modules.json cut short");
    write_text(tmp, "modules.json",
               "{\"idx\": 0, \"name\": \"0\", \"path\": \"\","
               " \"type\": \"sentence_transformers.models.Transformer\"}");
    expect_open(tmp, CE_ERR_FORMAT, "modules.json", "modules.json an object");
    write_text(tmp, "modules.json", "\"sentence_transformers.models.Transformer\"");
    expect_open(tmp, CE_ERR_FORMAT, "modules.json", "modules.json a string");
    write_text(tmp, "modules.json",
               "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\","
               " \"type\": \"sentence_transformers.models.Transformer\"},"
               " {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\","
               " \"type\": \"sentence_transformers.models.Pooling\"}]");
    ck_assert_msg(ce_model_open(tmp, NULL, &m) == CE_OK, "%s", ce_last_error());
    check_info(m, BIT(CE_POOL_MEAN), 0, ST_MAX_SEQ); /* no Normalize listed */
    ce_model_free(m);

    /* 1_Pooling/config.json */
    write_text(tmp, "1_Pooling/config.json",
               "{\"word_embedding_dimension\": 32, \"pooling_mode_cls_token\": false,"
               " \"pooling_mode_mean_tokens\": false, \"pooling_mode_max_tokens\": false,"
               " \"pooling_mode_mean_sqrt_len_tokens\": false,"
               " \"pooling_mode_weightedmean_tokens\": false, \"pooling_mode_lasttoken\": false,"
               " \"include_prompt\": true}");
    expect_open(tmp, CE_ERR_FORMAT, "Pooling", "no pooling mode true");
    write_text(tmp, "1_Pooling/config.json",
               "{\"word_embedding_dimension\": 48, \"pooling_mode_cls_token\": false,"
               " \"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": false,"
               " \"pooling_mode_mean_sqrt_len_tokens\": false,"
               " \"pooling_mode_weightedmean_tokens\": false, \"pooling_mode_lasttoken\": false,"
               " \"include_prompt\": true}");
    expect_open(tmp, CE_ERR_FORMAT, "Pooling", "word_embedding_dimension 48, hidden 32");
    /* the four keys of sentence-transformers < 2.0: the others default to false */
    write_text(tmp, "1_Pooling/config.json",
               "{\"word_embedding_dimension\": 32, \"pooling_mode_cls_token\": true,"
               " \"pooling_mode_mean_tokens\": false, \"pooling_mode_max_tokens\": true,"
               " \"pooling_mode_mean_sqrt_len_tokens\": false}");
    ck_assert_msg(ce_model_open(tmp, NULL, &m) == CE_OK, "%s", ce_last_error());
    check_info(m, BIT(CE_POOL_CLS) | BIT(CE_POOL_MAX), 0, ST_MAX_SEQ);
    ce_model_free(m);
    write_text(tmp, "1_Pooling/config.json", pooling_ok);

    /* sentence_bert_config.json */
    write_text(tmp, "sentence_bert_config.json",
               "{\"max_seq_length\": 0, \"do_lower_case\": false}");
    expect_open(tmp, CE_ERR_FORMAT, "sentence_bert_config.json", "max_seq_length 0");
    write_text(tmp, "sentence_bert_config.json",
               "{\"max_seq_length\": -3, \"do_lower_case\": false}");
    expect_open(tmp, CE_ERR_FORMAT, "sentence_bert_config.json", "max_seq_length -3");
    write_text(tmp, "sentence_bert_config.json",
               "{\"max_seq_length\": 8, \"do_lower_case\": false}");
    ck_assert_msg(ce_model_open(tmp, NULL, &m) == CE_OK, "%s", ce_last_error());
    check_info(m, BIT(CE_POOL_MEAN), 0, 8);
    ce_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sentence");
    TCase *tc = tcase_create("sentence-transformers");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_st_fixture, 0, N_ST * CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_st_tokenize, 0, N_ST);
    tcase_add_test(tc, test_st_lower_plain);
    tcase_add_test(tc, test_st_dense);
    tcase_add_loop_test(tc, test_plain_bert_pools, 0, CE_TEST_N_RUNS);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("bad-input");
    tcase_add_unchecked_fixture(bad, bad_input_setup, bad_input_teardown);
    tcase_add_test(bad, test_bad_modules);
    suite_add_tcase(s, bad);
    return ce_test_run(s);
}
