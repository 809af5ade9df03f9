/* Threads a host can trust: the thread count is capped at the CPUs the
 * process may use, a busy machine lowers it per call, once every session and
 * model is freed nothing of the library's keeps a CPU busy, and sessions on
 * several host threads share one model's prepared weights and agree exactly.
 * Host threads are POSIX threads: ThreadSanitizer (the build-tsan run of
 * .ci/run, which runs this suite) does not know C11's thrd_create. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "contextembed/contextembed.h"
#include "contextembed/backend.h"
#include "backends/backend_internal.h"
#include "core/cpus.h"
#include "test-util.h"

static double process_cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

static ce_model *open_bert(int64_t threads, const char *backend)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bert-tiny-uncased", ce_test_fixtures());
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, threads), CE_OK);
    if (backend)
        ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ce_model *m = NULL;
    ck_assert_msg(ce_model_open(path, o, &m) == CE_OK, "%s", ce_last_error());
    ce_options_free(o);
    return m;
}

START_TEST(test_threads_capped_at_affinity)
{
    ce_model *m = open_bert(256, NULL); /* the most the option takes */
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    ck_assert_int_eq(ce_session_threads(s), ce_cpus_usable());
    ce_session_free(s);
    ce_model_free(m);
    ck_assert_int_ge(ce_cpus_usable(), 1);
}
END_TEST

/* Every built backend, 2 threads (the most this machine may have is fine). */
START_TEST(test_idle_after_free)
{
    for (size_t b = 0; b < ce_backend_count(); b++) {
        ce_model *m = open_bert(2, ce_backend_name(b));
        ce_session *s;
        ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
        int32_t ids[64];
        for (int i = 0; i < 64; i++)
            ids[i] = 5 + i;
        size_t len = 64;
        for (int r = 0; r < 20; r++)
            ck_assert_int_eq(ce_session_run(s, 1, &len, ids, NULL), CE_OK);
        ce_session_free(s);
        ce_model_free(m);
        sleep_ms(100); /* OpenMP's spin after the last region is over by then */
        double t0 = process_cpu_seconds();
        sleep_ms(500);
        double used = process_cpu_seconds() - t0;
        ck_assert_msg(used < 0.05, "backend %s: %.3f s of CPU in 0.5 s after everything was freed",
                      ce_backend_name(b), used);
    }
}
END_TEST

/* With every usable CPU kept busy by other processes, a run uses one thread. */
START_TEST(test_busy_machine_lowers_threads)
{
    int cpus = ce_cpus_usable();
    ck_assert_int_eq(ce_cpus_free_for(1), 1);
    pid_t kids[64];
    int n = cpus < 64 ? cpus : 64;
    for (int i = 0; i < n; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0)
            for (volatile unsigned long x = 0;; x++)
                ;
    }
    sleep_ms(200);
    int got = ce_cpus_free_for(cpus > 1 ? cpus : 2);
    for (int i = 0; i < n; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    ck_assert_int_eq(got, 1);
}
END_TEST

/* Several host threads, each with its own session on one shared model (the
 * prepared weights read by all of them at once), give what one session gives. */
#define HOST_THREADS 4
#define RUNS_PER_THREAD 8
#define N_IDS 48

/* The sequence every session of the test runs. */
static void test_ids(int32_t ids[N_IDS])
{
    for (int i = 0; i < N_IDS; i++)
        ids[i] = 3 + (i * 7) % 90;
}

typedef struct host_job {
    ce_model *model;
    const float *want;
    size_t n;
    int mismatches, failures;
} host_job;

static void *host_thread(void *arg)
{
    host_job *j = arg;
    ce_session *s;
    if (ce_session_create(j->model, NULL, &s) != CE_OK) {
        j->failures++;
        return NULL;
    }
    int32_t ids[N_IDS];
    test_ids(ids);
    size_t len = N_IDS, count;
    float *got = malloc(j->n * sizeof *got);
    for (int r = 0; got && r < RUNS_PER_THREAD; r++) {
        if (ce_session_run(s, 1, &len, ids, NULL) != CE_OK ||
            ce_session_output(s, 0, NULL, got, j->n, &count) != CE_OK || count != j->n) {
            j->failures++;
            continue;
        }
        for (size_t i = 0; i < j->n; i++)
            j->mismatches += got[i] != j->want[i];
    }
    free(got);
    ce_session_free(s);
    return NULL;
}

