/* Task heads of the encoder families (masked LM, next sentence, sequence and token
 * classification, question answering; BERT, RoBERTa, DistilBERT) against the PyTorch reference
 * (test/gen/gen_heads.py): which heads a checkpoint has, their sizes and labels, every case's
 * logits within 1e-4 (and the same argmax / top-5) on every backend run, alone and packed;
 * the buffer and state rules of ce_session_head_output(); bare encoders (a pooler is not a
 * head); and the ways a head can be wrong in a checkpoint. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-encoder-util.h"

#define TOL      ENC_TOL
#define N_HEADS  5
#define SENTINEL (-12345.5f)

static const char *const fixtures[] = {
    "heads-bert-mlm",
    "heads-bert-pretraining",
    "heads-bert-nsp",
    "heads-bert-seqcls",
    "heads-bert-seqcls-multilabel",
    "heads-bert-seqcls-nolabels",
    "heads-bert-tokcls",
    "heads-bert-qa",
    "heads-roberta-mlm",
    "heads-roberta-seqcls",
    "heads-roberta-tokcls",
    "heads-roberta-qa",
    "heads-distilbert-mlm",
    "heads-distilbert-seqcls",
    "heads-distilbert-tokcls",
    "heads-distilbert-qa",
};
#define N_FIXTURES ((int)(sizeof fixtures / sizeof *fixtures))

/* cases.json's name of each ce_head, and a word a message listing it must contain */
static const char *const head_keys[N_HEADS] = {"mlm", "nsp", "seqcls", "tokcls", "qa"};
static const char *const head_words[N_HEADS] = {"masked", "next", "sequence", "token", "question"};

static int per_token(ce_head h)
{
    return h == CE_HEAD_MASKED_LM || h == CE_HEAD_TOKEN_CLASSIFICATION ||
           h == CE_HEAD_QUESTION_ANSWERING;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int64_t json_int(const ce_json *obj, const char *key)
{
    int64_t v;
    ck_assert_msg(ce_json_get_int(obj, key, &v), "cases.json: no integer \"%s\"", key);
    return v;
}

/* ---- one fixture: cases.json and expected.safetensors ---- */

typedef struct hcase {
    const ce_json *json;
    const char *name;
    size_t len;
    int32_t *ids, *types;
    const float *hidden;          /* [T, D] */
    const float *logits[N_HEADS]; /* per head present */
} hcase;

typedef struct hfix {
    const char *name;
    char dir[4096];
    ce_json *doc;
    ce_weights *w;
    int64_t heads, dim;
    size_t size[N_HEADS];
    hcase cases[16];
    size_t n;
} hfix;

static int has_head(const hfix *f, int h)
{
    return (f->heads >> h) & 1;
}

static void fix_open(const char *fixture, hfix *f)
{
    memset(f, 0, sizeof *f);
    f->name = fixture;
    enc_fixture_dir(fixture, f->dir, sizeof f->dir);
    f->doc = enc_cases_json(fixture);
    f->heads = json_int(f->doc, "ce_info_heads");
    f->dim = enc_model_int(f->doc, "hidden");
    const ce_json *sizes = ce_json_get(f->doc, "head_size");
    for (int h = 0; h < N_HEADS; h++) {
        int64_t v;
        int present = ce_json_get_int(sizes, head_keys[h], &v);
        ck_assert_int_eq(present, has_head(f, h));
        f->size[h] = present ? (size_t)v : 0;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/expected.safetensors", f->dir);
    ck_assert_msg(ce_weights_open_file(path, &f->w) == CE_OK, "%s", ce_last_error());
    const ce_json *cases = ce_json_get(f->doc, "cases");
    ck_assert_ptr_nonnull(cases);
    ck_assert_uint_le(cases->n, sizeof f->cases / sizeof *f->cases);
    for (size_t i = 0; i < cases->n; i++) {
        hcase *c = &f->cases[f->n++];
        c->json = cases->items[i];
        c->name = ce_json_get_string(c->json, "name");
        const ce_json *ids = ce_json_get(c->json, "input_ids"),
                      *types = ce_json_get(c->json, "token_type_ids");
        c->len = ids->n;
        ck_assert_uint_eq(types->n, c->len);
        c->ids = malloc(c->len * sizeof *c->ids);
        c->types = malloc(c->len * sizeof *c->types);
        char name[160];
        snprintf(name, sizeof name, "%s.input_ids", c->name);
        const ce_tensor_info *t = ce_weights_find(f->w, name);
        ck_assert_msg(t && t->dtype == CE_DTYPE_I32 && t->nbytes == c->len * 4, "%s", name);
        for (size_t j = 0; j < c->len; j++) {
            c->ids[j] = (int32_t)ids->items[j]->integer;
            c->types[j] = (int32_t)types->items[j]->integer;
            ck_assert_int_eq(c->ids[j], ((const int32_t *)t->data)[j]);
        }
        snprintf(name, sizeof name, "%s.hidden_states", c->name);
        int64_t hs[2] = {(int64_t)c->len, f->dim};
        ck_assert_msg(ce_weights_get_f32(f->w, name, 2, hs, &c->hidden) == CE_OK, "%s",
                      ce_last_error());
        for (int h = 0; h < N_HEADS; h++) {
            if (!has_head(f, h))
                continue;
            snprintf(name, sizeof name, "%s.%s_logits", c->name, head_keys[h]);
            int64_t shape[2] = {(int64_t)c->len, (int64_t)f->size[h]};
            int ndim = per_token((ce_head)h) ? 2 : 1;
            ck_assert_msg(ce_weights_get_f32(f->w, name, ndim,
                                             per_token((ce_head)h) ? shape : shape + 1,
                                             &c->logits[h]) == CE_OK,
                          "%s: %s", name, ce_last_error());
        }
    }
    ck_assert_uint_gt(f->n, 1);
}

static void fix_close(hfix *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->cases[i].ids);
        free(f->cases[i].types);
    }
    ce_weights_close(f->w);
    ce_json_free(f->doc);
}

