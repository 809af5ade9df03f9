/* The BLIS side of the blis backend: the per-session context (an rntm_t that
 * carries the thread count into every call, never the environment) and GEMM
 * through BLIS's typed API, with GEMV for single-row products (decoding).
 *
 * BLIS has two GEMM paths: "sup" (small/unpacked) and the packed one. On the
 * 2-core dev machine (1 thread, B transposed, best of 15) sup won clearly for
 * few rows (m = 8, n = 768, k = 768: 59 vs 34 GFLOP/s) and narrow outputs
 * (P V in attention), but lost badly on BERT's projections (m = 128,
 * k = 3072: 28 vs 69) and on large Q K^T (512 x 512 x 64: 23 vs 55).
 * prefer_sup() encodes that.
 *
 * BLIS aborts on strides it finds inconsistent; such calls (never made by the
 * architectures) go to the reference kernel instead. */
#include <blis.h>
#include <stdint.h>
#include <stdlib.h>

#include "backends/blis/blis_backend.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"
#include "core/error.h"

typedef struct ce_blis_ctx {
    ce_cpu_ctx cpu;     /* first: the shared kernels read the thread count there */
    rntm_t rntm_sup;    /* thread count, sup path allowed */
    rntm_t rntm_packed; /* thread count, packed path only */
    rntm_t rntm_single; /* one thread, for products too small to split */
} ce_blis_ctx;

/* Below this many multiply-adds (about 20 us on one core) waking a second
 * thread costs more than it saves; on a loaded machine far more. */
#define CE_BLIS_PARALLEL_MIN_MACS (1u << 20)

ce_status ce_blis_create(int n_threads, void **ctx)
{
    ce_blis_ctx *b = calloc(1, sizeof *b);
    if (!b)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "blis backend: out of memory");
    bli_init(); /* its one-time setup here rather than in the first GEMM */
    bli_rntm_init(&b->rntm_sup);
    bli_rntm_set_num_threads(n_threads, &b->rntm_sup);
    b->rntm_packed = b->rntm_sup;
    bli_rntm_disable_l3_sup(&b->rntm_packed);
    bli_rntm_init(&b->rntm_single);
    bli_rntm_set_num_threads(1, &b->rntm_single);
    b->cpu.n_threads = b->cpu.max_threads = n_threads;
    *ctx = b;
    return CE_OK;
}

void ce_blis_destroy(void *ctx)
{
    if (ctx)
        ce_cpu_ctx_release(ctx);
    free(ctx);
}

/* Row stride BLIS accepts for a stored rows x cols matrix, or 0 if none. A
 * single row may come with any ld: it is never used, so pass one BLIS likes. */
static inc_t row_stride(size_t rows, size_t cols, size_t ld)
{
    if (rows <= 1)
        return cols ? (inc_t)cols : 1;
    if (ld < cols || ld > (size_t)INT64_MAX / 2)
        return 0;
    return (inc_t)ld;
}

static void add_bias_rows(size_t m, size_t n, const float *restrict bias, float *restrict c,
                          size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] += bias[j];
}

/* C = beta C (+ bias) with nothing to multiply (k == 0): C unread when beta == 0. */
static void scale_rows(size_t m, size_t n, float beta, const float *bias, float *c, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float old = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
            c[i * ldc + j] = old + (bias ? bias[j] : 0.0f);
        }
}

static int prefer_sup(size_t m, size_t n, size_t k)
{
    return m <= 8 || (m <= 32 && k <= 1024) || n <= 64;
}

/* The rntm_t for a product of m x n x k on the threads the context uses now. */
static rntm_t pick_rntm(const ce_blis_ctx *bc, size_t m, size_t n, size_t k)
{
    if ((double)m * (double)n * (double)k < CE_BLIS_PARALLEL_MIN_MACS || bc->cpu.n_threads == 1)
        return bc->rntm_single;
    rntm_t r = prefer_sup(m, n, k) ? bc->rntm_sup : bc->rntm_packed;
    bli_rntm_set_num_threads(bc->cpu.n_threads, &r);
    if (prefer_sup(m, n, k) == 0)
        bli_rntm_disable_l3_sup(&r);
    return r;
}

