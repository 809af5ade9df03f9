/* ELMo end to end.
 *
 * refdata (skipped when absent): bilm-tf's trained test model fed its three
 * streams as TensorFlow was (carried state per batch row) reproduces
 * expected.safetensors; stateless runs reproduce the derived numpy layers
 * (boundaries included), token embeddings and character ids.
 * Fixtures (test/gen/gen_elmo.py, always run): skip connections, tanh, 1 and
 * 3 layers, no projections, carried state, the scalar mix; and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/model_internal.h"
#include "architectures/elmo.h"
#include "contextembed/contextembed.h"
#include "io/json.h"
#include "io/weights.h"
#include "test-util.h"
#include "tokenizers/elmo_chars.h"

#define TOL 1e-5

static const char *const fixtures[] = {"elmo-skip", "elmo-tanh", "elmo-3layer"};
static double worst_seen; /* largest error of the comparisons of the running test */

/* ---- helpers ---------------------------------------------------------- */

/* Sentences as one text with word offsets, as ce_session_run_words takes them. */
typedef struct words {
    char text[1 << 16];
    size_t len, n_seqs, total;
    size_t n_words[64];
    size_t offsets[2 * 4096];
} words;

static void words_add_word(words *w, const char *s, size_t n)
{
    ck_assert(w->len + n + 1 < sizeof w->text && w->total < 4096);
    w->offsets[2 * w->total] = w->len;
    memcpy(w->text + w->len, s, n);
    w->len += n;
    w->offsets[2 * w->total + 1] = w->len;
    w->text[w->len++] = ' ';
    w->total++;
    w->n_words[w->n_seqs - 1]++;
}

static void words_begin(words *w)
{
    ck_assert(w->n_seqs < 64);
    w->n_words[w->n_seqs++] = 0;
}

/* A sentence from a JSON list of strings. */
static void words_add_json(words *w, const ce_json *list)
{
    ck_assert(list && list->type == CE_JSON_ARRAY);
    words_begin(w);
    for (size_t i = 0; i < list->n; i++)
        words_add_word(w, list->items[i]->str, list->items[i]->len);
}

/* A sentence split by the model's whitespace tokenizer. */
static void words_add_text(words *w, const ce_tokenizer *tok, const char *text)
{
    ce_encoding *enc;
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, strlen(text), NULL, 0, 0, 0, &enc), CE_OK);
    words_begin(w);
    const size_t *o = ce_encoding_offsets(enc);
    for (size_t i = 0; i < ce_encoding_length(enc); i++) {
        ck_assert_int_eq(ce_encoding_ids(enc)[i], -1);
        words_add_word(w, text + o[2 * i], o[2 * i + 1] - o[2 * i]);
    }
    ce_encoding_free(enc);
}

static ce_status words_run(ce_session *s, const words *w)
{
    return ce_session_run_words(s, w->n_seqs, w->n_words, w->text, w->len, w->offsets);
}

static ce_session *open_session(const char *dir, const char *backend, int carry, ce_model **m)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, ce_test_run_threads), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_CARRY_STATE, carry), CE_OK);
    ck_assert_msg(ce_model_open(dir, o, m) == CE_OK, "%s: %s", dir, ce_last_error());
    ce_session *s;
    ck_assert_msg(ce_session_create(*m, o, &s) == CE_OK, "%s", ce_last_error());
    ce_options_free(o);
    return s;
}

/* Max |output - expected| of sequence @p seq read with @p sel (all layers when NULL). */
static double compare_sel(ce_session *s, size_t seq, ce_select *sel, const float *expected,
                          size_t n_expected)
{
    ce_select *all = NULL;
    if (!sel) {
        ck_assert_int_eq(ce_select_create(&all), CE_OK);
        ck_assert_int_eq(ce_select_layers(all, NULL, 0), CE_OK);
        sel = all;
    }
    size_t count = 0;
    ck_assert_int_eq(ce_session_output(s, seq, sel, NULL, 0, &count), CE_ERR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(count, n_expected);
    float *out = malloc(count * sizeof *out);
    ck_assert_int_eq(ce_session_output(s, seq, sel, out, count, &count), CE_OK);
    double worst = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)out[i] - expected[i]);
        if (!(d <= worst))
            worst = d;
    }
    free(out);
    ce_select_free(all);
    if (worst > worst_seen)
        worst_seen = worst;
    return worst;
}