/* The message of a CE_ERR_NOT_FOUND for a missing head lists the heads the model has. */
static void check_lists_heads(const hfix *f, const char *what)
{
    const char *msg = ce_last_error();
    for (int h = 0; h < N_HEADS; h++)
        if (has_head(f, h))
            ck_assert_msg(contains_ci(msg, head_words[h]),
                          "%s %s: message \"%s\" does not list the %s head", f->name, what, msg,
                          head_keys[h]);
}

/* ---- checking one head output ---- */

static void top_k(const float *row, size_t n, size_t k, int64_t *out)
{
    for (size_t r = 0; r < k; r++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t q = 0; q < r; q++)
                taken |= out[q] == (int64_t)i;
            if (!taken && (best == n || row[i] > row[best]))
                best = i;
        }
        out[r] = (int64_t)best;
    }
}

static size_t argmax(const float *v, size_t n, size_t stride)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i * stride] > v[best * stride])
            best = i;
    return best;
}

/* What cases.json says besides the numbers: top-5 at the masks, argmax, signs. */
static void check_decisions(const hfix *f, const hcase *c, int h, const float *out, const char *ctx)
{
    const ce_json *r = ce_json_get(c->json, head_keys[h]);
    ck_assert_ptr_nonnull(r);
    size_t size = f->size[h], T = c->len;
    if (h == CE_HEAD_MASKED_LM) {
        const ce_json *pos = ce_json_get(r, "mask_positions"), *top = ce_json_get(r, "top5_ids");
        ck_assert_uint_eq(pos->n, top->n);
        for (size_t i = 0; i < pos->n; i++) {
            size_t p = (size_t)pos->items[i]->integer;
            int64_t mask_id = json_int(ce_json_get(f->doc, "tokenizer"), "mask_token_id");
            ck_assert_int_eq(c->ids[p], mask_id);
            int64_t got[5];
            top_k(out + p * size, size, 5, got);
            for (int k = 0; k < 5; k++)
                ck_assert_msg(got[k] == top->items[i]->items[k]->integer,
                              "%s: top-5 at mask position %zu: rank %d is %lld, want %lld", ctx, p,
                              k, (long long)got[k], (long long)top->items[i]->items[k]->integer);
        }
    } else if (h == CE_HEAD_NEXT_SENTENCE || h == CE_HEAD_SEQUENCE_CLASSIFICATION) {
        ck_assert_msg((int64_t)argmax(out, size, 1) == json_int(r, "argmax"), "%s: argmax %zu", ctx,
                      argmax(out, size, 1));
        const ce_json *pos = ce_json_get(r, "positive"); /* multi-label: logit > 0 */
        for (size_t i = 0; pos && i < size; i++) {
            int want = 0;
            for (size_t q = 0; q < pos->n; q++)
                want |= pos->items[q]->integer == (int64_t)i;
            ck_assert_msg((out[i] > 0) == want, "%s: label %zu logit %g", ctx, i, out[i]);
        }
    } else if (h == CE_HEAD_TOKEN_CLASSIFICATION) {
        const ce_json *best = ce_json_get(r, "argmax");
        ck_assert_uint_eq(best->n, T);
        for (size_t t = 0; t < T; t++)
            ck_assert_msg((int64_t)argmax(out + t * size, size, 1) == best->items[t]->integer,
                          "%s: token %zu argmax %zu, want %lld", ctx, t,
                          argmax(out + t * size, size, 1), (long long)best->items[t]->integer);
    } else {
        ck_assert_int_eq((int64_t)argmax(out, T, 2), json_int(r, "start_argmax"));
        ck_assert_int_eq((int64_t)argmax(out + 1, T, 2), json_int(r, "end_argmax"));
    }
}

