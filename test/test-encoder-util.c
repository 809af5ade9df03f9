/* Helpers shared by the encoder-family suites: see test-encoder-util.h. */
#include "test-encoder-util.h"

#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void enc_fixture_dir(const char *fixture, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", ce_test_fixtures(), fixture);
}

static int32_t *read_i32(ce_weights *w, const char *name, size_t *len)
{
    const ce_tensor_info *t = ce_weights_find(w, name);
    ck_assert_msg(t != NULL, "missing %s", name);
    ck_assert_int_eq(t->dtype, CE_DTYPE_I32);
    ck_assert_int_eq(t->ndim, 1);
    *len = (size_t)t->shape[0];
    int32_t *v = malloc(*len * sizeof *v + 1);
    memcpy(v, t->data, *len * sizeof *v);
    return v;
}

void enc_load_refs(const char *dir, const char *prefix, int64_t layers, int64_t dim, enc_refs *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    ck_assert_msg(ce_weights_open_file(path, &r->w) == CE_OK, "%s", ce_last_error());
    r->n = 0;
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < ce_weights_count(r->w); i++) {
        const ce_tensor_info *t = ce_weights_at(r->w, i);
        const char *dot = strstr(t->name, ".hidden_states");
        if (!dot || dot[14] != '\0' || strncmp(t->name, prefix, plen) ||
            !isdigit((unsigned char)t->name[plen]))
            continue;
        ck_assert_uint_lt(r->n, ENC_MAX_CASES);
        enc_case *c = &r->cases[r->n++];
        snprintf(c->name, sizeof c->name, "%.*s", (int)(dot - t->name), t->name);
        char name[128];
        size_t n2;
        snprintf(name, sizeof name, "%s.input_ids", c->name);
        c->ids = read_i32(r->w, name, &c->len);
        snprintf(name, sizeof name, "%s.token_type_ids", c->name);
        c->types = read_i32(r->w, name, &n2);
        ck_assert_uint_eq(n2, c->len);
        int64_t shape[3] = {layers + 1, (int64_t)c->len, dim};
        ck_assert_msg(ce_weights_get_f32(r->w, t->name, 3, shape, &c->hidden) == CE_OK, "%s",
                      ce_last_error());
    }
}

void enc_free_refs(enc_refs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->cases[i].ids);
        free(r->cases[i].types);
    }
    ce_weights_close(r->w);
    r->n = 0;
}

ce_json *enc_cases_json(const char *fixture)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/cases.json", ce_test_fixtures(), fixture);
    ce_json *doc;
    ck_assert_msg(ce_json_parse_file(path, &doc) == CE_OK, "%s", ce_last_error());
    return doc;
}

int64_t enc_model_int(const ce_json *doc, const char *key)
{
    int64_t v;
    ck_assert_msg(ce_json_get_int(ce_json_get(doc, "model"), key, &v), "cases.json: model.%s", key);
    return v;
}

ce_session *enc_open_session(const char *dir, const char *backend, int threads, ce_model **m)
{
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, threads), CE_OK);
    ck_assert_msg(ce_model_open(dir, o, m) == CE_OK, "%s: %s", dir, ce_last_error());
    ce_session *s;
    ck_assert_msg(ce_session_create(*m, o, &s) == CE_OK, "%s", ce_last_error());
    ck_assert_str_eq(ce_session_backend(s), backend);
    ce_options_free(o);
    return s;
}

