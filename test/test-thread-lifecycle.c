/* What threads the library leaves behind. Once every session and model is
 * freed, none of its compute threads is left: the OpenMP pool of the thread
 * that frees the last one is ended (registry.c, ce_cpu_pool_release), and a
 * pool another host thread started sleeps, using no CPU, until that thread
 * ends. A session's thread count never exceeds the CPUs of the affinity mask.
 * docs/guide.md, "Compute threads while idle and after free", says the same
 * to users. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/backend_internal.h"
#include "contextembed/contextembed.h"
#include "core/cpus.h"
#include "test-util.h"

/* ---- the threads of this process, from /proc/self/task ---- */

#define MAX_TASKS 256

typedef struct task {
    int tid;
    char state;                /* R running, S sleeping, D disk wait, ... */
    unsigned long long cpu_ns; /* time spent on a CPU so far */
} task;

typedef struct task_list {
    size_t n;
    task t[MAX_TASKS];
} task_list;

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

static int read_small(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t len = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[len] = '\0';
    return len > 0;
}

/* One thread's state and CPU time: schedstat's nanoseconds when the kernel
 * keeps them, else utime + stime (clock ticks) from stat. */
static int read_task(int tid, task *t)
{
    char path[64], buf[1024], sbuf[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    if (!read_small(path, buf, sizeof buf))
        return 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (!p || p[1] != ' ' || !p[2])
        return 0;
    t->tid = tid;
    t->state = p[2];
    unsigned long long ns;
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    if (read_small(path, sbuf, sizeof sbuf) && sscanf(sbuf, "%llu", &ns) == 1) {
        t->cpu_ns = ns;
        return 1;
    }
    /* fields from the state (the 3rd) on: utime is the 14th, stime the 15th */
    unsigned long utime, stime;
    const char *q = p + 2;
    for (int field = 3; field < 14 && q; field++)
        if ((q = strchr(q, ' ')))
            q++;
    if (!q || sscanf(q, "%lu %lu", &utime, &stime) != 2)
        return 0;
    t->cpu_ns = (unsigned long long)(utime + stime) *
                (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
    return 1;
}

static void list_tasks(task_list *l)
{
    l->n = 0;
    DIR *d = opendir("/proc/self/task");
    ck_assert_msg(d != NULL, "cannot list /proc/self/task");
    struct dirent *e;
    while ((e = readdir(d)) && l->n < MAX_TASKS) {
        int tid = atoi(e->d_name);
        if (tid > 0 && read_task(tid, &l->t[l->n]))
            l->n++;
    }
    closedir(d);
}

static const task *find_task(const task_list *l, int tid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->t[i].tid == tid)
            return &l->t[i];
    return NULL;
}

/* The threads of @p now that are not in @p base. */
static void extra_tasks(const task_list *base, const task_list *now, task_list *out)
{
    out->n = 0;
    for (size_t i = 0; i < now->n; i++)
        if (!find_task(base, now->t[i].tid))
            out->t[out->n++] = now->t[i];
}

/* The threads the process has now beyond @p base, once those that are ending
 * are gone (a joined thread leaves /proc a moment after its join returns). */
static void extra_after(const task_list *base, task_list *out)
{
    task_list now;
    for (int i = 0; i < 100; i++) {
        list_tasks(&now);
        extra_tasks(base, &now, out);
        if (out->n == 0)
            return;
        sleep_ms(10);
    }
}

static void describe(const task_list *l, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, " [tid %d, state %c, %.1f ms of CPU]", l->t[i].tid,
                         l->t[i].state, (double)l->t[i].cpu_ns / 1e6);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Threads of @p threads (those still there) that ran on a CPU for more than
 * 2 ms during a window of 500 ms, or are running: written to @p busy. */
static void busy_over_window(const task_list *threads, task_list *busy)
{
    sleep_ms(500);
    busy->n = 0;
    for (size_t i = 0; i < threads->n; i++) {
        task now;
        if (!read_task(threads->t[i].tid, &now))
            continue; /* gone */
        if (now.cpu_ns - threads->t[i].cpu_ns > 2000000ull || now.state == 'R') {
            now.cpu_ns -= threads->t[i].cpu_ns;
            busy->t[busy->n++] = now;
        }
    }
}

/* A baseline that holds every thread not of the library's making. A sanitizer
 * runtime may start a helper thread along with the process's first thread:
 * start and join one first, so that its helper is in the baseline. */
static void *nothing(void *arg)
{
    return arg;
}

static void baseline(task_list *base)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, nothing, NULL), 0);
    pthread_join(t, NULL);
    sleep_ms(20);
    list_tasks(base);
}

/* ---- the library ---- */

static ce_model *open_bert(const char *backend, int64_t threads)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bert-tiny-uncased", ce_test_fixtures());
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, threads), CE_OK);
    ck_assert_int_eq(ce_options_set_string(o, CE_OPT_BACKEND, backend), CE_OK);
    ce_model *m = NULL;
    ck_assert_msg(ce_model_open(path, o, &m) == CE_OK, "%s: %s", backend, ce_last_error());
    ce_options_free(o);
    return m;
}