/* Shape, buffer rules, values and decisions of head @p h on sequence @p seq. */
static void check_head(ce_session *s, size_t seq, const hfix *f, const hcase *c, int h,
                       const char *ctx)
{
    ce_head head = (ce_head)h;
    size_t T = c->len, size = f->size[h], n = per_token(head) ? T * size : size;
    size_t shape[2] = {77, 77}, ndim = 9;
    ck_assert_msg(ce_session_head_shape(s, seq, head, shape, &ndim) == CE_OK, "%s: %s", ctx,
                  ce_last_error());
    if (per_token(head)) {
        ck_assert_uint_eq(ndim, 2);
        ck_assert_uint_eq(shape[0], T);
        ck_assert_uint_eq(shape[1], size);
    } else {
        ck_assert_uint_eq(ndim, 1);
        ck_assert_uint_eq(shape[0], size);
    }
    size_t count = 0;
    ck_assert_int_eq(ce_session_head_output(s, seq, head, NULL, 0, &count),
                     CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(count, n);
    float *out = malloc((n + 1) * sizeof *out);
    for (size_t i = 0; i <= n; i++)
        out[i] = SENTINEL;
    count = 0;
    ck_assert_int_eq(ce_session_head_output(s, seq, head, out, n - 1, &count),
                     CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(count, n);
    for (size_t i = 0; i <= n; i++)
        ck_assert_msg(out[i] == SENTINEL, "%s: a too small buffer was written at %zu", ctx, i);
    count = 0;
    ck_assert_msg(ce_session_head_output(s, seq, head, out, n + 1, &count) == CE_OK, "%s: %s", ctx,
                  ce_last_error());
    ck_assert_uint_eq(count, n);
    ck_assert(out[n] == SENTINEL);
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)out[i] - c->logits[h][i]);
        if (!(d <= worst)) {
            worst = d;
            at = i;
        }
    }
    ck_assert_msg(worst <= TOL, "%s %s: max diff %g at %zu (got %g, want %g)", ctx, head_keys[h],
                  worst, at, out[at], c->logits[h][at]);
    check_decisions(f, c, h, out, ctx);
    /* twice gives the same */
    float *again = malloc(n * sizeof *again);
    ck_assert_int_eq(ce_session_head_output(s, seq, head, again, n, &count), CE_OK);
    ck_assert(memcmp(out, again, n * sizeof *out) == 0);
    free(again);
    free(out);
}

/* The last hidden state of sequence @p seq (default selection: last layer, per token). */
static double hidden_diff(ce_session *s, size_t seq, const hcase *c, int64_t dim)
{
    size_t count = 0;
    ck_assert_int_eq(ce_session_output(s, seq, NULL, NULL, 0, &count), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(count, c->len * (size_t)dim);
    float *out = malloc(count * sizeof *out);
    ck_assert_int_eq(ce_session_output(s, seq, NULL, out, count, &count), CE_OK);
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)out[i] - c->hidden[i]);
        if (!(d <= worst))
            worst = d;
    }
    free(out);
    return worst;
}

static void check_sequence(ce_session *s, size_t seq, const hfix *f, const hcase *c,
                           const char *how)
{
    char ctx[256];
    snprintf(ctx, sizeof ctx, "%s/%s/%d %s %s", f->name, ce_session_backend(s),
             ce_session_threads(s), c->name, how);
    double d = hidden_diff(s, seq, c, f->dim);
    ck_assert_msg(d <= TOL, "%s: last hidden state max diff %g", ctx, d);
    for (int h = 0; h < N_HEADS; h++)
        if (has_head(f, h))
            check_head(s, seq, f, c, h, ctx);
}

/* ---- the reference cases on every backend run ---- */

