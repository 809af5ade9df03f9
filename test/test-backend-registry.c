/* The backend registry: built-ins, "auto", user backends with empty slots
 * falling back to the reference, and every refusal ce_backend_register()
 * documents. Tests that register run after the ones that rely on the
 * built-in set, so the suite also passes with CK_FORK=no. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "ce_config.h"
#include "backends/backend_internal.h"
#include "test-util.h"

/* ---- a user backend that only brings gemm ---- */

typedef struct user_ctx {
    int gemm_calls;
    int n_threads;
} user_ctx;

static int user_destroyed;

static ce_status user_create(int n_threads, void **ctx)
{
    user_ctx *u = calloc(1, sizeof *u);
    if (!u)
        return CE_ERR_OUT_OF_MEMORY;
    u->n_threads = n_threads;
    *ctx = u;
    return CE_OK;
}

static void user_destroy(void *ctx)
{
    if (ctx)
        user_destroyed++;
    free(ctx);
}

static void user_gemm(void *ctx, ce_transpose ta, ce_transpose tb, size_t m, size_t n, size_t k,
                      float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                      float beta, float *c, size_t ldc, const float *bias)
{
    ((user_ctx *)ctx)->gemm_calls++;
    ce_backend_ref_ops()->gemm(NULL, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);
}

static ce_backend_ops user_table(const char *name)
{
    ce_backend_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = CE_BACKEND_ABI_VERSION;
    ops.struct_size = sizeof ops;
    ops.name = name;
    ops.priority = -1;
    ops.create = user_create;
    ops.destroy = user_destroy;
    ops.gemm = user_gemm;
    return ops;
}

static int has_backend(const char *name)
{
    for (size_t i = 0; i < ce_backend_count(); i++)
        if (strcmp(ce_backend_name(i), name) == 0)
            return 1;
    return 0;
}

/* ---- built-ins and opening ---- */

START_TEST(test_builtins)
{
    ck_assert_uint_eq(ce_backend_count(), 1 + CE_HAVE_BLIS + CE_HAVE_ONEDNN);
    ck_assert_str_eq(ce_backend_name(0), "ref");
    ck_assert(has_backend("blis") == CE_HAVE_BLIS);
    ck_assert(has_backend("onednn") == CE_HAVE_ONEDNN);
    ck_assert_ptr_null(ce_backend_name(ce_backend_count()));
    ck_assert_ptr_null(ce_backend_name((size_t)-1));
}
END_TEST

START_TEST(test_auto_picks_fastest)
{
    const char *names_ranked[1];
    ck_assert_uint_eq(ce_backend_ranked(names_ranked, 1), 1);
    const char *expected = names_ranked[0]; /* onednn or blis, by what the CPU has */
    ck_assert(strcmp(expected, "ref") != 0 || (!CE_HAVE_BLIS && !CE_HAVE_ONEDNN));
    const char *names[] = {NULL, "auto"};
    for (int i = 0; i < 2; i++) {
        ce_backend *b = NULL;
        ck_assert_int_eq(ce_backend_open(names[i], 2, NULL, &b), CE_OK);
        ck_assert_str_eq(b->ops.name, expected);
        ck_assert_int_eq(b->n_threads, 2);
        ce_backend_close(b);
    }
    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &b), CE_OK);
    ck_assert_str_eq(b->ops.name, "ref");
    ck_assert_ptr_eq(b->ops.gemm, ce_backend_ref_ops()->gemm);
    ce_backend_close(b);
    ce_backend_close(NULL);
}
END_TEST

START_TEST(test_open_errors)
{
    ce_backend *b = (ce_backend *)0x1;
    ck_assert_int_eq(ce_backend_open("nope", 1, NULL, &b), CE_ERR_NOT_FOUND);
    ck_assert_ptr_eq(b, (ce_backend *)0x1);
    const char *msg = ce_last_error();
    ck_assert_ptr_nonnull(strstr(msg, "\"nope\""));
    ck_assert_ptr_nonnull(strstr(msg, "ref"));
    if (CE_HAVE_BLIS)
        ck_assert_ptr_nonnull(strstr(msg, "blis"));
    ck_assert_int_eq(ce_backend_open("ref", 0, NULL, &b), CE_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(ce_backend_open("ref", -3, NULL, &b), CE_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_eq(b, (ce_backend *)0x1);
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, NULL), CE_ERR_INVALID_ARGUMENT);
    /* a successful open leaves the last message alone */
    ck_assert_int_eq(ce_backend_open("nope", 1, NULL, &b), CE_ERR_NOT_FOUND);
    char before[256];
    snprintf(before, sizeof before, "%s", ce_last_error());
    ck_assert_int_eq(ce_backend_open("ref", 1, NULL, &b), CE_OK);
    ck_assert_str_eq(ce_last_error(), before);
    ce_backend_close(b);
}
END_TEST