#define SEQS    16
#define SEQ_LEN 64 /* bert-tiny's longest */

/* A batch big enough for the kernels to split it over threads when the
 * machine has CPUs to spare (ce_cpus_free_for may keep it on one); returns
 * the first sequence's first value. */
static float run_batch(ce_session *s)
{
    static int32_t ids[SEQS * SEQ_LEN];
    size_t lens[SEQS];
    for (size_t i = 0; i < SEQS * SEQ_LEN; i++)
        ids[i] = (int32_t)(5 + (i * 13) % 270);
    for (size_t i = 0; i < SEQS; i++)
        lens[i] = SEQ_LEN;
    ck_assert_msg(ce_session_run(s, SEQS, lens, ids, NULL) == CE_OK, "%s", ce_last_error());
    float out[SEQ_LEN * 64];
    size_t n;
    ck_assert_msg(ce_session_output(s, 0, NULL, out, SEQ_LEN * 64, &n) == CE_OK, "%s",
                  ce_last_error());
    ck_assert(isfinite(out[0]));
    return out[0];
}

/* A kernel call on @p threads threads whatever the machine's load: large
 * enough that every backend with threads splits it, so the OpenMP pool is
 * certainly started. */
static void force_parallel_kernel(const char *backend, int threads)
{
    ce_backend *b;
    ck_assert_int_eq(ce_backend_open(backend, threads, NULL, &b), CE_OK);
    size_t n = (size_t)1 << 20;
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i % 1000) / 500.0f - 1.0f;
    b->ops.gelu_erf(b->ctx, n, x);
    free(x);
    ce_backend_close(b);
}

static const char *const backends[] = {"blis", "onednn", "ref"};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

/* Each backend at 2 and 4 threads: the pool exists while a session lives
 * (for the backends that run on threads) and not after the last free. */
START_TEST(test_no_thread_left_after_free)
{
    task_list base, now, extra;
    char msg[2048];
    baseline(&base);
    for (size_t bi = 0; bi < N_BACKENDS; bi++) {
        const char *name = backends[bi];
        if (!ce_test_has_backend(name))
            continue;
        float first = 0.0f;
        for (int threads = 2; threads <= 4; threads += 2) {
            for (int cycle = 0; cycle < 2; cycle++) {
                ce_model *m = open_bert(name, threads);
                ce_session *s;
                ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
                for (int r = 0; r < 3; r++) {
                    float v = run_batch(s);
                    if (threads == 2 && cycle == 0 && r == 0)
                        first = v;
                    /* the same results with a pool that was ended and restarted */
                    ck_assert_msg(fabsf(v - first) <= 1e-5f * (1.0f + fabsf(first)),
                                  "%s/%d threads: %g, first run %g", name, threads, (double)v,
                                  (double)first);
                }
                force_parallel_kernel(name, threads);
                list_tasks(&now);
                extra_tasks(&base, &now, &extra);
                if (strcmp(name, "ref") == 0)
                    ck_assert_msg(extra.n == 0, "ref started %zu threads", extra.n);
                else
                    ck_assert_msg(extra.n >= 1, "%s/%d threads: no worker thread was started", name,
                                  threads);
                ce_session_free(s);
                ce_model_free(m);
                extra_after(&base, &extra);
                describe(&extra, msg, sizeof msg);
                ck_assert_msg(extra.n == 0,
                              "%s/%d threads: %zu threads left after every session and model "
                              "was freed:%s",
                              name, threads, extra.n, msg);
            }
        }
    }
}
END_TEST

/* A host thread that runs a session and frees it while the model stays open
 * keeps its pool after the last free on another thread: sleeping, using no
 * CPU, until the host thread ends. */
typedef struct host {
    ce_model *model;
    const char *backend;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, may_exit;
    ce_status st;
} host;