START_TEST(test_fixture)
{
    const char *fixture = fixtures[_i / CE_TEST_N_RUNS];
    const char *backend = ce_test_run_backend(_i % CE_TEST_N_RUNS);
    if (!ce_test_has_backend(backend))
        return;
    hfix f;
    fix_open(fixture, &f);
    ce_model *m;
    ce_session *s = enc_open_session(f.dir, backend, ce_test_run_threads, &m);

    /* nothing to read before a run */
    float buf[8];
    size_t count = 0, shape[2], ndim;
    for (int h = 0; h < N_HEADS; h++) {
        if (!has_head(&f, h))
            continue;
        ck_assert_int_eq(ce_session_head_output(s, 0, (ce_head)h, buf, 8, &count), CE_ERR_STATE);
        ck_assert_int_eq(ce_session_head_shape(s, 0, (ce_head)h, shape, &ndim), CE_ERR_STATE);
    }

    /* every case alone */
    for (size_t i = 0; i < f.n; i++) {
        const hcase *c = &f.cases[i];
        ck_assert_msg(ce_session_run(s, 1, &c->len, c->ids, c->types) == CE_OK, "%s %s: %s",
                      fixture, c->name, ce_last_error());
        check_sequence(s, 0, &f, c, "alone");
        for (int h = 0; h < N_HEADS; h++) {
            ce_head head = (ce_head)h;
            if (has_head(&f, h)) {
                count = 7;
                ck_assert_int_eq(ce_session_head_output(s, 1, head, buf, 8, &count),
                                 CE_ERR_OUT_OF_RANGE);
                ck_assert_int_eq(ce_session_head_shape(s, 1, head, shape, &ndim),
                                 CE_ERR_OUT_OF_RANGE);
                continue;
            }
            count = 7;
            ck_assert_int_eq(ce_session_head_output(s, 0, head, buf, 8, &count), CE_ERR_NOT_FOUND);
            ck_assert_uint_eq(count, 7);
            check_lists_heads(&f, "head_output");
            ck_assert_int_eq(ce_session_head_output(s, 0, head, NULL, 0, &count), CE_ERR_NOT_FOUND);
            ck_assert_int_eq(ce_session_head_shape(s, 0, head, shape, &ndim), CE_ERR_NOT_FOUND);
            check_lists_heads(&f, "head_shape");
        }
        ce_status st = ce_session_head_output(s, 0, (ce_head)N_HEADS, buf, 8, &count);
        ck_assert_msg(st == CE_ERR_INVALID_ARGUMENT || st == CE_ERR_NOT_FOUND, "unknown head: %s",
                      ce_status_str(st));
    }

    /* all cases packed into one run, then in the opposite order */
    for (int reverse = 0; reverse < 2; reverse++) {
        size_t total = 0, lens[16];
        for (size_t i = 0; i < f.n; i++)
            total += f.cases[i].len;
        int32_t *ids = malloc(total * sizeof *ids), *types = malloc(total * sizeof *types);
        for (size_t k = 0, at = 0; k < f.n; k++) {
            const hcase *c = &f.cases[reverse ? f.n - 1 - k : k];
            lens[k] = c->len;
            memcpy(ids + at, c->ids, c->len * sizeof *ids);
            memcpy(types + at, c->types, c->len * sizeof *types);
            at += c->len;
        }
        ck_assert_msg(ce_session_run(s, f.n, lens, ids, types) == CE_OK, "%s", ce_last_error());
        ck_assert_uint_eq(ce_session_num_sequences(s), f.n);
        for (size_t k = 0; k < f.n; k++)
            check_sequence(s, k, &f, &f.cases[reverse ? f.n - 1 - k : k],
                           reverse ? "packed, reversed" : "packed");
        for (int h = 0; h < N_HEADS; h++)
            if (has_head(&f, h))
                ck_assert_int_eq(ce_session_head_output(s, f.n, (ce_head)h, buf, 8, &count),
                                 CE_ERR_OUT_OF_RANGE);
        free(ids);
        free(types);
    }

    /* a failed run leaves no results */
    int32_t bad = 1 << 30;
    size_t one = 1;
    ck_assert_int_ne(ce_session_run(s, 1, &one, &bad, NULL), CE_OK);
    for (int h = 0; h < N_HEADS; h++)
        if (has_head(&f, h))
            ck_assert_int_eq(ce_session_head_output(s, 0, (ce_head)h, buf, 8, &count),
                             CE_ERR_STATE);

    ce_session_free(s);
    ce_model_free(m);
    fix_close(&f);
}
END_TEST

/* ---- model facts: CE_INFO_HEADS, sizes, labels ---- */