static const float *tensor(ce_weights *w, const char *name, size_t *count)
{
    const ce_tensor_info *t = ce_weights_find(w, name);
    ck_assert_msg(t != NULL, "missing %s", name);
    int64_t shape[CE_TENSOR_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    const float *p;
    ck_assert_int_eq(ce_weights_get_f32(w, name, t->ndim, shape, &p), CE_OK);
    *count = t->nbytes / sizeof(float);
    return p;
}

/* A temporary model directory: @p options as options.json, model.safetensors
 * a symlink to @p weights. */
static void make_model_dir(char *dir, size_t cap, const char *options, size_t len,
                           const char *weights)
{
    snprintf(dir, cap, "/tmp/ce-test-elmo-XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
    char path[4200];
    snprintf(path, sizeof path, "%s/options.json", dir);
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(options, 1, len, f) == len);
    fclose(f);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ck_assert_int_eq(symlink(weights, path), 0);
}

static void remove_model_dir(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/options.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- character ids ---------------------------------------------------- */

START_TEST(test_char_ids)
{
    int32_t ids[50], want[50];
    for (int i = 0; i < 50; i++)
        want[i] = 261;
    want[0] = 259, want[1] = 'a' + 1, want[2] = 'b' + 1, want[3] = 260;
    ce_elmo_word_char_ids("ab", 2, 50, ids);
    ck_assert_mem_eq(ids, want, sizeof ids);
    ce_elmo_boundary_char_ids(0, 50, ids);
    ck_assert(ids[0] == 259 && ids[1] == 257 && ids[2] == 260 && ids[3] == 261 && ids[49] == 261);
    ce_elmo_boundary_char_ids(1, 50, ids);
    ck_assert(ids[1] == 258);
    ce_elmo_word_char_ids("</S>", 4, 50, want);
    ck_assert_mem_eq(ids, want, sizeof ids);
    /* 61 bytes ("a" + 30 x "é"): the first 48 are kept, cutting the 24th "é" */
    char word[64] = "a";
    for (int i = 0; i < 30; i++)
        memcpy(word + 1 + 2 * i, "\xc3\xa9", 2);
    ce_elmo_word_char_ids(word, 61, 50, ids);
    ck_assert_int_eq(ids[0], 259);
    ck_assert_int_eq(ids[1], 'a' + 1);
    ck_assert_int_eq(ids[47], 0xa9 + 1); /* byte 46: the end of the 23rd "é" */
    ck_assert_int_eq(ids[48], 0xc3 + 1); /* byte 47: the lead byte of the 24th "é" */
    ck_assert_int_eq(ids[49], 260);
    /* a short max_characters_per_token */
    int32_t small[5];
    ce_elmo_word_char_ids("hello", 5, 5, small);
    ck_assert(small[0] == 259 && small[1] == 'h' + 1 && small[3] == 'l' + 1 && small[4] == 260);
}
END_TEST

/* ---- refdata: bilm-tf ------------------------------------------------- */

typedef struct bilm {
    char dir[256];
    ce_json *inputs;
    ce_weights *expected, *derived;
} bilm;

static int bilm_open(bilm *b)
{
    const char *ref = ce_test_refdata();
    if (!ref)
        return 0;
    char base[4096], path[4200];
    snprintf(base, sizeof base, "%s/elmo/bilm-tf", ref);
    snprintf(path, sizeof path, "%s/options.json", base);
    size_t len;
    char *options = ce_test_read_file(path, &len);
    ck_assert(options != NULL);
    snprintf(path, sizeof path, "%s/lm_weights.safetensors", base);
    make_model_dir(b->dir, sizeof b->dir, options, len, path);
    free(options);
    snprintf(path, sizeof path, "%s/inputs.json", base);
    ck_assert_int_eq(ce_json_parse_file(path, &b->inputs), CE_OK);
    snprintf(path, sizeof path, "%s/expected.safetensors", base);
    ck_assert_int_eq(ce_weights_open_file(path, &b->expected), CE_OK);
    snprintf(path, sizeof path, "%s/derived/derived_numpy_ref.safetensors", base);
    ck_assert_int_eq(ce_weights_open_file(path, &b->derived), CE_OK);
    return 1;
}

static void bilm_close(bilm *b)
{
    remove_model_dir(b->dir);
    ce_json_free(b->inputs);
    ce_weights_close(b->expected);
    ce_weights_close(b->derived);
}

static const char *sentence(const bilm *b, size_t k, size_t i)
{
    return ce_json_get(b->inputs, "streams")->items[k]->items[i]->str;
}

/* Batch i = (streams[0][i], streams[1][i], streams[2][i]), state carried per row. */
START_TEST(test_bilm_stateful)
{
    bilm b;
    if (!bilm_open(&b))
        return;
    const char *backend = ce_test_run_backend(_i);
    if (!ce_test_has_backend(backend)) {
        bilm_close(&b);
        return;
    }
    ce_model *m;
    ce_session *s = open_session(b.dir, backend, 1, &m);
    ck_assert_str_eq(ce_model_architecture(m), "elmo");
    ce_select *top;
    ck_assert_int_eq(ce_select_create(&top), CE_OK);
    int32_t last = -1;
    ck_assert_int_eq(ce_select_layers(top, &last, 1), CE_OK);
    double worst = 0;
    for (size_t i = 0; i < 10; i++) {
        static words w;
        memset(&w, 0, sizeof w);
        for (size_t k = 0; k < 3; k++)
            words_add_text(&w, ce_model_tokenizer(m), sentence(&b, k, i));
        ck_assert_msg(words_run(s, &w) == CE_OK, "%s", ce_last_error());
        size_t positions, at = 0;
        const float *all = ce_elmo_state_positions(s->arch_state, &positions);
        for (size_t k = 0; k < 3; k++) {
            char name[64];
            size_t n, n_lm, n_pos = w.n_words[k] + 2;
            /* every layer with the boundaries, as the derived numpy run has them */
            snprintf(name, sizeof name, "s%zu_%zu/stateful_layers", k, i);
            const float *layers = tensor(b.derived, name, &n);
            ck_assert_uint_eq(n, 3 * n_pos * 32);
            for (size_t l = 0; l < 3; l++)
                for (size_t j = 0; j < n_pos * 32; j++) {
                    double e = fabs(all[(l * positions + at) * 32 + j] - layers[l * n_pos * 32 + j]);
                    worst = e > worst ? e : worst;
                }
            at += n_pos;
            snprintf(name, sizeof name, "s%zu_%zu/top_layer_concat", k, i);
            const float *want = tensor(b.expected, name, &n);
            double d = compare_sel(s, k, top, want, n);
            /* lm_embeddings [2, n, 16]: the same values split by direction */
            snprintf(name, sizeof name, "s%zu_%zu/lm_embeddings", k, i);
            const float *lm = tensor(b.expected, name, &n_lm);
            ck_assert_uint_eq(n_lm, n);
            float *got = malloc(n * sizeof *got);
            size_t count;
            ck_assert_int_eq(ce_session_output(s, k, top, got, n, &count), CE_OK);
            for (size_t r = 0; r < n / 32; r++)
                for (size_t j = 0; j < 32; j++) {
                    double e = fabs(got[r * 32 + j] - lm[(j / 16) * (n / 2) + r * 16 + j % 16]);
                    d = e > d ? e : d;
                }
            free(got);
            worst = d > worst ? d : worst;
            ck_assert_msg(d <= TOL, "%s s%zu_%zu: %g", backend, k, i, d);
        }
    }
    ck_assert_msg(worst <= TOL, "%s stateful layers: %g", backend, worst);
    fprintf(stderr, "bilm-tf stateful (%s): max error %.3g\n", backend, worst);
    ce_select_free(top);
    ce_session_free(s);
    ce_model_free(m);
    bilm_close(&b);
}
END_TEST

/* Every sentence from zero state in one batch of 30: all layers with the
 * boundaries (read from the architecture's buffer), token embeddings, char ids. */
START_TEST(test_bilm_stateless)
{
    bilm b;
    if (!bilm_open(&b))
        return;
    const char *backend = ce_test_run_backend(_i);
    if (!ce_test_has_backend(backend)) {
        bilm_close(&b);
        return;
    }
    ce_model *m;
    ce_session *s = open_session(b.dir, backend, 0, &m);
    static words w;
    memset(&w, 0, sizeof w);
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < 10; i++)
            words_add_text(&w, ce_model_tokenizer(m), sentence(&b, k, i));
    ck_assert_msg(words_run(s, &w) == CE_OK, "%s", ce_last_error());
    size_t positions;
    const float *all = ce_elmo_state_positions(s->arch_state, &positions);
    ck_assert_uint_eq(positions, w.total + 2 * 30);
    double worst = 0, worst_e = 0;
    for (size_t k = 0, at = 0; k < 3; k++)
        for (size_t i = 0; i < 10; at += w.n_words[k * 10 + i] + 2, i++) {
            size_t n_pos = w.n_words[k * 10 + i] + 2, n;
            char name[64];
            snprintf(name, sizeof name, "s%zu_%zu/stateless_layers", k, i);
            const float *want = tensor(b.derived, name, &n);
            ck_assert_uint_eq(n, 3 * n_pos * 32);
            for (size_t l = 0; l < 3; l++)
                for (size_t j = 0; j < n_pos * 32; j++) {
                    double d = fabs(all[(l * positions + at) * 32 + j] - want[l * n_pos * 32 + j]);
                    worst = d > worst ? d : worst;
                }
            snprintf(name, sizeof name, "s%zu_%zu/token_embedding", k, i);
            want = tensor(b.derived, name, &n);
            ck_assert_uint_eq(n, n_pos * 16);
            for (size_t p = 0; p < n_pos; p++)
                for (size_t j = 0; j < 16; j++) {
                    double d = fabs(all[(at + p) * 32 + j] - want[p * 16 + j]);
                    worst_e = d > worst_e ? d : worst_e;
                }
        }
    ck_assert_msg(worst <= TOL, "%s stateless layers: %g", backend, worst);
    ck_assert_msg(worst_e <= TOL, "%s token embeddings: %g", backend, worst_e);
    fprintf(stderr, "bilm-tf stateless (%s): layers %.3g, token embeddings %.3g\n", backend, worst,
            worst_e);
    ce_session_free(s);
    ce_model_free(m);
    bilm_close(&b);
}
END_TEST

START_TEST(test_bilm_char_ids)
{
    bilm b;
    if (!bilm_open(&b))
        return;
    ce_model *m;
    ce_session *s = open_session(b.dir, "ref", 0, &m);
    const ce_json *tokens = ce_json_get(b.inputs, "tokens");
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < 10; i++) {
            static words w, t;
            memset(&w, 0, sizeof w);
            memset(&t, 0, sizeof t);
            words_add_text(&w, ce_model_tokenizer(m), sentence(&b, k, i));
            words_add_json(&t, tokens->items[k]->items[i]); /* the reference's split() */
            ck_assert_uint_eq(w.total, t.total);
            for (size_t j = 0; j < w.total; j++)
                ck_assert(w.offsets[2 * j + 1] - w.offsets[2 * j] ==
                              t.offsets[2 * j + 1] - t.offsets[2 * j] &&
                          !memcmp(w.text + w.offsets[2 * j], t.text + t.offsets[2 * j],
                                  w.offsets[2 * j + 1] - w.offsets[2 * j]));
            char name[64];
            snprintf(name, sizeof name, "s%zu_%zu/char_ids", k, i);
            const ce_tensor_info *ti = ce_weights_find(b.derived, name);
            ck_assert(ti && ti->dtype == CE_DTYPE_I32 && ti->shape[0] == (int64_t)w.total + 2);
            const int32_t *want = ti->data;
            int32_t ids[50];
            ce_elmo_boundary_char_ids(0, 50, ids);
            ck_assert_mem_eq(ids, want, sizeof ids);
            for (size_t j = 0; j < w.total; j++) {
                ce_elmo_word_char_ids(w.text + w.offsets[2 * j],
                                      w.offsets[2 * j + 1] - w.offsets[2 * j], 50, ids);
                ck_assert_mem_eq(ids, want + (j + 1) * 50, sizeof ids);
            }
            ce_elmo_boundary_char_ids(1, 50, ids);
            ck_assert_mem_eq(ids, want + (w.total + 1) * 50, sizeof ids);
        }
    ce_session_free(s);
    ce_model_free(m);
    bilm_close(&b);
}
END_TEST

