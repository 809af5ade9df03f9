/* ce_sampler: greedy, temperature, top-k, top-p and seeding, checked against exact distributions. */
#include <math.h>
#include <stdlib.h>

#include "contextembed/contextembed.h"
#include "test-util.h"

#define DRAWS 40000

static void frequencies(ce_sampler *s, const float *logits, size_t n, double *freq)
{
    for (size_t i = 0; i < n; i++)
        freq[i] = 0;
    for (int i = 0; i < DRAWS; i++) {
        int32_t id = -1;
        ck_assert_int_eq(ce_sampler_sample(s, logits, n, &id), CE_OK);
        ck_assert(id >= 0 && (size_t)id < n);
        freq[id] += 1.0 / DRAWS;
    }
}

static const float lp[4] = {-2.302585f, -1.609438f, -1.203973f, -0.916291f}; /* log .1 .2 .3 .4 */

START_TEST(test_greedy)
{
    ce_sampler *s;
    ck_assert_int_eq(ce_sampler_create(5, &s), CE_OK);
    ck_assert_int_eq(ce_sampler_configure(s, 0.0f, 0, 1.0f), CE_OK);
    float tie[] = {1.0f, 3.0f, -2.0f, 3.0f};
    int32_t id;
    ck_assert_int_eq(ce_sampler_sample(s, tie, 4, &id), CE_OK);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(ce_sampler_configure(s, 1.0f, 1, 1.0f), CE_OK); /* top-k 1 is greedy too */
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(ce_sampler_sample(s, lp, 4, &id), CE_OK);
        ck_assert_int_eq(id, 3);
    }
    ce_sampler_free(s);
}
END_TEST

START_TEST(test_distributions)
{
    ce_sampler *s;
    ck_assert_int_eq(ce_sampler_create(42, &s), CE_OK);
    double f[4];
    frequencies(s, lp, 4, f); /* temperature 1: the softmax itself */
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(f[i], 0.1 * (i + 1), 0.015);
    ck_assert_int_eq(ce_sampler_configure(s, 1.0f, 2, 1.0f), CE_OK); /* top-k 2: .3 and .4 */
    frequencies(s, lp, 4, f);
    ck_assert(f[0] == 0 && f[1] == 0);
    ck_assert_double_eq_tol(f[3], 4.0 / 7, 0.015);
    ck_assert_int_eq(ce_sampler_configure(s, 1.0f, 0, 0.5f), CE_OK); /* nucleus .5: .4 + .3 */
    frequencies(s, lp, 4, f);
    ck_assert(f[0] == 0 && f[1] == 0);
    ck_assert_double_eq_tol(f[2], 3.0 / 7, 0.015);
    ck_assert_int_eq(ce_sampler_configure(s, 2.0f, 0, 1.0f), CE_OK); /* p^(1/2), renormalised */
    frequencies(s, lp, 4, f);
    double z = sqrt(.1) + sqrt(.2) + sqrt(.3) + sqrt(.4);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(f[i], sqrt(0.1 * (i + 1)) / z, 0.015);
    ce_sampler_free(s);
}
END_TEST

START_TEST(test_seeds)
{
    ce_sampler *a, *b, *c;
    ce_sampler_create(7, &a);
    ce_sampler_create(7, &b);
    ce_sampler_create(8, &c);
    int same = 1, differ = 0;
    for (int i = 0; i < 200; i++) {
        int32_t x, y, z;
        ce_sampler_sample(a, lp, 4, &x);
        ce_sampler_sample(b, lp, 4, &y);
        ce_sampler_sample(c, lp, 4, &z);
        same &= x == y;
        differ |= x != z;
    }
    ck_assert(same && differ);
    ce_sampler_free(a);
    ce_sampler_free(b);
    ce_sampler_free(c);
}
END_TEST

START_TEST(test_bad_arguments)
{
    ce_sampler *s = (ce_sampler *)0x1;
    ck_assert_int_eq(ce_sampler_create(1, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_sampler_create(1, &s), CE_OK);
    ck_assert_int_eq(ce_sampler_configure(NULL, 1, 0, 1), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_sampler_configure(s, -1.0f, 0, 1), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_sampler_configure(s, NAN, 0, 1), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_sampler_configure(s, 1, -3, 1), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_sampler_configure(s, 1, 0, 0.0f), CE_ERR_OUT_OF_RANGE);
    ck_assert_int_eq(ce_sampler_configure(s, 1, 0, 1.5f), CE_ERR_OUT_OF_RANGE);
    int32_t id = 99;
    float bad[] = {0.0f, NAN};
    ck_assert_int_eq(ce_sampler_sample(s, bad, 2, &id), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_sampler_sample(s, lp, 0, &id), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_sampler_sample(s, NULL, 4, &id), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_sampler_sample(s, lp, 4, NULL), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(id, 99);
    ce_sampler_free(s);
    ce_sampler_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sampler");
    TCase *tc = tcase_create("sampling");
    tcase_add_test(tc, test_greedy);
    tcase_add_test(tc, test_distributions);
    tcase_add_test(tc, test_seeds);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return ce_test_run(s);
}