START_TEST(test_info)
{
    const char *fixture = fixtures[_i];
    hfix f;
    fix_open(fixture, &f);
    ce_model *m;
    ck_assert_msg(ce_model_open(f.dir, NULL, &m) == CE_OK, "%s: %s", fixture, ce_last_error());
    ck_assert_str_eq(ce_model_architecture(m), ce_json_get_string(f.doc, "family"));
    int64_t v = -1;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HEADS, &v), CE_OK);
    ck_assert_msg(v == f.heads, "%s: CE_INFO_HEADS %lld, want %lld", fixture, (long long)v,
                  (long long)f.heads);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MULTI_LABEL, &v), CE_OK);
    ck_assert_int_eq(v, json_int(f.doc, "multi_label"));
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, f.dim);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, enc_model_int(f.doc, "vocab_size"));

    const ce_json *labels = ce_json_get(f.doc, "labels");
    for (int h = 0; h < N_HEADS; h++) {
        ce_head head = (ce_head)h;
        size_t size = 12345;
        if (!has_head(&f, h)) {
            ck_assert_int_eq(ce_model_head_size(m, head, &size), CE_ERR_NOT_FOUND);
            ck_assert_uint_eq(size, 12345);
            check_lists_heads(&f, "head_size");
            ck_assert_ptr_null(ce_model_head_label(m, head, 0));
            continue;
        }
        ck_assert_msg(ce_model_head_size(m, head, &size) == CE_OK, "%s", ce_last_error());
        ck_assert_msg(size == f.size[h], "%s: %s size %zu, want %zu", fixture, head_keys[h], size,
                      f.size[h]);
        const ce_json *want = ce_json_get(labels, head_keys[h]);
        if (h == CE_HEAD_MASKED_LM) {
            ck_assert_ptr_null(want);
            ck_assert_ptr_null(ce_model_head_label(m, head, 0));
            ck_assert_uint_eq(size, (size_t)enc_model_int(f.doc, "vocab_size"));
        } else {
            ck_assert_ptr_nonnull(want);
            ck_assert_uint_eq(want->n, size);
            for (size_t i = 0; i < size; i++) {
                const char *got = ce_model_head_label(m, head, i);
                ck_assert_msg(got && !strcmp(got, want->items[i]->str),
                              "%s: %s label %zu is %s, want %s", fixture, head_keys[h], i,
                              got ? got : "NULL", want->items[i]->str);
            }
        }
        ck_assert_ptr_null(ce_model_head_label(m, head, size));
        ck_assert_ptr_null(ce_model_head_label(m, head, (size_t)-1));
    }
    /* the defaults Hugging Face gives */
    if (!strcmp(fixture, "heads-bert-seqcls-nolabels")) {
        ck_assert_str_eq(ce_model_head_label(m, CE_HEAD_SEQUENCE_CLASSIFICATION, 0), "LABEL_0");
        ck_assert_str_eq(ce_model_head_label(m, CE_HEAD_SEQUENCE_CLASSIFICATION, 1), "LABEL_1");
    }
    if (has_head(&f, CE_HEAD_NEXT_SENTENCE)) {
        ck_assert_str_eq(ce_model_head_label(m, CE_HEAD_NEXT_SENTENCE, 0), "is_next");
        ck_assert_str_eq(ce_model_head_label(m, CE_HEAD_NEXT_SENTENCE, 1), "not_next");
    }
    if (has_head(&f, CE_HEAD_QUESTION_ANSWERING)) {
        ck_assert_str_eq(ce_model_head_label(m, CE_HEAD_QUESTION_ANSWERING, 0), "start");
        ck_assert_str_eq(ce_model_head_label(m, CE_HEAD_QUESTION_ANSWERING, 1), "end");
    }

    /* bad arguments */
    size_t size = 12345;
    ck_assert_int_eq(ce_model_head_size(m, (ce_head)N_HEADS, &size), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_model_head_size(m, (ce_head)-1, &size), CE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(size, 12345);
    ck_assert_ptr_null(ce_model_head_label(m, (ce_head)N_HEADS, 0));
    ck_assert_ptr_null(ce_model_head_label(NULL, CE_HEAD_SEQUENCE_CLASSIFICATION, 0));
    ck_assert_int_ne(ce_model_head_size(NULL, CE_HEAD_MASKED_LM, &size), CE_OK);
    ck_assert_uint_eq(size, 12345);

    /* a session that never ran */
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    size_t count = 99, shape[2], ndim;
    for (int h = 0; h < N_HEADS; h++)
        if (has_head(&f, h)) {
            ck_assert_int_eq(ce_session_head_output(s, 0, (ce_head)h, NULL, 0, &count),
                             CE_ERR_STATE);
            ck_assert_int_eq(ce_session_head_shape(s, 0, (ce_head)h, shape, &ndim), CE_ERR_STATE);
        }
    ck_assert_int_ne(ce_session_head_output(NULL, 0, CE_HEAD_MASKED_LM, NULL, 0, &count), CE_OK);
    ce_session_free(s);
    ce_model_free(m);
    fix_close(&f);
}
END_TEST

