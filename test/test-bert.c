/* BERT end to end against the PyTorch reference (test/gen/gen_bert.py): every layer of every
 * fixture case within 1e-4, on every built backend (1 and 2 threads), one sequence at a time and
 * packed in batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contextembed/contextembed.h"
#include "io/json.h"
#include "io/weights.h"
#include "test-util.h"

#define TOL 1e-4

static const char *const fixtures[] = {"bert-tiny-uncased", "bert-tiny-cased", "bert-tiny-sharded"};

typedef struct ref_case {
    char name[64];
    size_t len;
    int32_t *ids, *types;
    const float *hidden; /* [L+1, T, D] inside the mapping (float32 view) */
} ref_case;

typedef struct ref_set {
    ce_weights *w;
    ref_case cases[64];
    size_t n;
} ref_set;

static int32_t *read_i32(ce_weights *w, const char *name, size_t *len)
{
    const ce_tensor_info *t = ce_weights_find(w, name);
    ck_assert_msg(t != NULL, "missing %s", name);
    ck_assert_int_eq(t->dtype, CE_DTYPE_I32);
    *len = (size_t)t->shape[0];
    int32_t *v = malloc(*len * sizeof *v + 1);
    memcpy(v, t->data, *len * sizeof *v);
    return v;
}

/* Cases whose name starts with @p prefix ("case" or "batch"), in file order. */
static void load_refs(const char *dir, const char *prefix, int64_t layers, int64_t dim, ref_set *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    ck_assert_int_eq(ce_weights_open_file(path, &r->w), CE_OK);
    r->n = 0;
    for (size_t i = 0; i < ce_weights_count(r->w); i++) {
        const ce_tensor_info *t = ce_weights_at(r->w, i);
        const char *dot = strstr(t->name, ".hidden_states");
        if (!dot || strncmp(t->name, prefix, strlen(prefix)) || dot[14] != '\0')
            continue;
        ref_case *c = &r->cases[r->n++];
        snprintf(c->name, sizeof c->name, "%.*s", (int)(dot - t->name), t->name);
        char name[128];
        size_t n2;
        snprintf(name, sizeof name, "%s.input_ids", c->name);
        c->ids = read_i32(r->w, name, &c->len);
        snprintf(name, sizeof name, "%s.token_type_ids", c->name);
        c->types = read_i32(r->w, name, &n2);
        ck_assert_uint_eq(n2, c->len);
        int64_t shape[3] = {layers + 1, (int64_t)c->len, dim};
        ck_assert_int_eq(ce_weights_get_f32(r->w, t->name, 3, shape, &c->hidden), CE_OK);
    }
    ck_assert_uint_gt(r->n, 0);
}

static void free_refs(ref_set *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->cases[i].ids);
        free(r->cases[i].types);
    }
    ce_weights_close(r->w);
}

static double compare(ce_session *s, size_t seq, const ref_case *c)
{
    ce_select *all;
    ck_assert_int_eq(ce_select_create(&all), CE_OK);
    ck_assert_int_eq(ce_select_layers(all, NULL, 0), CE_OK);
    size_t count = 0;
    ck_assert_int_eq(ce_session_output(s, seq, all, NULL, 0, &count), CE_ERR_BUFFER_TOO_SMALL);
    float *out = malloc(count * sizeof *out);
    ck_assert_int_eq(ce_session_output(s, seq, all, out, count, &count), CE_OK);
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)out[i] - c->hidden[i]);
        if (!(d <= worst))
            worst = d;
    }
    free(out);
    ce_select_free(all);
    return worst;
}

static int run_threads = 2; /* of the run in progress */

static ce_session *open_session(const char *dir, const char *backend, ce_model **m)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, run_threads), CE_OK);
    ck_assert_msg(ce_model_open(dir, o, m) == CE_OK, "%s: %s", dir, ce_last_error());
    ce_session *s;
    ck_assert_msg(ce_session_create(*m, o, &s) == CE_OK, "%s", ce_last_error());
    ck_assert_str_eq(ce_session_backend(s), backend);
    ce_options_free(o);
    return s;
}

