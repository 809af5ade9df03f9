/* The task pipelines' rules (tools/contextembed/pipelines.h) on the hand-made
 * logits of test/fixtures/pipelines/ (written by test/gen/gen_pipelines.py,
 * also read by bindings/python/tests/test_pipelines.py): softmax, sigmoid
 * and top-k; entity grouping; question-answering windows, span choice, and
 * the whole chain down to the answer's byte offsets. No model is opened. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/contextembed/pipelines.h"
#include "io/json.h"
#include "test-util.h"

/* Probabilities are computed in double from float32 logits on both sides. */
#define TOL 1e-12

/* ---- fixture reading ------------------------------------------------------- */

static ce_json *load(const char *file)
{
    char path[1024];
    ce_json *doc = NULL;
    snprintf(path, sizeof path, "%s/pipelines/%s", ce_test_fixtures(), file);
    ck_assert_msg(ce_json_parse_file(path, &doc) == CE_OK, "%s", ce_last_error());
    const ce_json *cases = ce_json_get(doc, "cases");
    ck_assert_msg(cases && cases->type == CE_JSON_ARRAY && cases->n > 0, "%s: no cases", path);
    return doc;
}

static const ce_json *cases_of(const ce_json *doc)
{
    return ce_json_get(doc, "cases");
}

static const ce_json *array(const ce_json *obj, const char *key)
{
    const ce_json *a = ce_json_get(obj, key);
    ck_assert_msg(a && a->type == CE_JSON_ARRAY, "no array '%s'", key);
    return a;
}