/* Text cases through the model's tokenizer ([MASK] / <mask> in the text, pairs). */
START_TEST(test_text_cases)
{
    const char *fixture = fixtures[_i];
    hfix f;
    fix_open(fixture, &f);
    ce_model *m;
    ck_assert_msg(ce_model_open(f.dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    int check_types = !strcmp(ce_json_get_string(f.doc, "family"), "bert");
    for (size_t i = 0; i < f.n; i++) {
        const hcase *c = &f.cases[i];
        const ce_json *text = ce_json_get(c->json, "text"),
                      *pair = ce_json_get(c->json, "text_pair");
        ck_assert_ptr_nonnull(text);
        ce_encoding *e;
        ck_assert_msg(ce_tokenizer_encode(tok, text->str, text->len, pair ? pair->str : NULL,
                                          pair ? pair->len : 0, CE_ENCODE_ADD_SPECIAL, 0,
                                          &e) == CE_OK,
                      "%s", ce_last_error());
        ck_assert_msg(ce_encoding_length(e) == c->len, "%s %s \"%s\": %zu tokens, want %zu",
                      fixture, c->name, text->str, ce_encoding_length(e), c->len);
        for (size_t j = 0; j < c->len; j++) {
            ck_assert_msg(ce_encoding_ids(e)[j] == c->ids[j],
                          "%s %s \"%s\": token %zu is %d, want %d", fixture, c->name, text->str, j,
                          (int)ce_encoding_ids(e)[j], (int)c->ids[j]);
            if (check_types)
                ck_assert_int_eq(ce_encoding_type_ids(e)[j], c->types[j]);
        }
        ce_encoding_free(e);
    }
    ce_model_free(m);
    fix_close(&f);
}
END_TEST

/* ---- checkpoints of the other suites: bare encoders (a pooler is not a head) and MLM ones ---- */

static const struct {
    const char *fixture;
    int64_t heads;
} others[] = {
    {"bert-tiny-uncased", 0},                        /* BertModel with pooler */
    {"bert-tiny-sharded", 0},                        /* BertModel with pooler, BF16 shards */
    {"roberta-tiny-plain", 0},                       /* RobertaModel with pooler */
    {"distilbert-tiny", 0},                          /* DistilBertModel */
    {"bert-tiny-cased", 1 << CE_HEAD_MASKED_LM},     /* BertForMaskedLM, F16 */
    {"roberta-tiny", 1 << CE_HEAD_MASKED_LM},        /* RobertaForMaskedLM */
    {"distilbert-tiny-mlm", 1 << CE_HEAD_MASKED_LM}, /* DistilBertForMaskedLM, F16 */
};

START_TEST(test_other_checkpoints)
{
    const char *fixture = others[_i].fixture;
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_model *m;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s: %s", fixture, ce_last_error());
    int64_t v = -1, vocab;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HEADS, &v), CE_OK);
    ck_assert_msg(v == others[_i].heads, "%s: CE_INFO_HEADS %lld, want %lld", fixture, (long long)v,
                  (long long)others[_i].heads);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MULTI_LABEL, &v), CE_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_VOCAB_SIZE, &vocab), CE_OK);

    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    ce_json *doc = enc_cases_json(fixture);
    const ce_json *c = ce_json_get(doc, "cases")->items[1];
    const ce_json *ids_j = ce_json_get(c, "input_ids");
    size_t T = ids_j->n;
    int32_t *ids = malloc(T * sizeof *ids);
    for (size_t j = 0; j < T; j++)
        ids[j] = (int32_t)ids_j->items[j]->integer;
    ck_assert_int_eq(ce_session_run(s, 1, &T, ids, NULL), CE_OK);
    for (int h = 0; h < N_HEADS; h++) {
        ce_head head = (ce_head)h;
        size_t size = 12345, count = 7, shape[2], ndim;
        float buf[4];
        if (!((others[_i].heads >> h) & 1)) {
            ck_assert_int_eq(ce_model_head_size(m, head, &size), CE_ERR_NOT_FOUND);
            ck_assert_uint_eq(size, 12345);
            ck_assert_ptr_null(ce_model_head_label(m, head, 0));
            ck_assert_int_eq(ce_session_head_output(s, 0, head, buf, 4, &count), CE_ERR_NOT_FOUND);
            ck_assert_uint_eq(count, 7);
            ck_assert_int_eq(ce_session_head_shape(s, 0, head, shape, &ndim), CE_ERR_NOT_FOUND);
            if (others[_i].heads)
                ck_assert_msg(contains_ci(ce_last_error(), "masked"),
                              "message \"%s\" lacks \"masked\"", ce_last_error());
            continue;
        }
        /* the masked LM of the other suites' checkpoints: [T, vocab], finite */
        ck_assert_int_eq(ce_model_head_size(m, head, &size), CE_OK);
        ck_assert_uint_eq(size, (size_t)vocab);
        ck_assert_int_eq(ce_session_head_shape(s, 0, head, shape, &ndim), CE_OK);
        ck_assert_uint_eq(ndim, 2);
        ck_assert_uint_eq(shape[0], T);
        ck_assert_uint_eq(shape[1], (size_t)vocab);
        ck_assert_int_eq(ce_session_head_output(s, 0, head, NULL, 0, &count),
                         CE_ERR_BUFFER_TOO_SMALL);
        ck_assert_uint_eq(count, T * (size_t)vocab);
        float *out = malloc(count * sizeof *out);
        ck_assert_int_eq(ce_session_head_output(s, 0, head, out, count, &count), CE_OK);
        for (size_t i = 0; i < count; i++)
            ck_assert_msg(isfinite(out[i]), "%s: logit %zu is %g", fixture, i, out[i]);
        free(out);
    }
    free(ids);
    ce_json_free(doc);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* ---- bad input, each in a scratch copy of a fixture ---- */

