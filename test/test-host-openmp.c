/* A host calling the library from its own OpenMP team: each of its threads
 * with its own one-thread session on a shared model. The session's kernels
 * then run without a parallel region of their own, on a thread whose OpenMP
 * number is its place in the host's team (1, 2, 3), not 0: anything kept per
 * OpenMP thread must still be found (the AMX kernel's rounded rows were not,
 * and the product crashed). Every thread's product, and its attention (x as
 * queries, keys and values of 3 heads), must equal what the main thread
 * computes with the same session kind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/backend_internal.h"
#include "contextembed/contextembed.h"
#include "test-util.h"

#define IN 96
#define OUT 80
#define ROWS 33 /* one 32-row tile pair and a 1-row tail */
#define TEAM 4
#define RESULT (ROWS * OUT + ROWS * IN) /* the product, then the attention */

static float value(size_t i, float scale)
{
    return scale * (float)((i * 2654435761u) % 1000u) / 1000.0f - 0.5f * scale;
}

/* y = the linear product of backend @p name's session of 1 thread, then
 * its attention over x. */
static int product(const char *name, const ce_backend_model *bm, const void *prepared,
                   const float *x, float *y)
{
    ce_backend *b = NULL;
    if (ce_backend_open(name, 1, bm, &b) != CE_OK)
        return 0;
    b->ops.linear(b->ctx, prepared, ROWS, x, IN, 0.0f, y, OUT);
    b->ops.attention(b->ctx, 3, IN / 3, ROWS, ROWS, x, IN, x, IN, x, IN, 0.2f, 1, 0,
                     y + ROWS * OUT, IN);
    ce_backend_close(b);
    return 1;
}

/* Backend @p name at @p precision, if it prepares weights in it: the number of
 * the host's threads whose product differed from the main thread's. */
static int check(const char *name, ce_precision precision, int *ran)
{
    ce_backend_model *bm = NULL;
    if (ce_backend_model_open_at(name, 1, precision, &bm) != CE_OK || !bm->prepares) {
        ce_backend_model_close(bm);
        return 0;
    }
    static float w[OUT * IN], bias[OUT], x[ROWS * IN], want[RESULT];
    for (size_t i = 0; i < OUT * IN; i++)
        w[i] = value(i, 0.2f);
    for (size_t i = 0; i < OUT; i++)
        bias[i] = value(i + 7, 1.0f);
    for (size_t i = 0; i < ROWS * IN; i++)
        x[i] = value(i + 13, 2.0f);
    ce_linear_desc desc = {sizeof desc, IN, OUT, w, IN, CE_TRANS, bias, CE_BACKEND_ACT_GELU_ERF,
                           "host.weight", precision};
    void *prepared = NULL;
    ck_assert_int_eq(bm->ops.linear_prepare(bm->state, &desc, &prepared), CE_OK);
    ck_assert(product(name, bm, prepared, x, want));
    int differed = 0;
#pragma omp parallel num_threads(TEAM) reduction(+ : differed)
    {
        float *y = malloc(sizeof(float) * RESULT);
        if (!y || !product(name, bm, prepared, x, y) || memcmp(y, want, sizeof want) != 0)
            differed++;
        free(y);
    }
    bm->ops.linear_release(bm->state, prepared);
    ce_backend_model_close(bm);
    (*ran)++;
    return differed;
}

START_TEST(test_host_team)
{
    int ran = 0;
    for (size_t i = 0; i < ce_backend_count(); i++)
        for (int p = 0; p < 2; p++) {
            const char *name = ce_backend_name(i);
            int differed = check(name, p ? CE_PRECISION_BF16 : CE_PRECISION_F32, &ran);
            ck_assert_msg(differed == 0, "%s %s: %d of %d host threads got another product",
                          name, p ? "bf16" : "f32", differed, TEAM);
        }
    ck_assert_int_ge(ran, 1);
}
END_TEST

int main(void)
{
#ifndef _OPENMP
    printf("skipped: built without OpenMP\n");
    return CE_TEST_SKIP;
#else
    Suite *s = suite_create("host-openmp");
    TCase *tc = tcase_create("team");
    tcase_add_test(tc, test_host_team);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
#endif
}
