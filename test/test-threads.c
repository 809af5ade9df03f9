/* Threads a host can trust: the thread count is capped at the CPUs the
 * process may use, a busy machine lowers it per call, once every session and
 * model is freed nothing of the library's keeps a CPU busy, and sessions on
 * several host threads share one model's prepared weights and agree exactly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "contextembed/contextembed.h"
#include "contextembed/backend.h"
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

static int host_thread(void *arg)
{
    host_job *j = arg;
    ce_session *s;
    if (ce_session_create(j->model, NULL, &s) != CE_OK) {
        j->failures++;
        return 0;
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
    return 0;
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
        thrd_t t[HOST_THREADS];
        for (int i = 0; i < HOST_THREADS; i++) {
            jobs[i] = (host_job){m, want, n, 0, 0};
            ck_assert_int_eq(thrd_create(&t[i], host_thread, &jobs[i]), thrd_success);
        }
        for (int i = 0; i < HOST_THREADS; i++) {
            thrd_join(t[i], NULL);
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

static Suite *suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_threads_capped_at_affinity);
    tcase_add_test(tc, test_idle_after_free);
    tcase_add_test(tc, test_busy_machine_lowers_threads);
    tcase_add_test(tc, test_sessions_on_threads_agree);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