/* id2label (and label2id with it) with one label more or fewer than the classifier has rows */
static const struct {
    const char *fixture;
    const char *from[2], *to[2]; /* id2label, label2id */
} label_edits[] = {
    {"heads-bert-seqcls",
     {"\"2\": \"positive\"", "\"positive\": 2"},
     {"\"2\": \"positive\",\n    \"3\": \"extra\"", "\"positive\": 2,\n    \"extra\": 3"}},
    {"heads-bert-seqcls", {",\n    \"2\": \"positive\"", ",\n    \"positive\": 2"}, {"", ""}},
    {"heads-bert-tokcls", {",\n    \"4\": \"I-LOC\"", "\"I-LOC\": 4,\n    "}, {"", ""}},
    {"heads-roberta-seqcls",
     {"\"2\": \"entailment\"", "\"entailment\": 2"},
     {"\"2\": \"entailment\",\n    \"3\": \"extra\"", "\"entailment\": 2,\n    \"extra\": 3"}},
    {"heads-distilbert-seqcls", {",\n    \"1\": \"POSITIVE\"", ",\n    \"POSITIVE\": 1"}, {"", ""}},
};

START_TEST(test_id2label_count)
{
    enc_tmp_copy(label_edits[_i].fixture);
    enc_tmp_replace("config.json", label_edits[_i].from[0], label_edits[_i].to[0]);
    enc_tmp_replace("config.json", label_edits[_i].from[1], label_edits[_i].to[1]);
    enc_expect_open_failure(CE_ERR_FORMAT, CE_OK, "id2label");
}
END_TEST

/* a head tensor of the wrong shape: dimension @c dim becomes @c size */
static const struct {
    const char *fixture, *tensor;
    int dim;
    int64_t size;
} shape_edits[] = {
    {"heads-bert-seqcls", "classifier.weight", 1, 16},
    {"heads-bert-seqcls-nolabels", "classifier.weight", 1, 31},
    {"heads-bert-tokcls", "classifier.bias", 0, 4},
    {"heads-bert-nsp", "cls.seq_relationship.weight", 1, 16},
    {"heads-bert-pretraining", "cls.seq_relationship.bias", 0, 1},
    {"heads-bert-qa", "qa_outputs.weight", 1, 16},
    {"heads-bert-mlm", "cls.predictions.bias", 0, 282},
    {"heads-bert-mlm", "cls.predictions.transform.dense.weight", 1, 16},
    {"heads-roberta-seqcls", "classifier.out_proj.weight", 1, 16},
    {"heads-roberta-seqcls", "classifier.dense.weight", 0, 16},
    {"heads-roberta-mlm", "lm_head.bias", 0, 560},
    {"heads-roberta-qa", "qa_outputs.weight", 1, 16},
    {"heads-distilbert-seqcls", "pre_classifier.weight", 1, 16},
    {"heads-distilbert-tokcls", "classifier.weight", 1, 16},
    {"heads-distilbert-mlm", "vocab_transform.weight", 1, 16},
    {"heads-distilbert-mlm", "vocab_projector.bias", 0, 100},
};