/* ---- user backends ---- */

START_TEST(test_user_backend_falls_back)
{
    size_t before = ce_backend_count();
    ce_backend_ops ops = user_table("user-gemm");
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ops.name = "clobbered"; /* the registry holds a copy */
    ck_assert_uint_eq(ce_backend_count(), before + 1);
    ck_assert(has_backend("user-gemm") && !has_backend("clobbered"));

    ce_backend *b = NULL;
    ck_assert_int_eq(ce_backend_open("user-gemm", 3, NULL, &b), CE_OK);
    const ce_backend_ops *ref = ce_backend_ref_ops();
    ck_assert_ptr_eq(b->ops.gemm, user_gemm);
    ck_assert_ptr_eq(b->ops.layer_norm, ref->layer_norm);
    ck_assert_ptr_eq(b->ops.softmax, ref->softmax);
    ck_assert_ptr_eq(b->ops.gelu_erf, ref->gelu_erf);
    ck_assert_ptr_eq(b->ops.gelu_tanh, ref->gelu_tanh);
    ck_assert_ptr_eq(b->ops.add, ref->add);
    ck_assert_ptr_eq(b->ops.scale, ref->scale);
    ck_assert_ptr_eq(b->ops.relu, ref->relu);
    ck_assert_ptr_eq(b->ops.sigmoid, ref->sigmoid);
    ck_assert_ptr_eq(b->ops.tanh, ref->tanh);
    ck_assert_ptr_eq(b->ops.lstm_cell, ref->lstm_cell);
    user_ctx *u = b->ctx;
    ck_assert_int_eq(u->n_threads, 3);

    /* its own gemm, with its own context */
    static const float a[] = {1, 2, 3, 4, 5, 6}, bm[] = {1, 0, -1, 2, 0.5f, 1};
    float c[4];
    b->ops.gemm(b->ctx, CE_NO_TRANS, CE_NO_TRANS, 2, 2, 3, 1.0f, a, 3, bm, 2, 0.0f, c, 2, NULL);
    ck_assert_int_eq(u->gemm_calls, 1);
    ck_assert(c[0] == 0.5f && c[1] == 7.0f && c[2] == 2.0f && c[3] == 16.0f);
    /* the reference's kernels, handed the user's context */
    float x[] = {1, 2, 3};
    b->ops.softmax(b->ctx, 1, 3, x, 3, 1.0f, 3, 0, 0);
    ck_assert_float_eq_tol(x[0] + x[1] + x[2], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(x[2], 0.66524096f, 1e-6f);
    float y[] = {-1.0f, 2.0f};
    b->ops.relu(b->ctx, 2, y);
    ck_assert(y[0] == 0.0f && y[1] == 2.0f);

    user_destroyed = 0;
    ce_backend_close(b);
    ck_assert_int_eq(user_destroyed, 1);
}
END_TEST

START_TEST(test_refusals)
{
    size_t before = ce_backend_count();
    ce_backend_ops ops = user_table("refused");

    ck_assert_int_eq(ce_backend_register(NULL), CE_ERR_INVALID_ARGUMENT);
    ops.abi_version = 999;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_BACKEND);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "999"));
    ops.abi_version = 0;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_BACKEND);
    ops.abi_version = CE_BACKEND_ABI_VERSION;

    ops.struct_size = (uint32_t)(CE_BACKEND_OPS_V1_SIZE - sizeof(void (*)(void)));
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_BACKEND);
    ops.struct_size = 8;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_BACKEND);
    ops.struct_size = sizeof ops;

    const char *bad_names[] = {NULL, "", "auto"};
    for (int i = 0; i < 3; i++) {
        ops.name = bad_names[i];
        ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_INVALID_ARGUMENT);
    }
    ops.name = "refused";
    ops.create = NULL;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_INVALID_ARGUMENT);
    ops.create = user_create;
    ops.destroy = NULL;
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_INVALID_ARGUMENT);
    ops.destroy = user_destroy;

    ops.name = "ref";
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "\"ref\""));
    ck_assert_uint_eq(ce_backend_count(), before);

    ops.name = "twice";
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_STATE);
    ck_assert_uint_eq(ce_backend_count(), before + 1);
}
END_TEST