static trans_t blis_trans(ce_transpose t)
{
    return t == CE_TRANS ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
}

/* A single-row product c[1,n] = alpha a[1,k] op(B) + beta c is a GEMV,
 * y = op'(B) x. BLIS runs GEMV on one thread; memory-bound as it is, splitting
 * the n outputs over the session's threads still pays when B is large. */
typedef struct gemv_args {
    const ce_blis_ctx *ctx;
    ce_transpose trans_b;
    size_t k;
    inc_t incx, rs_b;
    float alpha, beta;
    const float *x, *b;
    float *y;
} gemv_args;

static void gemv_block(const void *args, size_t begin, size_t end)
{
    const gemv_args *g = args;
    rntm_t rntm = g->ctx->rntm_sup; /* a private copy: BLIS may write to it */
    float alpha = g->alpha, beta = g->beta;
    dim_t cols = (dim_t)(end - begin), k = (dim_t)g->k;
    if (g->trans_b == CE_TRANS) /* B is n x k: y = B x over B's rows [begin, end) */
        bli_sgemv_ex(BLIS_NO_TRANSPOSE, BLIS_NO_CONJUGATE, cols, k, &alpha,
                     (float *)g->b + begin * (size_t)g->rs_b, g->rs_b, 1, (float *)g->x, g->incx,
                     &beta, g->y + begin, 1, NULL, &rntm);
    else /* B is k x n: y = B^T x over B's columns [begin, end) */
        bli_sgemv_ex(BLIS_TRANSPOSE, BLIS_NO_CONJUGATE, k, cols, &alpha, (float *)g->b + begin,
                     g->rs_b, 1, (float *)g->x, g->incx, &beta, g->y + begin, 1, NULL, &rntm);
}

static void gemv_row(ce_transpose trans_a, ce_transpose trans_b, size_t n, size_t k, float alpha,
                     const float *a, size_t lda, const float *b, inc_t rs_b, float beta, float *c,
                     const ce_blis_ctx *ctx)
{
    gemv_args args = {ctx, trans_b, k, (trans_a == CE_TRANS && k > 1) ? (inc_t)lda : 1, rs_b,
                      alpha, beta, a, b, c};
    /* at least 128 K multiply-adds per thread */
    size_t grain = k >= 131072 / 16 ? 16 : 131072 / k;
    ce_cpu_parallel_for(ctx, n, grain, 16, gemv_block, &args);
}

void ce_blis_gemm(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
                  size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                  float beta, float *c, size_t ldc, const float *bias)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        scale_rows(m, n, beta, bias, c, ldc);
        return;
    }
    inc_t rs_a = trans_a == CE_TRANS ? row_stride(k, m, lda) : row_stride(m, k, lda);
    inc_t rs_b = trans_b == CE_TRANS ? row_stride(n, k, ldb) : row_stride(k, n, ldb);
    inc_t rs_c = row_stride(m, n, ldc);
    if (!rs_a || !rs_b || !rs_c) {
        ce_ref_gemm(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias);
        return;
    }
    /* With beta == 0, start C from the bias rows and accumulate onto them. */
    float beta_eff = beta;
    if (bias && beta == 0.0f) {
        scale_rows(m, n, 0.0f, bias, c, ldc);
        beta_eff = 1.0f;
    }
    ce_blis_ctx *bc = ctx;
    rntm_t rntm = pick_rntm(bc, m, n, k);
    if (m == 1)
        gemv_row(trans_a, trans_b, n, k, alpha, a, lda, b, rs_b, beta_eff, c, bc);
    else /* rntm is a private copy: BLIS may write to it */
        bli_sgemm_ex(blis_trans(trans_a), blis_trans(trans_b), (dim_t)m, (dim_t)n, (dim_t)k,
                     &alpha, (float *)a, rs_a, 1, (float *)b, rs_b, 1, &beta_eff, c, rs_c, 1,
                     NULL, &rntm);
    if (bias && beta != 0.0f)
        add_bias_rows(m, n, bias, c, ldc);
}