START_TEST(test_head_tensor_shape)
{
    enc_tmp_copy(shape_edits[_i].fixture);
    enc_tensors ts;
    enc_tensors_read(enc_tmp_path("model.safetensors"), &ts);
    int k = enc_tensors_find(&ts, shape_edits[_i].tensor);
    ck_assert_msg(k >= 0, "no tensor %s", shape_edits[_i].tensor);
    enc_tensor *t = &ts.t[k];
    ck_assert_int_lt(shape_edits[_i].dim, t->ndim);
    ck_assert_int_lt(shape_edits[_i].size, t->shape[shape_edits[_i].dim]);
    size_t elems = 1;
    t->shape[shape_edits[_i].dim] = shape_edits[_i].size;
    for (int d = 0; d < t->ndim; d++)
        elems *= (size_t)t->shape[d];
    t->nbytes = elems * 4; /* F32: a prefix of the old data */
    enc_tensors_write(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_close(&ts);
    enc_expect_open_failure(CE_ERR_FORMAT, CE_OK, shape_edits[_i].tensor);
}
END_TEST

/* a head with one of its tensors missing is an error, not a head silently dropped */
static const struct {
    const char *fixture, *tensor;
} missing[] = {
    {"heads-bert-seqcls", "classifier.bias"},
    {"heads-bert-mlm", "cls.predictions.transform.LayerNorm.weight"},
    {"heads-roberta-seqcls", "classifier.dense.bias"},
    {"heads-roberta-mlm", "lm_head.dense.weight"},
    {"heads-distilbert-mlm", "vocab_layer_norm.bias"},
    {"heads-distilbert-qa", "qa_outputs.bias"},
};

START_TEST(test_head_tensor_missing)
{
    enc_tmp_copy(missing[_i].fixture);
    enc_tensors ts;
    enc_tensors_read(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_drop(&ts, missing[_i].tensor);
    enc_tensors_write(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_close(&ts);
    enc_expect_open_failure(CE_ERR_NOT_FOUND, CE_ERR_FORMAT, missing[_i].tensor);
}
END_TEST

/* problem_type other than multi_label_classification: labels are exclusive */
START_TEST(test_problem_type)
{
    const char *dir = enc_tmp_copy("heads-bert-seqcls-multilabel");
    enc_tmp_replace("config.json", "\"multi_label_classification\"",
                    "\"single_label_classification\"");
    ce_model *m;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    int64_t v = -1;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_MULTI_LABEL, &v), CE_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HEADS, &v), CE_OK);
    ck_assert_int_eq(v, 1 << CE_HEAD_SEQUENCE_CLASSIFICATION);
    ce_model_free(m);
}
END_TEST

/* next-sentence labels named by the config win over is_next / not_next */
START_TEST(test_nsp_named_labels)
{
    const char *dir = enc_tmp_copy("heads-bert-nsp");
    enc_tmp_replace(
        "config.json", "\"hidden_size\": 32,",
        "\"hidden_size\": 32,\n  \"id2label\": {\"0\": \"IsNext\", \"1\": \"NotNext\"},\n"
        "  \"label2id\": {\"IsNext\": 0, \"NotNext\": 1},");
    ce_model *m;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    const char *l0 = ce_model_head_label(m, CE_HEAD_NEXT_SENTENCE, 0),
               *l1 = ce_model_head_label(m, CE_HEAD_NEXT_SENTENCE, 1);
    ck_assert_msg(l0 && !strcmp(l0, "IsNext"), "label 0 is %s", l0 ? l0 : "NULL");
    ck_assert_msg(l1 && !strcmp(l1, "NotNext"), "label 1 is %s", l1 ? l1 : "NULL");
    ck_assert_ptr_null(ce_model_head_label(m, CE_HEAD_NEXT_SENTENCE, 2));
    ce_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("heads");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_fixture, 0, N_FIXTURES * CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_info, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_text_cases, 0, N_FIXTURES);
    tcase_add_loop_test(tc, test_other_checkpoints, 0, (int)(sizeof others / sizeof *others));
    suite_add_tcase(s, tc);

    TCase *bad = tcase_create("bad-input");
    tcase_add_unchecked_fixture(bad, enc_root_create, enc_root_remove);
    tcase_add_loop_test(bad, test_id2label_count, 0,
                        (int)(sizeof label_edits / sizeof *label_edits));
    tcase_add_loop_test(bad, test_head_tensor_shape, 0,
                        (int)(sizeof shape_edits / sizeof *shape_edits));
    tcase_add_loop_test(bad, test_head_tensor_missing, 0, (int)(sizeof missing / sizeof *missing));
    tcase_add_test(bad, test_problem_type);
    tcase_add_test(bad, test_nsp_named_labels);
    suite_add_tcase(s, bad);
    return ce_test_run(s);
}