/* ---- fixtures --------------------------------------------------------- */

typedef struct fixture {
    char dir[4096];
    ce_json *cases;
    ce_weights *expected;
} fixture;

static void fixture_open(fixture *f, const char *name)
{
    char path[4200];
    snprintf(f->dir, sizeof f->dir, "%s/%s", ce_test_fixtures(), name);
    snprintf(path, sizeof path, "%s/cases.json", f->dir);
    ck_assert_int_eq(ce_json_parse_file(path, &f->cases), CE_OK);
    snprintf(path, sizeof path, "%s/expected.safetensors", f->dir);
    ck_assert_int_eq(ce_weights_open_file(path, &f->expected), CE_OK);
}

static void fixture_close(fixture *f)
{
    ce_json_free(f->cases);
    ce_weights_close(f->expected);
}

/* Stateless sentences: all in one batch, then each alone. */
static void check_stateless(const fixture *f, ce_session *s, const char *what)
{
    const ce_json *list = ce_json_get(f->cases, "stateless");
    static words w;
    memset(&w, 0, sizeof w);
    for (size_t i = 0; i < list->n; i++)
        words_add_json(&w, list->items[i]);
    ck_assert_msg(words_run(s, &w) == CE_OK, "%s", ce_last_error());
    for (int alone = 0; alone < 2; alone++)
        for (size_t i = 0; i < list->n; i++) {
            if (alone) {
                memset(&w, 0, sizeof w);
                words_add_json(&w, list->items[i]);
                ck_assert_int_eq(words_run(s, &w), CE_OK);
            }
            char name[64];
            size_t n;
            snprintf(name, sizeof name, "stateless/%zu", i);
            const float *want = tensor(f->expected, name, &n);
            double d = compare_sel(s, alone ? 0 : i, NULL, want, n);
            ck_assert_msg(d <= TOL, "%s %s (%s): %g", what, name, alone ? "alone" : "batch", d);
        }
}

