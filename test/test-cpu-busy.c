/* What other processes take of some CPUs (core/cpus.h, cpu_busy.c): samples
 * parsed from made-up /proc files (every field, a process name with spaces
 * and parentheses, CPUs outside the set, unreadable files), the arithmetic
 * between two samples, and on this machine a busy loop in another process
 * counted while one in this process is not. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cpus.h"
#include "test-util.h"

static char root[256];

static void put(const char *rel, const char *text)
{
    ce_test_tree_put(root, rel, text);
}

static void setup(void)
{
    ce_test_tree_new(root, sizeof root, "ce-cpu-busy");
}

static void teardown(void)
{
    ce_test_tree_remove(root);
}

#define SELF_STAT(utime, stime)                                                                    \
    "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 " #utime " " #stime                       \
    " 0 0 20 0 3 0 1000 0 0\n"

START_TEST(test_sample_from_files)
{
    put("proc/stat", "cpu  900 0 90 5000 10 0 0 0 0 0\n" /* all CPUs: not a CPU of its own */
                     "cpu0 100 1 10 1000 5 2 3 4 0 0\n"
                     "cpu1 200 0 20 1000 5 0 0 0 0 0\n"
                     "cpu2 600 0 60 3000 0 0 0 0 0 0\n"
                     "intr 12345 0 0\nctxt 999\n");
    put("proc/self/stat", SELF_STAT(30, 7));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    CPU_SET(2, &set);
    ce_busy_sample s;
    ck_assert(ce_busy_sample_at(root, &set, 5.0, &s));
    /* user nice system irq softirq steal of cpu0 and cpu2; idle and iowait left out */
    ck_assert_uint_eq(s.busy, (100 + 1 + 10 + 2 + 3 + 4) + (600 + 60));
    ck_assert_uint_eq(s.own, 37);
    ck_assert(s.t == 5.0);
    CPU_ZERO(&set);
    CPU_SET(7, &set); /* listed nowhere */
    ck_assert(!ce_busy_sample_at(root, &set, 5.0, &s));
}
END_TEST

START_TEST(test_unreadable)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    ce_busy_sample s;
    ck_assert(!ce_busy_sample_at(root, &set, 1.0, &s)); /* no /proc */
    put("proc/stat", "cpu0 1 2 3 4 5 6 7 8\n");
    ck_assert(!ce_busy_sample_at(root, &set, 1.0, &s)); /* no /proc/self/stat */
    put("proc/self/stat", "4242 (cut short) S 1\n");
    ck_assert(!ce_busy_sample_at(root, &set, 1.0, &s));
    put("proc/self/stat", SELF_STAT(1, 1));
    ck_assert(ce_busy_sample_at(root, &set, 1.0, &s));
}
END_TEST

START_TEST(test_between)
{
    ce_busy_sample a = {10.0, 1000, 50}, b = {10.5, 1100, 60};
    /* 100 ticks busy in 0.5 s at 100 ticks a second, 10 of them this process's: 1.8 CPUs */
    ck_assert_double_eq_tol(ce_busy_between(&a, &b, 100.0), 1.8, 1e-12);
    b.own = 200; /* all of it this process's */
    ck_assert_double_eq_tol(ce_busy_between(&a, &b, 100.0), 0.0, 1e-12);
    b.t = 10.0;
    ck_assert_double_eq_tol(ce_busy_between(&a, &b, 100.0), -1.0, 1e-12);
    b.t = 11.0;
    b.busy = 999; /* a counter that went back */
    ck_assert_double_eq_tol(ce_busy_between(&a, &b, 100.0), -1.0, 1e-12);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
}

static atomic_int spinning;

static void *spin(void *arg)
{
    pin(*(const int *)arg);
    while (atomic_load(&spinning))
        ;
    return NULL;
}

/* CPUs' worth others took of @p cpu over 0.6 s. */
static double measure(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ce_busy_sample a, b;
    long hz = sysconf(_SC_CLK_TCK);
    ck_assert(ce_busy_sample_at("", &set, now_s(), &a));
    usleep(600000);
    ck_assert(ce_busy_sample_at("", &set, now_s(), &b));
    return ce_busy_between(&a, &b, (double)hz);
}

static int last_cpu(void)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int cpu = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            cpu = c;
    return cpu;
}

/* CPUs' worth others took of @p cpu while another process (@p other) or a
 * thread of this one spins on it. */
static double with_spinner(int cpu, int other)
{
    pid_t child = -1;
    pthread_t th;
    if (other) {
        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            sched_setaffinity(0, sizeof one, &one);
            for (;;)
                ;
        }
    } else {
        atomic_store(&spinning, 1);
        ck_assert_int_eq(pthread_create(&th, NULL, spin, &cpu), 0);
    }
    usleep(50000);
    double busy = measure(cpu);
    if (other) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    } else {
        atomic_store(&spinning, 0);
        pthread_join(th, NULL);
    }
    return busy;
}

/* Up to three tries each: other tests running beside this one take CPU
 * time too, which rightly counts as others'. */
START_TEST(test_another_process_counts_this_one_does_not)
{
    int cpu = last_cpu();
    double others = 0, own = 1;
    for (int i = 0; i < 3 && others <= 0.6; i++)
        others = with_spinner(cpu, 1);
    ck_assert_msg(others > 0.6, "another process's busy loop on cpu %d: %.2f CPUs", cpu, others);
    for (int i = 0; i < 3 && own >= 0.4; i++)
        own = with_spinner(cpu, 0);
    ck_assert_msg(own < 0.4, "this process's busy loop on cpu %d: %.2f CPUs of others", cpu, own);
}
END_TEST

/* The cached form: unknown at first, then a number once 100 ms have passed. */
START_TEST(test_cached_form)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert(ce_cpus_others_busy(&set) < 0);
    usleep(150000);
    double busy = ce_cpus_others_busy(&set);
    ck_assert_msg(busy >= 0 && busy <= CPU_COUNT(&set) + 0.5, "%.2f", busy);
    cpu_set_t other;
    CPU_ZERO(&other);
    CPU_SET(last_cpu(), &other);
    if (!CPU_EQUAL(&other, &set))
        ck_assert(ce_cpus_others_busy(&other) < 0); /* another set starts over */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cpu-busy");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sample_from_files);
    tcase_add_test(tc, test_unreadable);
    tcase_add_test(tc, test_between);
    suite_add_tcase(s, tc);
    TCase *live = tcase_create("live");
    tcase_set_timeout(live, 60);
    tcase_add_test(live, test_another_process_counts_this_one_does_not);
    tcase_add_test(live, test_cached_form);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