/* A version-1 table exactly struct_size bytes long: nothing past it may be read. */
START_TEST(test_copies_struct_size_bytes)
{
    ce_backend_ops ops = user_table("exact-size");
    ops.abi_version = 1;
    ops.struct_size = (uint32_t)CE_BACKEND_OPS_V1_SIZE;
    void *exact = malloc(CE_BACKEND_OPS_V1_SIZE);
    ck_assert_ptr_nonnull(exact);
    memcpy(exact, &ops, CE_BACKEND_OPS_V1_SIZE);
    ck_assert_int_eq(ce_backend_register(exact), CE_OK);
    free(exact);
    ce_backend *b;
    ck_assert_int_eq(ce_backend_open("exact-size", 1, NULL, &b), CE_OK);
    ck_assert_ptr_eq(b->ops.gemm, user_gemm);
    ce_backend_close(b);
}
END_TEST

/* Slots a version-1 table cannot have: reaching one fails the test. */
#define NOT_V1() ck_abort_msg("a version-1 table's bytes past version 1 were used")

static ce_status tail_session_create(void *user_data, void *model_state, int n_threads, void **ctx)
{
    (void)user_data, (void)model_state, (void)n_threads, (void)ctx;
    NOT_V1();
    return CE_ERR_BACKEND;
}

static ce_status tail_prepare(void *model_state, const ce_linear_desc *desc, void **prepared)
{
    (void)model_state, (void)desc, (void)prepared;
    NOT_V1();
    return CE_ERR_BACKEND;
}

static void tail_release(void *model_state, void *prepared)
{
    (void)model_state, (void)prepared;
    NOT_V1();
}

static void tail_linear(void *ctx, const void *prepared, size_t rows, const float *x, size_t ldx,
                        float beta, float *y, size_t ldy)
{
    (void)ctx, (void)prepared, (void)rows, (void)x, (void)ldx, (void)beta, (void)y, (void)ldy;
    NOT_V1();
}

static void tail_attention(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                           const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                           size_t ldv, float scale, int causal, size_t q_offset, float *out,
                           size_t ldo)
{
    (void)ctx, (void)heads, (void)head_dim, (void)tq, (void)tk, (void)q, (void)ldq, (void)k;
    (void)ldk, (void)v, (void)ldv, (void)scale, (void)causal, (void)q_offset, (void)out, (void)ldo;
    NOT_V1();
}

/* A version-1 table whose struct_size covers more than version 1 (a host
 * that embedded it in a bigger struct): what follows is not version-2 slots. */
START_TEST(test_version1_ignores_tail)
{
    ce_backend_ops ops = user_table("v1-long");
    ops.abi_version = 1;
    ops.user_data = &ops;
    ops.session_create = tail_session_create;
    ops.attention = tail_attention;
    ops.linear_prepare = tail_prepare;
    ops.linear = tail_linear;
    ops.linear_release = tail_release;
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ce_backend *b;
    ck_assert_int_eq(ce_backend_open("v1-long", 1, NULL, &b), CE_OK);
    const ce_backend_ops *ref = ce_backend_ref_ops();
    ck_assert_ptr_eq(b->ops.gemm, user_gemm);
    ck_assert_ptr_null(b->ops.user_data);
    ck_assert_ptr_null(b->ops.session_create);
    ck_assert_ptr_null(b->ops.linear_prepare);
    ck_assert_ptr_eq(b->ops.attention, ref->attention);
    ck_assert_uint_eq(b->ops.struct_size, sizeof(ce_backend_ops));
    user_ctx *u = b->ctx; /* made by create, not by the garbage session_create */
    ck_assert_int_eq(u->n_threads, 1);
    ce_backend_close(b);
    ce_backend_model *bm;
    ck_assert_int_eq(ce_backend_model_open("v1-long", 2, &bm), CE_OK);
    ck_assert_ptr_null(bm->state);
    ck_assert(!bm->prepares);
    ce_backend_model_close(bm);
}
END_TEST