/* Batches with carried state per row; a row missing from a batch keeps its state. */
static void check_stateful(const fixture *f, ce_session *s, const char *what)
{
    const ce_json *batches = ce_json_get(f->cases, "stateful");
    for (size_t b = 0; b < batches->n; b++) {
        static words w;
        memset(&w, 0, sizeof w);
        for (size_t r = 0; r < batches->items[b]->n; r++)
            words_add_json(&w, batches->items[b]->items[r]);
        ck_assert_int_eq(words_run(s, &w), CE_OK);
        for (size_t r = 0; r < batches->items[b]->n; r++) {
            char name[64];
            size_t n;
            snprintf(name, sizeof name, "stateful/%zu/%zu", b, r);
            const float *want = tensor(f->expected, name, &n);
            double d = compare_sel(s, r, NULL, want, n);
            ck_assert_msg(d <= TOL, "%s %s: %g", what, name, d);
        }
    }
}

START_TEST(test_fixture)
{
    const char *name = fixtures[_i / CE_TEST_N_RUNS], *backend = ce_test_run_backend(_i % CE_TEST_N_RUNS);
    if (!ce_test_has_backend(backend))
        return;
    fixture f;
    fixture_open(&f, name);
    worst_seen = 0;
    char what[128];
    snprintf(what, sizeof what, "%s/%s", name, backend);
    ce_model *m;
    ce_session *s = open_session(f.dir, backend, 0, &m);
    check_stateless(&f, s, what);
    ce_session_free(s);
    ce_model_free(m);
    ce_model *m2;
    s = open_session(f.dir, backend, 1, &m2);
    check_stateful(&f, s, what);
    /* after a reset the first batch again gives its zero-state result */
    ck_assert_int_eq(ce_session_reset_state(s), CE_OK);
    static words w;
    memset(&w, 0, sizeof w);
    const ce_json *first = ce_json_get(f.cases, "stateful")->items[0];
    for (size_t r = 0; r < first->n; r++)
        words_add_json(&w, first->items[r]);
    ck_assert_int_eq(words_run(s, &w), CE_OK);
    size_t n;
    const float *want = tensor(f.expected, "stateful/0/0", &n);
    ck_assert_msg(compare_sel(s, 0, NULL, want, n) <= TOL, "%s: reset", what);
    fprintf(stderr, "%s: max error %.3g\n", what, worst_seen);
    ce_session_free(s);
    ce_model_free(m2);
    fixture_close(&f);
}
END_TEST