START_TEST(test_sessions_on_threads_agree)
{
    for (size_t b = 0; b < ce_backend_count(); b++) {
        ce_model *m = open_bert(1, ce_backend_name(b));
        ce_session *s;
        ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
        int32_t ids[N_IDS];
        test_ids(ids);
        size_t len = N_IDS, n;
        ck_assert_int_eq(ce_session_run(s, 1, &len, ids, NULL), CE_OK);
        ck_assert_int_eq(ce_session_output(s, 0, NULL, NULL, 0, &n), CE_ERR_BUFFER_TOO_SMALL);
        float *want = malloc(n * sizeof *want);
        size_t count;
        ck_assert_int_eq(ce_session_output(s, 0, NULL, want, n, &count), CE_OK);
        host_job jobs[HOST_THREADS];
        pthread_t t[HOST_THREADS];
        for (int i = 0; i < HOST_THREADS; i++) {
            jobs[i] = (host_job){m, want, n, 0, 0};
            ck_assert_int_eq(pthread_create(&t[i], NULL, host_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < HOST_THREADS; i++) {
            pthread_join(t[i], NULL);
            ck_assert_msg(jobs[i].failures == 0 && jobs[i].mismatches == 0,
                          "backend %s, host thread %d: %d failures, %d values differ",
                          ce_backend_name(b), i, jobs[i].failures, jobs[i].mismatches);
        }
        free(want);
        ce_session_free(s);
        ce_model_free(m);
    }
}
END_TEST

/* Many host threads at once on one model and one tokenizer: each tokenizes
 * with the shared tokenizers (the model's and one opened on its own) and runs
 * its own 2-thread session on the shared prepared weights, so OpenMP pools of
 * several host threads run the kernels concurrently. Every thread must get
 * the ids and the vectors the main thread got. The ThreadSanitizer run of CI
 * runs this with every built backend. */
#define MANY_THREADS 8
#define MANY_ROUNDS 3
#define N_TEXTS 4
#define TEXT_TOKENS 64 /* at most, bert-tiny's positions */

static const char *const many_texts[N_TEXTS] = {
    "The quick brown fox jumps over the lazy dog.",
    "Unbelievably, the tide went out and the boats lay on the sand.",
    "A man plays a guitar; someone else plays music in the street.",
    "Where can I buy bread? The shop on the corner sells it.",
};

typedef struct many_shared {
    ce_model *model;
    const ce_tokenizer *own; /* opened alone, shared by every thread */
    int32_t want_ids[N_TEXTS][TEXT_TOKENS];
    size_t want_len[N_TEXTS];
    float *want_vec[N_TEXTS]; /* last layer, every token */
    size_t want_n[N_TEXTS];
} many_shared;

typedef struct many_job {
    const many_shared *sh;
    int index;
    int bad_ids, bad_vecs, failures;
    float worst; /* largest relative difference seen */
} many_job;

static int same_ids(const ce_encoding *e, const int32_t *want, size_t len)
{
    return ce_encoding_length(e) == len && memcmp(ce_encoding_ids(e), want, len * sizeof *want) == 0;
}

static void *many_thread(void *arg)
{
    many_job *j = arg;
    const many_shared *sh = j->sh;
    const ce_tokenizer *toks[2] = {ce_model_tokenizer(sh->model), sh->own};
    ce_session *s;
    if (ce_session_create(sh->model, NULL, &s) != CE_OK) {
        j->failures++;
        return NULL;
    }
    float *got = malloc(TEXT_TOKENS * 64 * sizeof *got);
    for (int r = 0; got && r < MANY_ROUNDS; r++) {
        for (int t = 0; t < N_TEXTS; t++) {
            int k = (t + j->index + r) % N_TEXTS; /* threads start at different texts */
            for (int w = 0; w < 2; w++) {
                ce_encoding *e;
                if (ce_tokenizer_encode(toks[w], many_texts[k], strlen(many_texts[k]), NULL, 0,
                                        0, TEXT_TOKENS, &e) != CE_OK) {
                    j->failures++;
                    continue;
                }
                j->bad_ids += !same_ids(e, sh->want_ids[k], sh->want_len[k]);
                ce_encoding_free(e);
            }
        }
        size_t lens[N_TEXTS];
        for (int t = 0; t < N_TEXTS; t++)
            lens[t] = strlen(many_texts[t]);
        if (ce_session_run_texts(s, N_TEXTS, (const char *const *)many_texts, lens, 0,
                                 TEXT_TOKENS) != CE_OK) {
            j->failures++;
            continue;
        }
        for (int t = 0; t < N_TEXTS; t++) {
            size_t n;
            if (ce_session_output(s, (size_t)t, NULL, got, TEXT_TOKENS * 64, &n) != CE_OK ||
                n != sh->want_n[t]) {
                j->failures++;
                continue;
            }
            int bad = 0;
            for (size_t i = 0; i < n; i++) {
                float want = sh->want_vec[t][i];
                float d = fabsf(got[i] - want) / (1.0f + fabsf(want));
                if (d > j->worst)
                    j->worst = d;
                bad |= !(d <= 1e-5f);
            }
            j->bad_vecs += bad;
        }
    }
    free(got);
    ce_session_free(s);
    return NULL;
}

START_TEST(test_many_threads_one_model)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bert-tiny-uncased", ce_test_fixtures());
    for (size_t b = 0; b < ce_backend_count(); b++) {
        const char *name = ce_backend_name(b);
        many_shared sh = {.model = open_bert(strcmp(name, "ref") ? 2 : 1, name)};
        ce_tokenizer *own;
        ck_assert_msg(ce_tokenizer_open(path, &own) == CE_OK, "%s", ce_last_error());
        sh.own = own;
        /* what one thread alone gets */
        ce_session *s;
        ck_assert_int_eq(ce_session_create(sh.model, NULL, &s), CE_OK);
        size_t lens[N_TEXTS];
        for (int t = 0; t < N_TEXTS; t++) {
            ce_encoding *e;
            lens[t] = strlen(many_texts[t]);
            ck_assert_int_eq(
                ce_tokenizer_encode(own, many_texts[t], lens[t], NULL, 0, 0, TEXT_TOKENS, &e),
                CE_OK);
            sh.want_len[t] = ce_encoding_length(e);
            ck_assert_uint_le(sh.want_len[t], TEXT_TOKENS);
            memcpy(sh.want_ids[t], ce_encoding_ids(e), sh.want_len[t] * sizeof(int32_t));
            ce_encoding_free(e);
        }
        ck_assert_int_eq(ce_session_run_texts(s, N_TEXTS, (const char *const *)many_texts, lens,
                                              0, TEXT_TOKENS),
                         CE_OK);
        for (int t = 0; t < N_TEXTS; t++) {
            ck_assert_int_eq(ce_session_output(s, (size_t)t, NULL, NULL, 0, &sh.want_n[t]),
                             CE_ERR_BUFFER_TOO_SMALL);
            ck_assert_uint_le(sh.want_n[t], TEXT_TOKENS * 64);
            sh.want_vec[t] = malloc(sh.want_n[t] * sizeof(float));
            size_t n;
            ck_assert_int_eq(
                ce_session_output(s, (size_t)t, NULL, sh.want_vec[t], sh.want_n[t], &n), CE_OK);
        }
        ce_session_free(s);

        many_job jobs[MANY_THREADS];
        pthread_t t[MANY_THREADS];
        for (int i = 0; i < MANY_THREADS; i++) {
            jobs[i] = (many_job){.sh = &sh, .index = i};
            ck_assert_int_eq(pthread_create(&t[i], NULL, many_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < MANY_THREADS; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < MANY_THREADS; i++)
            ck_assert_msg(jobs[i].failures == 0 && jobs[i].bad_ids == 0 && jobs[i].bad_vecs == 0,
                          "backend %s, host thread %d: %d failures, %d encodings and %d vectors "
                          "differ (largest relative difference %g)",
                          name, i, jobs[i].failures, jobs[i].bad_ids, jobs[i].bad_vecs,
                          (double)jobs[i].worst);
        for (int i = 0; i < N_TEXTS; i++)
            free(sh.want_vec[i]);
        ce_tokenizer_free(own);
        ce_model_free(sh.model);
    }
}
END_TEST

/* The same through the backend seam with the thread count forced (the
 * sessions above run on one thread while the machine is busy): host threads,
 * each with its own 2-thread context on one model state and one prepared
 * weight, run the kernels that split over threads, all at once. Each gets
 * exactly what the main thread got with the same thread count. */
#define KERN_THREADS 6
#define K_ROWS 128
#define K_IN 256
#define K_OUT 512
#define K_HEADS 4 /* attention over K_ROWS tokens, heads of K_IN / K_HEADS */

typedef struct kern_shared {
    const ce_backend_model *bm;
    void *prepared; /* K_IN -> K_OUT, GELU fused */
    float x[K_ROWS * K_IN], gamma[K_OUT], beta[K_OUT];
} kern_shared;

typedef struct kern_out {
    float y[K_ROWS * K_OUT];      /* linear, layer norm, GELU, softmax */
    float attn[K_ROWS * K_IN];    /* attention with q = k = v = x */
} kern_out;

static int run_kernels(const kern_shared *sh, kern_out *o)
{
    ce_backend *b;
    if (ce_backend_open(sh->bm->ops.name, 2, sh->bm, &b) != CE_OK)
        return 0;
    b->ops.linear(b->ctx, sh->prepared, K_ROWS, sh->x, K_IN, 0.0f, o->y, K_OUT);
    b->ops.layer_norm(b->ctx, K_ROWS, K_OUT, o->y, K_OUT, sh->gamma, sh->beta, 1e-5f, o->y, K_OUT);
    b->ops.gelu_erf(b->ctx, K_ROWS * K_OUT, o->y);
    b->ops.softmax(b->ctx, K_ROWS, K_OUT, o->y, K_OUT, 0.5f, K_OUT, 0, 0);
    b->ops.attention(b->ctx, K_HEADS, K_IN / K_HEADS, K_ROWS, K_ROWS, sh->x, K_IN, sh->x, K_IN,
                     sh->x, K_IN, 0.125f, 1, 0, o->attn, K_IN);
    ce_backend_close(b);
    return 1;
}

typedef struct kern_job {
    const kern_shared *sh;
    const kern_out *want;
    kern_out got;
    int ok, same;
} kern_job;

static void *kern_thread(void *arg)
{
    kern_job *j = arg;
    for (int r = 0; r < 2; r++) {
        j->ok = run_kernels(j->sh, &j->got);
        j->same = j->ok && memcmp(&j->got, j->want, sizeof j->got) == 0;
        if (!j->same)
            break;
    }
    return NULL;
}

START_TEST(test_kernels_from_many_threads)
{
    static kern_shared sh;
    static kern_out want;
    static kern_job jobs[KERN_THREADS];
    for (size_t i = 0; i < K_ROWS * K_IN; i++)
        sh.x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    for (size_t i = 0; i < K_OUT; i++) {
        sh.gamma[i] = 1.0f + (float)(i % 7) / 10.0f;
        sh.beta[i] = (float)(i % 5) / 10.0f;
    }
    float *w = malloc(K_OUT * K_IN * sizeof *w), bias[K_OUT];
    ck_assert_ptr_nonnull(w);
    for (size_t i = 0; i < K_OUT * K_IN; i++)
        w[i] = (float)((i * 104729) % 1001) / 10000.0f - 0.05f;
    for (size_t i = 0; i < K_OUT; i++)
        bias[i] = (float)(i % 3) / 10.0f;
    for (size_t b = 0; b < ce_backend_count(); b++) {
        const char *name = ce_backend_name(b);
        if (strcmp(name, "ref") == 0)
            continue; /* one thread: nothing to split */
        ce_backend_model *bm;
        ck_assert_msg(ce_backend_model_open(name, 2, &bm) == CE_OK, "%s", ce_last_error());
        if (!bm->ops.linear_prepare) {
            ce_backend_model_close(bm);
            continue;
        }
        sh.bm = bm;
        ce_linear_desc d = {sizeof d, K_IN, K_OUT, w, K_IN, CE_TRANS, bias,
                            CE_BACKEND_ACT_GELU_ERF, "threads.weight", CE_PRECISION_F32};
        ck_assert_msg(bm->ops.linear_prepare(bm->state, &d, &sh.prepared) == CE_OK, "%s: %s",
                      name, ce_last_error());
        ck_assert(run_kernels(&sh, &want));
        pthread_t t[KERN_THREADS];
        for (int i = 0; i < KERN_THREADS; i++) {
            jobs[i] = (kern_job){.sh = &sh, .want = &want};
            ck_assert_int_eq(pthread_create(&t[i], NULL, kern_thread, &jobs[i]), 0);
        }
        for (int i = 0; i < KERN_THREADS; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < KERN_THREADS; i++)
            ck_assert_msg(jobs[i].ok && jobs[i].same, "backend %s, host thread %d: %s", name, i,
                          jobs[i].ok ? "results differ" : "no context");
        bm->ops.linear_release(bm->state, sh.prepared);
        ce_backend_model_close(bm);
    }
    free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_threads_capped_at_affinity);
    tcase_add_test(tc, test_idle_after_free);
    tcase_add_test(tc, test_busy_machine_lowers_threads);
    tcase_add_test(tc, test_sessions_on_threads_agree);
    tcase_add_test(tc, test_many_threads_one_model);
    tcase_add_test(tc, test_kernels_from_many_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
