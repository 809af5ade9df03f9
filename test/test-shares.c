/* Work shared out between threads that may run at different speeds
 * (backends/cpu/cpu_shares.h): every item is claimed exactly once, an owner
 * takes its share from the front in order, others take chunks from its back
 * on the chunk grid, and racing POSIX threads (one of them slowed) still
 * claim each item once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cpu_shares.h"
#include "test-util.h"

/* counts[i] += 1 for i in [b, e), checking chunk rules on the way */
static void claim(unsigned *counts, size_t n, size_t b, size_t e, size_t chunk, size_t align)
{
    ck_assert_msg(b < e && e <= n, "claimed [%zu, %zu) of %zu", b, e, n);
    ck_assert_msg(e - b <= chunk, "[%zu, %zu) longer than a chunk of %zu", b, e, chunk);
    ck_assert_msg(b % align == 0, "[%zu, %zu) not on a multiple of %zu", b, e, align);
    for (size_t i = b; i < e; i++)
        counts[i]++;
}

static void expect_once(const unsigned *counts, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(counts[i] == 1, "%s: item %zu claimed %u times", what, i, counts[i]);
}

START_TEST(test_owners_then_thieves)
{
    static const size_t ns[] = {0, 1, 2, 7, 24, 96, 97, 1000};
    static const size_t parts_of[] = {1, 2, 3, 8};
    static const size_t chunks[] = {1, 2, 5};
    static const size_t aligns[] = {1, 2, 4};
    for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
        for (size_t pi = 0; pi < sizeof parts_of / sizeof *parts_of; pi++)
            for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks; ci++)
                for (size_t ai = 0; ai < sizeof aligns / sizeof *aligns; ai++) {
                    size_t n = ns[ni], parts = parts_of[pi], align = aligns[ai];
                    size_t chunk = (chunks[ci] + align - 1) / align * align;
                    ce_cpu_shares s;
                    ck_assert_int_eq(ce_cpu_shares_init(&s, n, parts, chunks[ci], align), 1);
                    unsigned *counts = calloc(n + 1, sizeof *counts);
                    ck_assert_ptr_nonnull(counts);
                    size_t b, e, lim;
                    /* the first owner takes two chunks in order, if it has them */
                    size_t next = SIZE_MAX;
                    for (int k = 0; k < 2 && ce_cpu_shares_next(&s, 0, &b, &e, &lim); k++) {
                        ck_assert_msg(next == SIZE_MAX || b == next, "owner skipped to %zu", b);
                        ck_assert_msg(lim >= e, "limit %zu before the chunk's end %zu", lim, e);
                        claim(counts, n, b, e, chunk, align);
                        next = e;
                    }
                    /* the last part steals everything left, from the back */
                    while (ce_cpu_shares_steal(&s, parts - 1, &b, &e))
                        claim(counts, n, b, e, chunk, align);
                    /* its own share is still all there, in order */
                    next = SIZE_MAX;
                    while (ce_cpu_shares_next(&s, parts - 1, &b, &e, &lim)) {
                        ck_assert_msg(next == SIZE_MAX || b == next, "owner skipped to %zu", b);
                        claim(counts, n, b, e, chunk, align);
                        next = e;
                    }
                    for (size_t t = 0; t < parts; t++)
                        ck_assert_int_eq(ce_cpu_shares_next(&s, t, &b, &e, &lim), 0);
                    ck_assert_int_eq(ce_cpu_shares_steal(&s, 0, &b, &e), 0);
                    char what[96];
                    snprintf(what, sizeof what, "n=%zu parts=%zu chunk=%zu align=%zu", n, parts,
                             chunks[ci], align);
                    expect_once(counts, n, what);
                    free(counts);
                }
}
END_TEST

START_TEST(test_steals_come_from_the_back)
{
    ce_cpu_shares s;
    ck_assert_int_eq(ce_cpu_shares_init(&s, 40, 2, 4, 2), 1); /* shares [0, 20), [20, 40) */
    size_t b, e, lim;
    ck_assert_int_eq(ce_cpu_shares_next(&s, 0, &b, &e, &lim), 1);
    ck_assert_uint_eq(b, 0);
    ck_assert_uint_eq(e, 4);
    ck_assert_uint_eq(lim, 20);
    ck_assert_int_eq(ce_cpu_shares_steal(&s, 1, &b, &e), 1); /* share 0's last chunk */
    ck_assert_uint_eq(b, 16);
    ck_assert_uint_eq(e, 20);
    ck_assert_int_eq(ce_cpu_shares_next(&s, 0, &b, &e, &lim), 1);
    ck_assert_uint_eq(b, 4);
    ck_assert_uint_eq(e, 8);
    ck_assert_uint_eq(lim, 16); /* where share 0 ends now */
}
END_TEST

START_TEST(test_refused)
{
    ce_cpu_shares s;
    ck_assert_int_eq(ce_cpu_shares_init(&s, 10, 0, 1, 1), 0);
    ck_assert_int_eq(ce_cpu_shares_init(&s, 10, CE_CPU_MAX_THREADS + 1, 1, 1), 0);
    if (sizeof(size_t) > 4)
        ck_assert_int_eq(ce_cpu_shares_init(&s, (size_t)UINT32_MAX + 1, 2, 1, 1), 0);
    ck_assert_int_eq(ce_cpu_shares_init(&s, UINT32_MAX, 2, 1, 1), 1);
}
END_TEST

#define RACERS 4
#define ITEMS 20000

typedef struct racer {
    ce_cpu_shares *s;
    _Atomic unsigned *counts;
    size_t t, stolen;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    size_t b, e, lim;
    while (ce_cpu_shares_next(r->s, r->t, &b, &e, &lim))
        for (; b < e; b++) {
            atomic_fetch_add(&r->counts[b], 1);
            if (r->t == 0) { /* the slow one */
                struct timespec d = {0, 2000};
                nanosleep(&d, NULL);
            }
        }
    while (ce_cpu_shares_steal(r->s, r->t, &b, &e))
        for (; b < e; b++, r->stolen++)
            atomic_fetch_add(&r->counts[b], 1);
    return NULL;
}

START_TEST(test_racing_threads)
{
    _Atomic unsigned *counts = calloc(ITEMS, sizeof *counts);
    ck_assert_ptr_nonnull(counts);
    ce_cpu_shares s;
    ck_assert_int_eq(ce_cpu_shares_init(&s, ITEMS, RACERS, 3, 1), 1);
    racer r[RACERS];
    pthread_t th[RACERS];
    for (size_t t = 0; t < RACERS; t++) {
        r[t] = (racer){&s, counts, t, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, race, &r[t]), 0);
    }
    size_t stolen = 0;
    for (size_t t = 0; t < RACERS; t++) {
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        stolen += r[t].stolen;
    }
    for (size_t i = 0; i < ITEMS; i++)
        ck_assert_msg(counts[i] == 1, "item %zu claimed %u times", i, (unsigned)counts[i]);
    /* the slowed owner's share (5000 items at 2 us or more each) is helped */
    ck_assert_msg(stolen > 0, "nothing stolen from a slowed thread");
    free(counts);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shares");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_owners_then_thieves);
    tcase_add_test(tc, test_steals_come_from_the_back);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_racing_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