START_TEST(test_fixture_info)
{
    static const int64_t layers[] = {2, 1, 3}, hidden[] = {16, 24, 20};
    fixture f;
    fixture_open(&f, fixtures[_i]);
    ce_model *m;
    ce_session *s = open_session(f.dir, "ref", 0, &m);
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, layers[_i]);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_OUTPUT_LAYERS, &v), CE_OK);
    ck_assert_int_eq(v, layers[_i] + 1);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, hidden[_i]);
    /* every weight of the file is counted */
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", f.dir);
    ce_weights *w;
    ck_assert_int_eq(ce_weights_open_file(path, &w), CE_OK);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_PARAMETERS, &v), CE_OK);
    ck_assert_int_eq(v, (int64_t)(ce_weights_bytes_mapped(w) / sizeof(float)));
    ce_weights_close(w);
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_str_eq(ce_tokenizer_kind(tok), "whitespace");
    ck_assert_uint_eq(ce_tokenizer_vocab_size(tok), 0);
    ce_session_free(s);
    ce_model_free(m);
    fixture_close(&f);
}
END_TEST

/* AllenNLP's ScalarMix, with and without layer norm, against numpy. */
START_TEST(test_mix)
{
    fixture f;
    fixture_open(&f, "elmo-skip");
    ce_model *m;
    ce_session *s = open_session(f.dir, "ref", 0, &m);
    const ce_json *mix = ce_json_get(f.cases, "mix");
    const ce_json *wl = ce_json_get(mix, "weights"), *sents = ce_json_get(mix, "sentences");
    worst_seen = 0;
    float weights[3];
    for (size_t i = 0; i < 3; i++)
        weights[i] = (float)wl->items[i]->number;
    double gamma;
    ck_assert(ce_json_get_number(mix, "gamma", &gamma));
    for (int ln = 0; ln < 2; ln++) {
        ce_select *sel;
        ck_assert_int_eq(ce_select_create(&sel), CE_OK);
        ck_assert_int_eq(ce_select_mix(sel, weights, 3, (float)gamma), CE_OK);
        ck_assert_int_eq(ce_select_mix_layer_norm(sel, ln), CE_OK);
        for (size_t k = 0; k < sents->n; k++) {
            int64_t i = sents->items[k]->integer;
            static words w;
            memset(&w, 0, sizeof w);
            words_add_json(&w, ce_json_get(f.cases, "stateless")->items[i]);
            ck_assert_int_eq(words_run(s, &w), CE_OK);
            char name[64];
            size_t n;
            snprintf(name, sizeof name, "mix/%lld/%s", (long long)i, ln ? "layer_norm" : "plain");
            const float *want = tensor(f.expected, name, &n);
            double d = compare_sel(s, 0, sel, want, n);
            ck_assert_msg(d <= TOL, "%s: %g", name, d);
        }
        ce_select_free(sel);
    }
    fprintf(stderr, "scalar mix: max error %.3g\n", worst_seen);
    ce_session_free(s);
    ce_model_free(m);
    fixture_close(&f);
}
END_TEST