static void *host_main(void *arg)
{
    host *h = arg;
    ce_session *s;
    ce_status st = ce_session_create(h->model, NULL, &s);
    if (st == CE_OK) {
        const char *text = "the tide went out";
        size_t len = strlen(text);
        st = ce_session_run_texts(s, 1, &text, &len, 0, 0);
        ce_session_free(s);
    }
    /* the pool certainly started: a kernel forced onto 2 threads */
    ce_backend *b;
    if (st == CE_OK && (st = ce_backend_open(h->backend, 2, NULL, &b)) == CE_OK) {
        size_t n = (size_t)1 << 20;
        float *x = calloc(n, sizeof *x);
        if (x)
            b->ops.gelu_erf(b->ctx, n, x);
        free(x);
        ce_backend_close(b);
    }
    pthread_mutex_lock(&h->lock);
    h->st = st;
    h->done = 1;
    pthread_cond_broadcast(&h->cond);
    while (!h->may_exit)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

START_TEST(test_other_host_thread_pool_sleeps)
{
    task_list base, now, extra, busy;
    char msg[2048];
    baseline(&base);
    for (size_t bi = 0; bi < N_BACKENDS; bi++) {
        const char *name = backends[bi];
        if (!ce_test_has_backend(name))
            continue;
        host h = {.model = open_bert(name, 2), .backend = name};
        pthread_mutex_init(&h.lock, NULL);
        pthread_cond_init(&h.cond, NULL);
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, host_main, &h), 0);
        pthread_mutex_lock(&h.lock);
        while (!h.done)
            pthread_cond_wait(&h.cond, &h.lock);
        pthread_mutex_unlock(&h.lock);
        ck_assert_msg(h.st == CE_OK, "%s: %s", name, ce_status_str(h.st));
        ce_model_free(h.model); /* the last free, on this thread */
        sleep_ms(250);          /* OpenMP's spin after a region is long over */
        list_tasks(&now);
        extra_tasks(&base, &now, &extra);
        busy_over_window(&extra, &busy);
        describe(&busy, msg, sizeof msg);
        ck_assert_msg(busy.n == 0, "%s: threads busy while idle:%s", name, msg);
        pthread_mutex_lock(&h.lock);
        h.may_exit = 1;
        pthread_cond_broadcast(&h.cond);
        pthread_mutex_unlock(&h.lock);
        pthread_join(t, NULL);
        extra_after(&base, &extra);
        describe(&extra, msg, sizeof msg);
        ck_assert_msg(extra.n == 0, "%s: %zu threads left after the host thread ended:%s", name,
                      extra.n, msg);
        pthread_cond_destroy(&h.cond);
        pthread_mutex_destroy(&h.lock);
    }
}
END_TEST

/* No thread beyond @p base now (NULL: not checked). */
static void check_no_extra(const task_list *base, const char *name)
{
    if (!base)
        return;
    task_list now, extra;
    char msg[2048];
    list_tasks(&now);
    extra_tasks(base, &now, &extra);
    describe(&extra, msg, sizeof msg);
    ck_assert_msg(extra.n == 0, "%s on one CPU started %zu threads:%s", name, extra.n, msg);
}

/* 64 threads asked, of the model or of the session: as many as the affinity
 * mask holds at most. With @p base, the sessions run a batch and no thread
 * beyond @p base may exist while they live. Returns how many threads the
 * model's session took. */
static int check_cap(const char *name, int cpus, const task_list *base)
{
    int want = cpus < 64 ? cpus : 64;
    ce_model *m = open_bert(name, 64);
    ce_session *s;
    ck_assert_int_eq(ce_session_create(m, NULL, &s), CE_OK);
    int got = ce_session_threads(s);
    ck_assert_msg(got >= 1 && got <= want, "%s: %d threads with %d CPUs", name, got, cpus);
    if (strcmp(name, "ref") != 0)
        ck_assert_msg(got == want, "%s: %d threads, expected %d", name, got, want);
    if (base)
        run_batch(s);
    check_no_extra(base, name);
    ce_session_free(s);
    ce_model_free(m);

    m = open_bert(name, 1);
    ce_options *o;
    ck_assert_int_eq(ce_options_create(&o), CE_OK);
    ck_assert_int_eq(ce_options_set_int(o, CE_OPT_THREADS, 64), CE_OK);
    ck_assert_int_eq(ce_session_create(m, o, &s), CE_OK);
    ce_options_free(o);
    ck_assert_msg(ce_session_threads(s) >= 1 && ce_session_threads(s) <= want,
                  "%s: session option: %d threads with %d CPUs", name, ce_session_threads(s), cpus);
    if (base)
        run_batch(s);
    check_no_extra(base, name);
    ce_session_free(s);
    ce_model_free(m);
    return got;
}

START_TEST(test_threads_capped_at_affinity_mask)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int cpus = CPU_COUNT(&set);
    ck_assert_int_eq(ce_cpus_usable(), cpus);
    for (size_t bi = 0; bi < N_BACKENDS; bi++)
        if (ce_test_has_backend(backends[bi]))
            check_cap(backends[bi], cpus, NULL);
}
END_TEST

/* Restricted to one CPU: one thread, and no worker thread ever started. */
START_TEST(test_one_cpu_mask)
{
    cpu_set_t set, one;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            CPU_SET(c, &one);
            break;
        }
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    ck_assert_int_eq(ce_cpus_usable(), 1);
    task_list base;
    baseline(&base);
    for (size_t bi = 0; bi < N_BACKENDS; bi++)
        if (ce_test_has_backend(backends[bi]))
            ck_assert_int_eq(check_cap(backends[bi], 1, &base), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("thread-lifecycle");
    TCase *tc = tcase_create("thread-lifecycle");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_no_thread_left_after_free);
    tcase_add_test(tc, test_other_host_thread_pool_sleeps);
    tcase_add_test(tc, test_threads_capped_at_affinity_mask);
    tcase_add_test(tc, test_one_cpu_mask);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