static ce_status failing_create(int n_threads, void **ctx)
{
    (void)n_threads;
    (void)ctx;
    return CE_ERR_OUT_OF_MEMORY;
}

static ce_status odd_create(int n_threads, void **ctx)
{
    (void)n_threads;
    (void)ctx;
    return (ce_status)77;
}

START_TEST(test_create_failure)
{
    ce_backend_ops ops = user_table("fails");
    ops.create = failing_create;
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ce_backend *b = (ce_backend *)0x1;
    ck_assert_int_eq(ce_backend_open("fails", 2, NULL, &b), CE_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_eq(b, (ce_backend *)0x1);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "\"fails\""));

    ops.name = "odd";
    ops.create = odd_create;
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ck_assert_int_eq(ce_backend_open("odd", 2, NULL, &b), CE_ERR_BACKEND);
    ck_assert_ptr_eq(b, (ce_backend *)0x1);
}
END_TEST

/* ---- concurrency, priority, capacity ---- */

#define N_THREADS 8
static char thread_names[N_THREADS][2][24];

static int register_two(void *arg)
{
    int t = *(int *)arg;
    int failures = 0;
    for (int i = 0; i < 2; i++) {
        snprintf(thread_names[t][i], sizeof thread_names[t][i], "thread-%d-%d", t, i);
        ce_backend_ops ops = user_table(thread_names[t][i]);
        failures += ce_backend_register(&ops) != CE_OK;
        failures += ce_backend_count() < 2 + CE_HAVE_BLIS;
        ce_backend *b = NULL;
        failures += ce_backend_open("ref", 1, NULL, &b) != CE_OK;
        ce_backend_close(b);
    }
    return failures;
}

START_TEST(test_concurrent_registration)
{
    size_t before = ce_backend_count();
    thrd_t threads[N_THREADS];
    int ids[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        ids[t] = t;
        ck_assert_int_eq(thrd_create(&threads[t], register_two, &ids[t]), thrd_success);
    }
    for (int t = 0; t < N_THREADS; t++) {
        int failures = -1;
        thrd_join(threads[t], &failures);
        ck_assert_int_eq(failures, 0);
    }
    ck_assert_uint_eq(ce_backend_count(), before + 2 * N_THREADS);
    ck_assert(has_backend("thread-0-0") && has_backend("thread-7-1"));
}
END_TEST

START_TEST(test_priority_wins_auto)
{
    ce_backend_ops ops = user_table("eager");
    ops.priority = 1000;
    ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    ce_backend *b;
    ck_assert_int_eq(ce_backend_open("auto", 1, NULL, &b), CE_OK);
    ck_assert_str_eq(b->ops.name, "eager");
    ce_backend_close(b);
}
END_TEST

START_TEST(test_registry_full)
{
    static char names[CE_BACKEND_REGISTRY_CAPACITY][32];
    size_t free_slots = CE_BACKEND_REGISTRY_CAPACITY - ce_backend_count();
    for (size_t i = 0; i < free_slots; i++) {
        snprintf(names[i], sizeof names[i], "fill-%zu", i);
        ce_backend_ops ops = user_table(names[i]);
        ck_assert_int_eq(ce_backend_register(&ops), CE_OK);
    }
    ce_backend_ops ops = user_table("one-too-many");
    ck_assert_int_eq(ce_backend_register(&ops), CE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ce_last_error(), "full"));
    ck_assert_uint_eq(ce_backend_count(), CE_BACKEND_REGISTRY_CAPACITY);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("backend-registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_builtins);
    tcase_add_test(tc, test_auto_picks_fastest);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_user_backend_falls_back);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_copies_struct_size_bytes);
    tcase_add_test(tc, test_version1_ignores_tail);
    tcase_add_test(tc, test_create_failure);
    tcase_add_test(tc, test_concurrent_registration);
    tcase_add_test(tc, test_priority_wins_auto);
    tcase_add_test(tc, test_registry_full);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return ce_test_run(suite());
}