/* ---- bad input -------------------------------------------------------- */

START_TEST(test_bad_words)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/elmo-skip", ce_test_fixtures());
    ce_model *m;
    ce_session *s = open_session(dir, "ref", 0, &m);
    size_t one = 1, zero = 0, two[2] = {1, 0}, offs[2] = {0, 3};
    size_t count;
    float out[1];
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "abc", 3, offs), CE_OK);
    ck_assert_uint_eq(ce_session_num_sequences(s), 1);
    /* an empty sentence, no sentences, NULLs: no results are kept */
    ck_assert_int_eq(ce_session_run_words(s, 1, &zero, "abc", 3, offs), CE_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(ce_session_num_sequences(s), 0);
    ck_assert_int_eq(ce_session_output(s, 0, NULL, out, 1, &count), CE_ERR_STATE);
    ck_assert_int_eq(ce_session_run_words(s, 2, two, "abc", 3, offs), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run_words(s, 0, &one, "abc", 3, offs), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run_words(NULL, 1, &one, "abc", 3, offs), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "abc", 3, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, NULL, 3, offs), CE_ERR_INVALID_ARGUMENT);
    /* offsets outside the text, reversed */
    size_t out_of[2] = {1, 4}, reversed[2] = {2, 1};
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "abc", 3, out_of), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "abc", 3, reversed),
                     CE_ERR_INVALID_ARGUMENT);
    /* invalid UTF-8, also a word cutting a character in two */
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "a\xff" "c", 3, offs), CE_ERR_INVALID_UTF8);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "byte 1"));
    size_t half[2] = {0, 2};
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "a\xc3\xa9", 3, half), CE_ERR_INVALID_UTF8);
    /* the model reads words, not ids */
    int32_t ids[1] = {5};
    ck_assert_int_eq(ce_session_run(s, 1, &one, ids, NULL), CE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "ce_session_run_words"));
    ck_assert_int_eq(ce_session_reset_state(NULL), CE_ERR_INVALID_ARGUMENT);
    ce_session_free(s);
    ce_model_free(m);
    /* and a BERT model does not read words */
    snprintf(dir, sizeof dir, "%s/bert-tiny-uncased", ce_test_fixtures());
    ck_assert_int_eq(ce_model_open(dir, NULL, &m), CE_OK);
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    ck_assert_int_eq(ce_session_run_words(s, 1, &one, "abc", 3, offs), CE_ERR_UNSUPPORTED);
    ck_assert_int_eq(ce_session_reset_state(s), CE_OK);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* A word longer than 50 bytes is cut to 48 bytes, as the reference does. */
START_TEST(test_long_word)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/elmo-skip", ce_test_fixtures());
    if (!ce_test_has_backend(ce_test_run_backend(_i)))
        return;
    ce_model *m;
    ce_session *s = open_session(dir, ce_test_run_backend(_i), 0, &m);
    char text[200];
    memset(text, 'x', 60);
    memcpy(text + 48, "ABCDEFGHIJKL", 12); /* bytes past 48 must not matter */
    memcpy(text + 60, " y", 2);
    size_t n = 2, offs[4] = {0, 60, 61, 62}, cut[4] = {0, 48, 61, 62};
    size_t count, d = 2 * 3 * 16;
    float a[2 * 3 * 16], b[2 * 3 * 16];
    ce_select *all;
    ck_assert_int_eq(ce_select_create(&all), CE_OK);
    ck_assert_int_eq(ce_select_layers(all, NULL, 0), CE_OK);
    ck_assert_int_eq(ce_session_run_words(s, 1, &n, text, 62, offs), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 0, all, a, d, &count), CE_OK);
    ck_assert_int_eq(ce_session_run_words(s, 1, &n, text, 62, cut), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 0, all, b, d, &count), CE_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    cut[1] = 47; /* one byte less does matter */
    ck_assert_int_eq(ce_session_run_words(s, 1, &n, text, 62, cut), CE_OK);
    ck_assert_int_eq(ce_session_output(s, 0, all, b, d, &count), CE_OK);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ce_select_free(all);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