static float *floats(const ce_json *a)
{
    float *v = malloc((a->n ? a->n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < a->n; i++)
        v[i] = (float)a->items[i]->number; /* the fixtures' logits are exact in float32 */
    return v;
}

static int32_t *ints(const ce_json *a)
{
    int32_t *v = malloc((a->n ? a->n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < a->n; i++)
        v[i] = (int32_t)a->items[i]->integer;
    return v;
}

static size_t get_size(const ce_json *obj, const char *key)
{
    int64_t v;
    ck_assert_msg(ce_json_get_int(obj, key, &v) && v >= 0, "no count '%s'", key);
    return (size_t)v;
}

/* [[a, b], ...] into 2 * n sizes. */
static size_t *pairs(const ce_json *a)
{
    size_t *v = malloc((a->n ? 2 * a->n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < a->n; i++) {
        ck_assert(a->items[i]->type == CE_JSON_ARRAY && a->items[i]->n == 2);
        v[2 * i] = (size_t)a->items[i]->items[0]->integer;
        v[2 * i + 1] = (size_t)a->items[i]->items[1]->integer;
    }
    return v;
}

static void assert_close(double got, double want, const char *name, const char *what)
{
    ck_assert_msg(fabs(got - want) <= TOL * (1.0 + fabs(want)), "%s: %s %.17g, expected %.17g",
                  name, what, got, want);
}

/* ---- scores ---------------------------------------------------------------- */

static void check_score_case(const ce_json *c)
{
    const char *name = ce_json_get_string(c, "name");
    const ce_json *lj = array(c, "logits"), *exp = ce_json_get(c, "expected");
    const ce_json *probs = array(exp, "probs"), *top = array(exp, "top");
    size_t n = lj->n, k = get_size(c, "k");
    float *logits = floats(lj);
    double *p = malloc(n * sizeof *p);
    size_t *best = malloc(k * sizeof *best);
    ck_assert(p && best);
    int sigmoid = !strcmp(ce_json_get_string(c, "function"), "sigmoid");
    (sigmoid ? pipe_sigmoid : pipe_softmax)(logits, n, p);
    for (size_t i = 0; i < n; i++)
        assert_close(p[i], probs->items[i]->number, name, "prob");
    size_t got = pipe_top_k(p, n, k, best);
    ck_assert_msg(got == top->n, "%s: %zu top indices, expected %zu", name, got, top->n);
    for (size_t i = 0; i < got; i++)
        ck_assert_msg(best[i] == (size_t)top->items[i]->integer,
                      "%s: top[%zu] = %zu, expected %lld", name, i, best[i],
                      (long long)top->items[i]->integer);
    ck_assert_uint_eq(pipe_argmax(p, n), get_size(exp, "argmax"));
    free(logits);
    free(p);
    free(best);
}

START_TEST(test_scores)
{
    ce_json *doc = load("scores.json");
    const ce_json *cases = cases_of(doc);
    for (size_t i = 0; i < cases->n; i++)
        check_score_case(cases->items[i]);
    ce_json_free(doc);
}
END_TEST

START_TEST(test_top_k_edges)
{
    double v[3] = {1.0, NAN, 2.0};
    size_t out[3] = {9, 9, 9};
    ck_assert_uint_eq(pipe_top_k(v, 3, 0, out), 0);
    ck_assert_uint_eq(out[0], 9);
    ck_assert_uint_eq(pipe_top_k(v, 3, 3, out), 3); /* NaN ranks last */
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[1], 0);
    ck_assert_uint_eq(out[2], 1);
    ck_assert_uint_eq(pipe_argmax(v, 3), 2);
}
END_TEST

/* ---- entities -------------------------------------------------------------- */

static void check_entities(const ce_json *c, const pipe_entity *e, size_t n, const char *text)
{
    const char *name = ce_json_get_string(c, "name");
    const ce_json *want = array(ce_json_get(c, "expected"), "entities");
    ck_assert_msg(n == want->n, "%s: %zu entities, expected %zu", name, n, want->n);
    for (size_t i = 0; i < n; i++) {
        const ce_json *w = want->items[i];
        const char *label = ce_json_get_string(w, "label"), *wtext = ce_json_get_string(w, "text");
        ck_assert_msg(e[i].type_len == strlen(label) && !memcmp(e[i].type, label, e[i].type_len),
                      "%s: entity %zu is %.*s, expected %s", name, i, (int)e[i].type_len,
                      e[i].type, label);
        ck_assert_uint_eq(e[i].start, get_size(w, "start"));
        ck_assert_uint_eq(e[i].end, get_size(w, "end"));
        ck_assert_uint_eq(e[i].first, get_size(w, "first"));
        ck_assert_uint_eq(e[i].last, get_size(w, "last"));
        ck_assert_msg(e[i].end - e[i].start == strlen(wtext) &&
                      !memcmp(text + e[i].start, wtext, strlen(wtext)), "%s: text", name);
        double score;
        ck_assert(ce_json_get_number(w, "score", &score));
        assert_close(e[i].score, score, name, "entity score");
    }
}

static void check_entity_case(const ce_json *c)
{
    const char *name = ce_json_get_string(c, "name");
    const ce_json *lab = array(c, "labels"), *rows = array(c, "logits");
    const ce_json *special = array(c, "special");
    const ce_json *tl = array(ce_json_get(c, "expected"), "token_labels");
    size_t T = rows->n, C = lab->n;
    const char **labels = malloc(C * sizeof *labels);
    double *probs = malloc(T * C * sizeof *probs);
    size_t *token_label = malloc(T * sizeof *token_label), *offsets = pairs(array(c, "offsets"));
    unsigned char *skip = malloc(T);
    pipe_entity *e = malloc(T * sizeof *e);
    ck_assert(labels && probs && token_label && skip && e);
    for (size_t i = 0; i < C; i++)
        labels[i] = lab->items[i]->str;
    for (size_t t = 0; t < T; t++) {
        float *row = floats(rows->items[t]);
        ck_assert_uint_eq(rows->items[t]->n, C);
        pipe_softmax(row, C, probs + t * C);
        free(row);
        skip[t] = special->items[t]->integer != 0;
    }
    pipe_token_labels(probs, T, C, token_label);
    for (size_t t = 0; t < T; t++)
        ck_assert_msg(!strcmp(labels[token_label[t]], tl->items[t]->str),
                      "%s: token %zu is %s, expected %s", name, t, labels[token_label[t]],
                      tl->items[t]->str);
    size_t n = pipe_group_entities(probs, T, C, skip, offsets, labels, e);
    check_entities(c, e, n, ce_json_get_string(c, "text"));
    free(labels);
    free(probs);
    free(token_label);
    free(offsets);
    free(skip);
    free(e);
}

START_TEST(test_entities)
{
    ce_json *doc = load("entities.json");
    const ce_json *cases = cases_of(doc);
    for (size_t i = 0; i < cases->n; i++)
        check_entity_case(cases->items[i]);
    ce_json_free(doc);
}
END_TEST

/* ---- windows --------------------------------------------------------------- */

static const char *why_name(int why)
{
    return why == 1 ? "no_room" : why == 2 ? "stride" : "no_context";
}

static void check_window_case(const ce_json *c)
{
    const char *name = ce_json_get_string(c, "name");
    const ce_json *sj = array(c, "sequence_ids"), *exp = ce_json_get(c, "expected");
    int32_t *seq = ints(sj);
    size_t n = sj->n, room = 0, max_len = get_size(c, "max_len"), stride = get_size(c, "stride");
    int why = -1;
    size_t count = pipe_qa_windows(seq, n, max_len, stride, NULL, 0, &room, &why);
    const char *error = ce_json_get_string(exp, "error");
    if (error) {
        ck_assert_msg(count == 0 && !strcmp(why_name(why), error), "%s: %zu windows (%s), "
                      "expected error %s", name, count, why_name(why), error);
        ck_assert_uint_eq(room, get_size(exp, "room"));
        free(seq);
        return;
    }
    const ce_json *windows = array(exp, "windows"), *tokens = array(exp, "tokens");
    ck_assert_msg(count == windows->n, "%s: %zu windows, expected %zu", name, count, windows->n);
    pipe_window *w = malloc(count * sizeof *w);
    size_t *index = malloc(n * sizeof *index);
    ck_assert(w && index);
    ck_assert_uint_eq(pipe_qa_windows(seq, n, max_len, stride, w, count, &room, &why), count);
    for (size_t k = 0; k < count; k++) {
        ck_assert_uint_eq(w[k].first, (size_t)windows->items[k]->items[0]->integer);
        ck_assert_uint_eq(w[k].end, (size_t)windows->items[k]->items[1]->integer);
        size_t len = pipe_qa_window_tokens(seq, n, w[k], index);
        const ce_json *want = tokens->items[k];
        ck_assert_msg(len == want->n && len <= max_len, "%s: window %zu has %zu tokens", name,
                      k, len);
        for (size_t i = 0; i < len; i++)
            ck_assert_uint_eq(index[i], (size_t)want->items[i]->integer);
    }
    free(w);
    free(index);
    free(seq);
}

START_TEST(test_windows)
{
    ce_json *doc = load("windows.json");
    const ce_json *cases = cases_of(doc);
    for (size_t i = 0; i < cases->n; i++)
        check_window_case(cases->items[i]);
    ce_json_free(doc);
}
END_TEST

/* ---- spans ----------------------------------------------------------------- */

/* Merge one window's spans into best (its ids, sequence ids and logits given). */
static size_t add_window(const int32_t *ids, const int32_t *seq, const float *start,
                         const float *end, size_t n, size_t window, int32_t cls_id,
                         size_t max_answer, pipe_span *best, size_t have, size_t k)
{
    unsigned char *keep = malloc(n), *context = malloc(n);
    double *ps = malloc(n * sizeof *ps), *pe = malloc(n * sizeof *pe);
    ck_assert(keep && context && ps && pe);
    pipe_qa_masks(ids, seq, n, cls_id, keep, context);
    pipe_qa_probs(start, keep, n, ps);
    pipe_qa_probs(end, keep, n, pe);
    have = pipe_qa_add_spans(ps, pe, context, n, window, max_answer, best, have, k);
    free(keep);
    free(context);
    free(ps);
    free(pe);
    return have;
}

static void check_spans(const char *name, const pipe_span *best, size_t n, const ce_json *want)
{
    ck_assert_msg(n == want->n, "%s: %zu spans, expected %zu", name, n, want->n);
    for (size_t i = 0; i < n; i++) {
        const ce_json *w = want->items[i];
        double score;
        ck_assert(ce_json_get_number(w, "score", &score));
        ck_assert_msg(best[i].window == get_size(w, "window") &&
                          best[i].start == get_size(w, "start") &&
                          best[i].end == get_size(w, "end"),
                      "%s: span %zu is window %zu [%zu, %zu], expected [%zu, %zu] in window %zu",
                      name, i, best[i].window, best[i].start, best[i].end, get_size(w, "start"),
                      get_size(w, "end"), get_size(w, "window"));
        assert_close(best[i].score, score, name, "span score");
    }
}

static void check_span_case(const ce_json *c)
{
    const char *name = ce_json_get_string(c, "name");
    const ce_json *windows = array(c, "windows");
    int64_t cls_id;
    ck_assert(ce_json_get_int(c, "cls_id", &cls_id));
    size_t k = get_size(c, "top"), max_answer = get_size(c, "max_answer"), have = 0;
    pipe_span *best = malloc(k * sizeof *best);
    ck_assert_ptr_nonnull(best);
    for (size_t w = 0; w < windows->n; w++) {
        const ce_json *win = windows->items[w];
        int32_t *ids = ints(array(win, "ids")), *seq = ints(array(win, "sequence_ids"));
        float *start = floats(array(win, "start_logits")), *end = floats(array(win, "end_logits"));
        have = add_window(ids, seq, start, end, array(win, "ids")->n, w, (int32_t)cls_id,
                          max_answer, best, have, k);
        free(ids);
        free(seq);
        free(start);
        free(end);
    }
    check_spans(name, best, have, array(c, "expected"));
    free(best);
}

START_TEST(test_spans)
{
    ce_json *doc = load("spans.json");
    const ce_json *cases = cases_of(doc);
    for (size_t i = 0; i < cases->n; i++)
        check_span_case(cases->items[i]);
    ce_json_free(doc);
}
END_TEST

/* ---- the whole question-answering chain ------------------------------------- */

/* Window k of the encoding: its ids and sequence ids; returns its length. */
static size_t gather(const int32_t *ids, const int32_t *seq, size_t n, pipe_window w,
                     size_t *index, int32_t *w_ids, int32_t *w_seq)
{
    size_t len = pipe_qa_window_tokens(seq, n, w, index);
    for (size_t i = 0; i < len; i++) {
        w_ids[i] = ids[index[i]];
        w_seq[i] = seq[index[i]];
    }
    return len;
}

static void check_answer_case(const ce_json *c)
{
    const char *name = ce_json_get_string(c, "name"), *context = ce_json_get_string(c, "context");
    const ce_json *enc = ce_json_get(c, "encoding"), *logits = array(c, "window_logits");
    const ce_json *exp = ce_json_get(c, "expected"), *answers = array(exp, "answers");
    int32_t *ids = ints(array(enc, "ids")), *seq = ints(array(enc, "sequence_ids"));
    int32_t *words = ints(array(enc, "word_ids"));
    size_t n = array(enc, "ids")->n, *offsets = pairs(array(enc, "offsets")), room = 0;
    size_t k = get_size(c, "top"), have = 0;
    int64_t cls_id;
    ck_assert(ce_json_get_int(c, "cls_id", &cls_id));
    int why = 0;
    size_t count = pipe_qa_windows(seq, n, get_size(c, "max_seq_len"), get_size(c, "stride"),
                                   NULL, 0, &room, &why);
    ck_assert_msg(count == array(exp, "windows")->n && count == logits->n, "%s: windows", name);
    pipe_window *w = malloc(count * sizeof *w);
    size_t **index = calloc(count, sizeof *index), *lengths = calloc(count, sizeof *lengths);
    int32_t *w_ids = malloc(n * sizeof *w_ids), *w_seq = malloc(n * sizeof *w_seq);
    pipe_span *best = malloc(k * sizeof *best);
    ck_assert(w && index && lengths && w_ids && w_seq && best);
    pipe_qa_windows(seq, n, get_size(c, "max_seq_len"), get_size(c, "stride"), w, count, &room,
                    &why);
    for (size_t j = 0; j < count; j++) {
        ck_assert_ptr_nonnull(index[j] = malloc(n * sizeof *index[j]));
        size_t len = lengths[j] = gather(ids, seq, n, w[j], index[j], w_ids, w_seq);
        float *start = floats(array(logits->items[j], "start"));
        float *end = floats(array(logits->items[j], "end"));
        ck_assert_uint_eq(array(logits->items[j], "start")->n, len);
        have = add_window(w_ids, w_seq, start, end, len, j, (int32_t)cls_id,
                          get_size(c, "max_answer"), best, have, k);
        free(start);
        free(end);
    }
    ck_assert_msg(have == answers->n, "%s: %zu answers, expected %zu", name, have, answers->n);
    for (size_t i = 0; i < have; i++) {
        const ce_json *a = answers->items[i];
        size_t from = best[i].start, to = best[i].end, len = lengths[best[i].window];
        pipe_qa_word_span(words, seq, index[best[i].window], len, &from, &to);
        size_t b = offsets[2 * index[best[i].window][from]];
        size_t e = offsets[2 * index[best[i].window][to] + 1];
        const char *text = ce_json_get_string(a, "answer");
        double score;
        ck_assert(ce_json_get_number(a, "score", &score));
        ck_assert_msg(b == get_size(a, "start") && e == get_size(a, "end") &&
                      best[i].window == get_size(a, "window"),
                      "%s: answer %zu is [%zu, %zu) of window %zu", name, i, b, e, best[i].window);
        ck_assert_msg(e - b == strlen(text) && !memcmp(context + b, text, e - b), "%s: text", name);
        assert_close(best[i].score, score, name, "answer score");
    }
    for (size_t j = 0; j < count; j++)
        free(index[j]);
    free(index);
    free(lengths);
    free(words);
    free(w);
    free(w_ids);
    free(w_seq);
    free(best);
    free(ids);
    free(seq);
    free(offsets);
}

START_TEST(test_answer_chain)
{
    ce_json *doc = load("answer.json");
    const ce_json *cases = cases_of(doc);
    for (size_t i = 0; i < cases->n; i++)
        check_answer_case(cases->items[i]);
    ce_json_free(doc);
}
END_TEST

START_TEST(test_spans_edges)
{
    /* k 0 keeps nothing; a window without context tokens adds nothing */
    double p[3] = {0.0, 0.5, 0.5};
    unsigned char none[3] = {0, 0, 0}, ctx[3] = {0, 1, 1};
    pipe_span best[2];
    ck_assert_uint_eq(pipe_qa_add_spans(p, p, ctx, 3, 0, 15, best, 0, 0), 0);
    ck_assert_uint_eq(pipe_qa_add_spans(p, p, none, 3, 0, 15, best, 0, 2), 0);
    /* N = 1: single tokens only */
    ck_assert_uint_eq(pipe_qa_add_spans(p, p, ctx, 3, 0, 1, best, 0, 2), 2);
    ck_assert(best[0].start == best[0].end && best[1].start == best[1].end);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipelines");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_scores);
    tcase_add_test(tc, test_top_k_edges);
    tcase_add_test(tc, test_entities);
    tcase_add_test(tc, test_windows);
    tcase_add_test(tc, test_spans);
    tcase_add_test(tc, test_answer_chain);
    tcase_add_test(tc, test_spans_edges);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
