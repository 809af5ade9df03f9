/* Accuracy helpers shared by the precision tests (see test-heldout.h). */
#include "test-heldout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"

#ifndef CE_MODELS_DIR
#define CE_MODELS_DIR CE_FIXTURES_DIR "/../../models"
#endif

const char *ce_test_model_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", CE_MODELS_DIR, name);
    return path;
}

int ce_test_models_present(void)
{
    char probe[600];
    snprintf(probe, sizeof probe, "%s/config.json", ce_test_model_dir("gpt2-mini-en"));
    FILE *fp = fopen(probe, "r");
    if (!fp) {
        fprintf(stderr, "SKIP: %s is missing\n", probe);
        return 0;
    }
    fclose(fp);
    return 1;
}

ce_status ce_test_open_at(const char *dir, const char *backend, const char *precision,
                          ce_model **m)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    if (backend)
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    if (precision)
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_PRECISION, precision), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, 2), CE_OK);
    ce_status st = ce_model_open(dir, o, m);
    ce_options_free(o);
    return st;
}

ce_model *ce_test_must_open(const char *dir, const char *backend, const char *precision)
{
    ce_model *m = NULL;
    ce_status st = ce_test_open_at(dir, backend, precision, &m);
    ck_assert_msg(st == CE_OK, "%s (%s, %s): %s", dir, backend ? backend : "auto",
                  precision ? precision : "f32", ce_last_error());
    return m;
}

ce_session *ce_test_must_session(const ce_model *m)
{
    ce_session *s = NULL;
    ck_assert_msg(ce_session_create(m, NULL, &s) == CE_OK, "%s", ce_last_error());
    return s;
}

const ce_test_heldout *ce_test_read_heldout(void)
{
    static ce_test_heldout h;
    static char *data;
    if (data)
        return &h;
    char path[600];
    snprintf(path, sizeof path, "%s/heldout.txt", ce_test_model_dir("gpt2-mini-en"));
    size_t len;
    data = ce_test_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    if (len && data[len - 1] == '\n')
        data[--len] = '\0';
    char *p = data;
    while (h.n < 256) {
        h.texts[h.n] = p;
        char *sep = strstr(p, "\n\f\n");
        if (sep)
            *sep = '\0';
        h.lens[h.n++] = strlen(p);
        if (!sep)
            break;
        p = sep + 3;
    }
    ck_assert_uint_eq(h.n, 171);
    return &h;
}

static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static double logprob(const float *x, size_t n, int32_t id)
{
    double mx = x[argmax(x, n)], sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)x[i] - mx);
    return (double)x[id] - mx - log(sum);
}

void ce_test_all_logits(ce_session *s, const int32_t *ids, size_t n, float *out, size_t cap)
{
    ck_assert_int_eq(ce_session_rewind(s, 0), CE_OK);
    ck_assert_msg(ce_session_append(s, ids, n, CE_APPEND_ALL_LOGITS) == CE_OK, "%s",
                  ce_last_error());
    size_t count;
    ck_assert_int_eq(ce_session_logits(s, out, cap, &count), CE_OK);
}

void ce_test_encode_heldout(const ce_model *m, size_t t, int32_t **ids, size_t *n)
{
    const ce_test_heldout *h = ce_test_read_heldout();
    ce_encoding *e;
    ck_assert_int_eq(ce_tokenizer_encode(ce_model_tokenizer(m), h->texts[t], h->lens[t], NULL, 0,
                                         0, 0, &e),
                     CE_OK);
    *n = ce_encoding_length(e);
    *ids = malloc((*n ? *n : 1) * sizeof **ids);
    ck_assert_ptr_nonnull(*ids);
    memcpy(*ids, ce_encoding_ids(e), *n * sizeof **ids);
    ce_encoding_free(e);
}

ce_test_lm_stats ce_test_lm_compare(const ce_model *f, const ce_model *q, size_t n_texts)
{
    ce_session *sf = ce_test_must_session(f), *sq = ce_test_must_session(q);
    int64_t v;
    ck_assert_int_eq(ce_model_get_info(f, CE_INFO_VOCAB_SIZE, &v), CE_OK);
    size_t vocab = (size_t)v, cap = 256 * vocab, agree = 0;
    float *lf = malloc(cap * sizeof *lf), *lq = malloc(cap * sizeof *lq);
    ck_assert(lf && lq);
    double lp_f = 0.0, lp_q = 0.0;
    ce_test_lm_stats st = {0};
    for (size_t t = 0; t < n_texts; t++) {
        int32_t *ids;
        size_t n;
        ce_test_encode_heldout(f, t, &ids, &n);
        ck_assert_uint_le(n, 256);
        ce_test_all_logits(sf, ids, n, lf, cap);
        ce_test_all_logits(sq, ids, n, lq, cap);
        for (size_t i = 0; i + 1 < n; i++) {
            const float *a = lf + i * vocab, *b = lq + i * vocab;
            lp_f += logprob(a, vocab, ids[i + 1]);
            lp_q += logprob(b, vocab, ids[i + 1]);
            agree += argmax(a, vocab) == argmax(b, vocab);
            st.scored++;
        }
        free(ids);
    }
    st.ppl_f = exp(-lp_f / (double)st.scored);
    st.ppl_q = exp(-lp_q / (double)st.scored);
    st.agree = (double)agree / (double)st.scored;
    free(lf), free(lq);
    ce_session_free(sf), ce_session_free(sq);
    return st;
}

static double cosine(const float *a, const float *b, size_t d)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < d; j++) {
        double x = a[j], y = b[j];
        ab += x * y, aa += x * x, bb += y * y;
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

double ce_test_min_cosine(const ce_model *f, const ce_model *q, size_t n_texts, double *mean)
{
    const ce_test_heldout *h = ce_test_read_heldout();
    ce_session *sf = ce_test_must_session(f), *sq = ce_test_must_session(q);
    ce_select *sel;
    ck_assert_int_eq(ce_select_create(&sel), CE_OK);
    ck_assert_int_eq(ce_select_layers(sel, NULL, 0), CE_OK);
    int64_t max_pos = 0;
    ck_assert_int_eq(ce_model_get_info(f, CE_INFO_MAX_POSITIONS, &max_pos), CE_OK);
    size_t max_len = max_pos > 0 && max_pos < 100000 ? (size_t)max_pos : 0;
    ce_session *both[2] = {sf, sq};
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(ce_session_run_texts(both[k], n_texts, h->texts, h->lens,
                                              CE_ENCODE_ADD_SPECIAL, max_len),
                         CE_OK);
    double worst = 1.0, sum = 0.0;
    size_t vectors = 0;
    for (size_t t = 0; t < n_texts; t++) {
        size_t shape[3], ndim, count;
        ck_assert_int_eq(ce_session_output_shape(sf, t, sel, shape, &ndim), CE_OK);
        size_t n = shape[0] * shape[1] * shape[2];
        float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        ck_assert(a && b);
        ck_assert_int_eq(ce_session_output(sf, t, sel, a, n, &count), CE_OK);
        ck_assert_int_eq(ce_session_output(sq, t, sel, b, n, &count), CE_OK);
        for (size_t v = 0; v < shape[0] * shape[1]; v++) {
            double c = cosine(a + v * shape[2], b + v * shape[2], shape[2]);
            worst = fmin(worst, c);
            sum += c;
            vectors++;
        }
        free(a), free(b);
    }
    if (mean)
        *mean = sum / (double)vectors;
    ce_select_free(sel);
    ce_session_free(sf), ce_session_free(sq);
    return worst;
}