/* options.json edited so that it no longer matches the weights, or broken. */
static void expect_open_error(const char *options, ce_status want, const char *needle)
{
    char weights[4200], dir[256];
    snprintf(weights, sizeof weights, "%s/elmo-skip/model.safetensors", ce_test_fixtures());
    make_model_dir(dir, sizeof dir, options, strlen(options), weights);
    ce_model *m = (ce_model *)&m; /* must stay untouched */
    ce_status st = ce_model_open(dir, NULL, &m);
    remove_model_dir(dir);
    ck_assert_msg(st == want, "%s: got %d (%s), want %d", options, st, ce_last_error(), want);
    ck_assert_msg(strstr(ce_last_error(), needle), "'%s' lacks '%s'", ce_last_error(), needle);
    ck_assert_ptr_eq(m, (ce_model *)&m);
}

#define LSTM_OK "\"lstm\": {\"cell_clip\": 3, \"use_skip_connections\": true, \"n_layers\": 2, " \
                "\"proj_clip\": 3, \"projection_dim\": 8, \"dim\": 24}"
#define CNN(filters, extra) "\"char_cnn\": {\"embedding\": {\"dim\": 4}, \"filters\": " filters \
                ", \"n_highway\": 2, \"n_characters\": 262, \"max_characters_per_token\": 50, " \
                "\"activation\": \"relu\"" extra "}"
#define FILTERS_OK "[[1, 4], [2, 8], [3, 8], [4, 12]]"

START_TEST(test_bad_options)
{
    /* the fixture's own options open */
    expect_open_error("{" LSTM_OK ", " CNN(FILTERS_OK, "") ", \"x\": [}", CE_ERR_FORMAT,
                      "options.json");
    expect_open_error("{" CNN(FILTERS_OK, "") "}", CE_ERR_FORMAT, "\"lstm\"");
    expect_open_error("{" LSTM_OK "}", CE_ERR_UNSUPPORTED, "char_cnn");
    expect_open_error("{\"lstm\": {\"n_layers\": 3, \"projection_dim\": 8, \"dim\": 24, "
                      "\"use_skip_connections\": true, \"cell_clip\": 3, \"proj_clip\": 3}, "
                      CNN(FILTERS_OK, "") "}", CE_ERR_NOT_FOUND,
                      "RNN_0/RNN/MultiRNNCell/Cell2/LSTMCell/W_0");
    expect_open_error("{\"lstm\": {\"n_layers\": 1, \"projection_dim\": 8, \"dim\": 24}, "
                      CNN(FILTERS_OK, "") "}", CE_ERR_FORMAT, "Cell1");
    expect_open_error("{\"lstm\": {\"n_layers\": 2, \"projection_dim\": 8, \"dim\": 32}, "
                      CNN(FILTERS_OK, "") "}", CE_ERR_FORMAT,
                      "RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0");
    expect_open_error("{" LSTM_OK ", " CNN("[[1, 4], [2, 8], [3, 9], [4, 12]]", "") "}",
                      CE_ERR_FORMAT, "CNN/W_cnn_2");
    expect_open_error("{" LSTM_OK ", " CNN("[[1, 4], [2, 8], [3]]", "") "}", CE_ERR_FORMAT,
                      "filters\"[2]");
    expect_open_error("{" LSTM_OK ", " CNN("[[1, 4], [60, 8]]", "") "}", CE_ERR_FORMAT,
                      "filters\"[1]");
    expect_open_error("{\"lstm\": {\"projection_dim\": 32, \"dim\": 24}, " CNN(FILTERS_OK, "") "}",
                      CE_ERR_UNSUPPORTED, "projection_dim");
    expect_open_error("{\"lstm\": {\"projection_dim\": 8, \"dim\": 24, \"cell_clip\": -1}, "
                      CNN(FILTERS_OK, "") "}", CE_ERR_FORMAT, "cell_clip");
    expect_open_error("{\"lstm\": {\"projection_dim\": 8, \"dim\": \"24\"}, " CNN(FILTERS_OK, "")
                      "}", CE_ERR_FORMAT, "lstm.dim");
    expect_open_error("[1, 2]", CE_ERR_FORMAT, "not a JSON object");
    expect_open_error("", CE_ERR_FORMAT, "");
}
END_TEST