static void run_fixture(const char *fixture, const char *backend)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", ce_test_fixtures(), fixture);
    ce_model *m;
    ce_session *s = open_session(dir, backend, &m);
    int64_t layers, dim;
    ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim);
    ref_set r;
    load_refs(dir, "case", layers, dim, &r);

    /* one sequence per run */
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_int_eq(ce_session_run(s, 1, &r.cases[i].len, r.cases[i].ids, r.cases[i].types),
                         CE_OK);
        double d = compare(s, 0, &r.cases[i]);
        ck_assert_msg(d <= TOL, "%s/%s %s: max diff %g", fixture, backend, r.cases[i].name, d);
    }
    /* every case packed into one run */
    size_t total = 0, lens[64];
    for (size_t i = 0; i < r.n; i++)
        total += lens[i] = r.cases[i].len;
    int32_t *ids = malloc(total * sizeof *ids), *types = malloc(total * sizeof *types);
    for (size_t i = 0, at = 0; i < r.n; at += r.cases[i].len, i++) {
        memcpy(ids + at, r.cases[i].ids, r.cases[i].len * sizeof *ids);
        memcpy(types + at, r.cases[i].types, r.cases[i].len * sizeof *types);
    }
    ck_assert_int_eq(ce_session_run(s, r.n, lens, ids, types), CE_OK);
    ck_assert_uint_eq(ce_session_num_sequences(s), r.n);
    for (size_t i = 0; i < r.n; i++) {
        double d = compare(s, i, &r.cases[i]);
        ck_assert_msg(d <= TOL, "%s/%s batched %s: max diff %g", fixture, backend, r.cases[i].name, d);
    }
    free(ids);
    free(types);
    free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
}

/* The reference ran these sequences together, padded with an attention mask. */
static void run_padded_batch(const char *fixture, const char *backend)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", ce_test_fixtures(), fixture);
    ce_model *m;
    ce_session *s = open_session(dir, backend, &m);
    int64_t layers, dim;
    ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers);
    ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim);
    ref_set r;
    load_refs(dir, "batch", layers, dim, &r);
    size_t total = 0, lens[64];
    for (size_t i = 0; i < r.n; i++)
        total += lens[i] = r.cases[i].len;
    int32_t *ids = malloc(total * sizeof *ids), *types = malloc(total * sizeof *types);
    for (size_t i = 0, at = 0; i < r.n; at += r.cases[i].len, i++) {
        memcpy(ids + at, r.cases[i].ids, r.cases[i].len * sizeof *ids);
        memcpy(types + at, r.cases[i].types, r.cases[i].len * sizeof *types);
    }
    ck_assert_int_eq(ce_session_run(s, r.n, lens, ids, types), CE_OK);
    for (size_t i = 0; i < r.n; i++) {
        double d = compare(s, i, &r.cases[i]);
        ck_assert_msg(d <= TOL, "%s/%s %s: max diff %g", fixture, backend, r.cases[i].name, d);
    }
    free(ids);
    free(types);
    free_refs(&r);
    ce_session_free(s);
    ce_model_free(m);
}

START_TEST(test_fixture_ref)
{
    run_fixture(fixtures[_i], "ref");
    run_padded_batch(fixtures[_i], "ref");
}
END_TEST

/* Every other built backend, at 1 and 2 threads. */
START_TEST(test_fixture_backends)
{
    for (size_t b = 0; b < ce_backend_count(); b++) {
        const char *name = ce_backend_name(b);
        if (!strcmp(name, "ref"))
            continue;
        for (run_threads = 1; run_threads <= 2; run_threads++) {
            run_fixture(fixtures[_i], name);
            run_padded_batch(fixtures[_i], name);
        }
    }
    run_threads = 2;
}
END_TEST

/* Text cases: the model's own tokenizer must give the reference ids and token types. */
static void check_text_cases(const char *fixture)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s", ce_test_fixtures(), fixture);
    snprintf(path, sizeof path, "%s/cases.json", dir);
    ce_json *doc;
    ck_assert_int_eq(ce_json_parse_file(path, &doc), CE_OK);
    ce_model *m;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    const ce_json *cases = ce_json_get(doc, "cases");
    int checked = 0;
    for (size_t i = 0; i < cases->n; i++) {
        const ce_json *c = cases->items[i];
        const ce_json *text = ce_json_get(c, "text"), *pair = ce_json_get(c, "text_pair");
        if (!text)
            continue;
        ce_encoding *e;
        ck_assert_int_eq(ce_tokenizer_encode(tok, text->str, text->len, pair ? pair->str : NULL,
                                             pair ? pair->len : 0, CE_ENCODE_ADD_SPECIAL, 0, &e),
                         CE_OK);
        const ce_json *want = ce_json_get(c, "input_ids"), *want_t = ce_json_get(c, "token_type_ids");
        ck_assert_uint_eq(ce_encoding_length(e), want->n);
        for (size_t j = 0; j < want->n; j++) {
            ck_assert_int_eq(ce_encoding_ids(e)[j], want->items[j]->integer);
            ck_assert_int_eq(ce_encoding_type_ids(e)[j], want_t->items[j]->integer);
        }
        ce_encoding_free(e);
        checked++;
    }
    ck_assert_int_gt(checked, 0);
    ce_model_free(m);
    ce_json_free(doc);
}

START_TEST(test_text_cases)
{
    check_text_cases(fixtures[_i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bert");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 300);
    int n = (int)(sizeof fixtures / sizeof *fixtures);
    tcase_add_loop_test(tc, test_fixture_ref, 0, n);
    tcase_add_loop_test(tc, test_fixture_backends, 0, n);
    tcase_add_loop_test(tc, test_text_cases, 0, n);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