double enc_compare(ce_session *s, size_t seq, const enc_case *c)
{
    ce_select *all;
    ck_assert_int_eq(ce_select_create(&all), CE_OK);
    ck_assert_int_eq(ce_select_layers(all, NULL, 0), CE_OK);
    size_t count = 0, len = 0;
    ck_assert_int_eq(ce_session_sequence_length(s, seq, &len), CE_OK);
    ck_assert_uint_eq(len, c->len);
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

double enc_run_packed(ce_session *s, const enc_refs *r, const int32_t *types_override,
                      const char **worst_name)
{
    size_t total = 0, lens[ENC_MAX_CASES];
    for (size_t i = 0; i < r->n; i++)
        total += lens[i] = r->cases[i].len;
    int32_t *ids = malloc(total * sizeof *ids), *types = malloc(total * sizeof *types);
    for (size_t i = 0, at = 0; i < r->n; at += r->cases[i].len, i++) {
        memcpy(ids + at, r->cases[i].ids, r->cases[i].len * sizeof *ids);
        if (types_override)
            memcpy(types + at, types_override, r->cases[i].len * sizeof *types);
        else
            memcpy(types + at, r->cases[i].types, r->cases[i].len * sizeof *types);
    }
    ck_assert_msg(ce_session_run(s, r->n, lens, ids, types) == CE_OK, "%s", ce_last_error());
    ck_assert_uint_eq(ce_session_num_sequences(s), r->n);
    double worst = 0;
    for (size_t i = 0; i < r->n; i++) {
        double d = enc_compare(s, i, &r->cases[i]);
        if (!(d <= worst)) {
            worst = d;
            if (worst_name)
                *worst_name = r->cases[i].name;
        }
    }
    free(ids);
    free(types);
    return worst;
}

void enc_check_fixture(const char *fixture, const char *backend, int threads,
                       const char *extra_prefix)
{
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_model *m;
    ce_session *s = enc_open_session(dir, backend, threads, &m);
    int64_t layers, dim;
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_NUM_LAYERS, &layers), CE_OK);
    ck_assert_int_eq(ce_model_get_info(m, CE_INFO_HIDDEN_SIZE, &dim), CE_OK);
    enc_refs r;

    /* every case alone, then all of them packed into one run */
    enc_load_refs(dir, "case", layers, dim, &r);
    ck_assert_uint_gt(r.n, 5);
    for (size_t i = 0; i < r.n; i++) {
        const enc_case *c = &r.cases[i];
        ck_assert_msg(ce_session_run(s, 1, &c->len, c->ids, c->types) == CE_OK, "%s %s: %s",
                      fixture, c->name, ce_last_error());
        double d = enc_compare(s, 0, c);
        ck_assert_msg(d <= ENC_TOL, "%s/%s/%d %s: max diff %g", fixture, backend, threads, c->name,
                      d);
    }
    const char *worst = "";
    double d = enc_run_packed(s, &r, NULL, &worst);
    ck_assert_msg(d <= ENC_TOL, "%s/%s/%d packed %s: max diff %g", fixture, backend, threads, worst,
                  d);
    enc_free_refs(&r);

    /* the sequences the reference ran together in one padded batch */
    enc_load_refs(dir, "batch", layers, dim, &r);
    ck_assert_uint_eq(r.n, 3);
    d = enc_run_packed(s, &r, NULL, &worst);
    ck_assert_msg(d <= ENC_TOL, "%s/%s/%d %s: max diff %g", fixture, backend, threads, worst, d);
    enc_free_refs(&r);

    if (extra_prefix) {
        enc_load_refs(dir, extra_prefix, layers, dim, &r);
        ck_assert_uint_gt(r.n, 0);
        for (size_t i = 0; i < r.n; i++) {
            const enc_case *c = &r.cases[i];
            ck_assert_int_eq(ce_session_run(s, 1, &c->len, c->ids, c->types), CE_OK);
            d = enc_compare(s, 0, c);
            ck_assert_msg(d <= ENC_TOL, "%s/%s/%d %s: max diff %g", fixture, backend, threads,
                          c->name, d);
        }
        enc_free_refs(&r);
    }
    ce_session_free(s);
    ce_model_free(m);
}