START_TEST(test_activation_name)
{
    /* an activation other than relu and tanh is refused by name */
    char weights[4200], dir[256];
    snprintf(weights, sizeof weights, "%s/elmo-skip/model.safetensors", ce_test_fixtures());
    const char *opts = "{" LSTM_OK ", \"char_cnn\": {\"embedding\": {\"dim\": 4}, \"filters\": "
                       FILTERS_OK ", \"n_highway\": 2, \"max_characters_per_token\": 50, "
                       "\"activation\": \"gelu\"}}";
    make_model_dir(dir, sizeof dir, opts, strlen(opts), weights);
    ce_model *m;
    ck_assert_int_eq(ce_model_open(dir, NULL, &m), CE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "gelu"));
    remove_model_dir(dir);
}
END_TEST

/* ---- random models, tokenizer ----------------------------------------- */

START_TEST(test_random_model)
{
    const char *cfg = "{\"model_type\": \"elmo\", " LSTM_OK ", " CNN(FILTERS_OK, "") "}";
    ce_model *m;
    ck_assert_msg(ce_model_open_random(cfg, strlen(cfg), 7, NULL, &m) == CE_OK, "%s",
                  ce_last_error());
    ck_assert_ptr_null(ce_model_tokenizer(m));
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &v), CE_OK);
    ck_assert_int_eq(v, 16);
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    size_t n[2] = {2, 3}, offs[10] = {0, 1, 2, 3, 0, 3, 1, 2, 2, 3};
    ck_assert_int_eq(ce_session_run_words(s, 2, n, "abc", 3, offs), CE_OK);
    size_t len;
    ck_assert_int_eq(ce_session_sequence_length(s, 1, &len), CE_OK);
    ck_assert_uint_eq(len, 3);
    ce_session_free(s);
    ce_model_free(m);
}
END_TEST

START_TEST(test_whitespace_tokenizer)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/elmo-tanh", ce_test_fixtures());
    ce_tokenizer *tok;
    ck_assert_int_eq(ce_tokenizer_open(dir, &tok), CE_OK);
    ck_assert_str_eq(ce_tokenizer_kind(tok), "whitespace");
    /* Python's str.split(): tabs, NBSP, U+3000, U+001F separate; U+200B does not */
    const char *text = "  h\xc3\xa9llo\tw\xc3\xb6rld\xc2\xa0x\xe3\x80\x80y\x1fz a\xe2\x80\x8b" "b \n";
    ce_encoding *enc;
    ck_assert_int_eq(ce_tokenizer_encode(tok, text, strlen(text), NULL, 0, CE_ENCODE_ADD_SPECIAL,
                                         0, &enc), CE_OK);
    static const size_t want[] = {2, 8, 9, 15, 17, 18, 21, 22, 23, 24, 25, 30};
    ck_assert_uint_eq(ce_encoding_length(enc), 6);
    for (size_t i = 0; i < 6; i++) {
        ck_assert_int_eq(ce_encoding_ids(enc)[i], -1);
        ck_assert_uint_eq(ce_encoding_offsets(enc)[2 * i], want[2 * i]);
        ck_assert_uint_eq(ce_encoding_offsets(enc)[2 * i + 1], want[2 * i + 1]);
    }
    ce_encoding_free(enc);
    ck_assert_int_eq(ce_tokenizer_encode(tok, " \t ", 3, NULL, 0, 0, 0, &enc), CE_OK);
    ck_assert_uint_eq(ce_encoding_length(enc), 0);
    ce_encoding_free(enc);
    ck_assert_int_eq(ce_tokenizer_encode(tok, "a\xff", 2, NULL, 0, 0, 0, &enc),
                     CE_ERR_INVALID_UTF8);
    ce_tokenizer_free(tok);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("elmo");
    TCase *tc = tcase_create("elmo");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_char_ids);
    tcase_add_loop_test(tc, test_bilm_stateful, 0, CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_bilm_stateless, 0, CE_TEST_N_RUNS);
    tcase_add_test(tc, test_bilm_char_ids);
    tcase_add_loop_test(tc, test_fixture, 0, 3 * CE_TEST_N_RUNS);
    tcase_add_loop_test(tc, test_fixture_info, 0, 3);
    tcase_add_test(tc, test_mix);
    tcase_add_test(tc, test_bad_words);
    tcase_add_loop_test(tc, test_long_word, 0, CE_TEST_N_RUNS);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_activation_name);
    tcase_add_test(tc, test_random_model);
    tcase_add_test(tc, test_whitespace_tokenizer);
    suite_add_tcase(s, tc);
    int have_refdata = ce_test_refdata() != NULL;
    int rc = ce_test_run(s);
    /* the fixture parts ran; a pass without the refdata parts reads as a skip */
    return rc == EXIT_SUCCESS && !have_refdata ? CE_TEST_SKIP : rc;
}