int enc_check_text_cases(const char *fixture, int check_types)
{
    char dir[4096];
    enc_fixture_dir(fixture, dir, sizeof dir);
    ce_json *doc = enc_cases_json(fixture);
    ce_model *m;
    ck_assert_msg(ce_model_open(dir, NULL, &m) == CE_OK, "%s", ce_last_error());
    const ce_tokenizer *tok = ce_model_tokenizer(m);
    ck_assert_ptr_nonnull(tok);
    const ce_json *lists[2] = {ce_json_get(doc, "cases"),
                               ce_json_get(ce_json_get(doc, "batch"), "sequences")};
    int checked = 0;
    for (int l = 0; l < 2; l++) {
        ck_assert_ptr_nonnull(lists[l]);
        for (size_t i = 0; i < lists[l]->n; i++) {
            const ce_json *c = lists[l]->items[i];
            const ce_json *text = ce_json_get(c, "text"), *pair = ce_json_get(c, "text_pair");
            if (!text)
                continue;
            ce_encoding *e;
            ck_assert_msg(ce_tokenizer_encode(tok, text->str, text->len, pair ? pair->str : NULL,
                                              pair ? pair->len : 0, CE_ENCODE_ADD_SPECIAL, 0,
                                              &e) == CE_OK,
                          "%s", ce_last_error());
            const ce_json *want = ce_json_get(c, "input_ids"),
                          *want_t = ce_json_get(c, "token_type_ids");
            const char *name = ce_json_get_string(c, "name");
            ck_assert_msg(ce_encoding_length(e) == want->n, "%s %s \"%s\": %zu tokens, want %zu",
                          fixture, name, text->str, ce_encoding_length(e), want->n);
            for (size_t j = 0; j < want->n; j++) {
                ck_assert_msg(ce_encoding_ids(e)[j] == want->items[j]->integer,
                              "%s %s \"%s\": token %zu is %d, want %lld", fixture, name, text->str,
                              j, (int)ce_encoding_ids(e)[j], (long long)want->items[j]->integer);
                if (check_types)
                    ck_assert_int_eq(ce_encoding_type_ids(e)[j], want_t->items[j]->integer);
            }
            ce_encoding_free(e);
            checked++;
        }
    }
    ce_model_free(m);
    ce_json_free(doc);
    return checked;
}

/* ---- scratch directories ---- */

static char root[512];
static char tmp[700];

void enc_root_create(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/ce-encoder-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root))
        abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void enc_root_remove(void)
{
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *enc_tmp_path(const char *name)
{
    static char bufs[8][900];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp, name);
    return b;
}

void enc_tmp_put(const char *name, const void *data, size_t len)
{
    FILE *f = fopen(enc_tmp_path(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

char *enc_tmp_get(const char *name, size_t *len)
{
    char *data = ce_test_read_file(enc_tmp_path(name), len);
    ck_assert_msg(data != NULL, "cannot read %s", enc_tmp_path(name));
    return data;
}

void enc_tmp_remove(const char *name)
{
    ck_assert_int_eq(unlink(enc_tmp_path(name)), 0);
}

const char *enc_tmp_copy(const char *fixture)
{
    snprintf(tmp, sizeof tmp, "%s/%s-XXXXXX", root, fixture);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    char src[4096];
    enc_fixture_dir(fixture, src, sizeof src);
    DIR *d = opendir(src);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int copied = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "expected.safetensors") ||
            !strcmp(e->d_name, "cases.json"))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", src, e->d_name);
        size_t len;
        char *data = ce_test_read_file(path, &len);
        ck_assert_msg(data != NULL, "cannot read %s", path);
        enc_tmp_put(e->d_name, data, len);
        free(data);
        copied++;
    }
    closedir(d);
    ck_assert_int_gt(copied, 3);
    return tmp;
}

void enc_tmp_replace(const char *name, const char *from, const char *to)
{
    size_t len;
    char *data = enc_tmp_get(name, &len);
    char *at = strstr(data, from);
    ck_assert_msg(at != NULL, "%s does not contain %s", name, from);
    size_t head = (size_t)(at - data), fl = strlen(from), tl = strlen(to);
    char *out = malloc(len - fl + tl + 1);
    memcpy(out, data, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, at + fl, len - head - fl);
    enc_tmp_put(name, out, len - fl + tl);
    free(out);
    free(data);
}

void enc_expect_open_failure(ce_status want, ce_status want2, const char *needle)
{
    ce_model *m = (ce_model *)0x1;
    ce_status st = ce_model_open(tmp, NULL, &m);
    ck_assert_msg(st == want || (want2 != CE_OK && st == want2), "got %s (%s), want %s%s%s",
                  ce_status_str(st), ce_last_error(), ce_status_str(want),
                  want2 != CE_OK ? " or " : "", want2 != CE_OK ? ce_status_str(want2) : "");
    ck_assert_ptr_eq(m, (ce_model *)0x1);
    if (needle)
        ck_assert_msg(strstr(ce_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                      ce_last_error(), needle);
}

/* ---- safetensors rewriting ---- */

void enc_tensors_read(const char *path, enc_tensors *ts)
{
    ck_assert_msg(ce_weights_open_file(path, &ts->w) == CE_OK, "%s", ce_last_error());
    ts->n = ce_weights_count(ts->w);
    ck_assert_uint_le(ts->n, sizeof ts->t / sizeof *ts->t);
    for (size_t i = 0; i < ts->n; i++) {
        const ce_tensor_info *info = ce_weights_at(ts->w, i);
        enc_tensor *t = &ts->t[i];
        ck_assert_uint_lt(strlen(info->name), sizeof t->name);
        strcpy(t->name, info->name);
        t->dtype = ce_dtype_name(info->dtype);
        ck_assert_int_le(info->ndim, 4);
        t->ndim = info->ndim;
        for (int k = 0; k < 4; k++)
            t->shape[k] = k < info->ndim ? info->shape[k] : 0;
        t->data = info->data;
        t->nbytes = info->nbytes;
    }
}

int enc_tensors_find(const enc_tensors *ts, const char *name)
{
    for (size_t i = 0; i < ts->n; i++)
        if (!strcmp(ts->t[i].name, name))
            return (int)i;
    return -1;
}

void enc_tensors_drop(enc_tensors *ts, const char *name)
{
    int i = enc_tensors_find(ts, name);
    ck_assert_msg(i >= 0, "no tensor %s", name);
    memmove(&ts->t[i], &ts->t[i + 1], (ts->n - (size_t)i - 1) * sizeof ts->t[0]);
    ts->n--;
}

void enc_tensors_shrink(enc_tensors *ts, const char *name, int64_t rows)
{
    int i = enc_tensors_find(ts, name);
    ck_assert_msg(i >= 0, "no tensor %s", name);
    enc_tensor *t = &ts->t[i];
    ck_assert(t->ndim >= 1 && rows <= t->shape[0]);
    t->nbytes = t->nbytes / (size_t)t->shape[0] * (size_t)rows;
    t->shape[0] = rows;
}

void enc_tensors_write(const char *path, const enc_tensors *ts)
{
    size_t cap = 256 + ts->n * 256, len = 0, offset = 0;
    char *header = malloc(cap);
    len += (size_t)snprintf(header + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < ts->n; i++) {
        const enc_tensor *t = &ts->t[i];
        len += (size_t)snprintf(header + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                t->name, t->dtype);
        for (int k = 0; k < t->ndim; k++)
            len += (size_t)snprintf(header + len, cap - len, "%s%lld", k ? "," : "",
                                    (long long)t->shape[k]);
        len += (size_t)snprintf(header + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", offset,
                                offset + t->nbytes);
        offset += t->nbytes;
        ck_assert_uint_lt(len, cap - 16);
    }
    header[len++] = '}';
    while (len % 8)
        header[len++] = ' ';
    char tmp_path[1200];
    snprintf(tmp_path, sizeof tmp_path, "%s.new", path);
    FILE *f = fopen(tmp_path, "wb");
    ck_assert_ptr_nonnull(f);
    unsigned char n8[8];
    for (int k = 0; k < 8; k++)
        n8[k] = (unsigned char)((uint64_t)len >> (8 * k));
    ck_assert_uint_eq(fwrite(n8, 1, 8, f), 8);
    ck_assert_uint_eq(fwrite(header, 1, len, f), len);
    for (size_t i = 0; i < ts->n; i++)
        ck_assert_uint_eq(fwrite(ts->t[i].data, 1, ts->t[i].nbytes, f), ts->t[i].nbytes);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp_path, path), 0);
    free(header);
}

void enc_tensors_close(enc_tensors *ts)
{
    ce_weights_close(ts->w);
    ts->w = NULL;
    ts->n = 0;
}

void enc_expect_vocab_below_tokenizer(const char *fixture, const char *const *tensors, int64_t by)
{
    ce_json *doc = enc_cases_json(fixture);
    int64_t vocab = enc_model_int(doc, "vocab_size");
    ce_json_free(doc);
    enc_tmp_copy(fixture);
    enc_tensors ts;
    enc_tensors_read(enc_tmp_path("model.safetensors"), &ts);
    for (const char *const *t = tensors; *t; t++)
        enc_tensors_shrink(&ts, *t, vocab - by);
    enc_tensors_write(enc_tmp_path("model.safetensors"), &ts);
    enc_tensors_close(&ts);
    char from[64], to[64];
    snprintf(from, sizeof from, "\"vocab_size\": %lld", (long long)vocab);
    snprintf(to, sizeof to, "\"vocab_size\": %lld", (long long)(vocab - by));
    enc_tmp_replace("config.json", from, to);
    enc_expect_open_failure(CE_ERR_FORMAT, CE_OK, "vocab_size");
}
