/* The "onednn" backend's table, its model and session state, and GEMM on raw
 * weights (used only by sessions of models opened with another backend). */
#include "backends/onednn/onednn_backend.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/backend_internal.h"
#include "backends/onednn/onednn_amx_attention.h"
#include "core/error.h"

int ce_dnnl_threads_enter(int threads)
{
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    if (saved != threads)
        omp_set_num_threads(threads);
    return saved;
#else
    (void)threads;
    return 1;
#endif
}

void ce_dnnl_threads_leave(int saved)
{
#ifdef _OPENMP
    if (omp_get_max_threads() != saved)
        omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}

ce_status ce_dnnl_model_create(void *user_data, int n_threads, void **model_state)
{
    (void)user_data;
    ce_dnnl_model *m = calloc(1, sizeof *m);
    if (!m)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    if (dnnl_engine_create(&m->engine, dnnl_cpu, 0) != dnnl_success) {
        free(m);
        return ce_error(CE_ERR_BACKEND, "cannot create a oneDNN CPU engine");
    }
    m->n_threads = n_threads;
    *model_state = m;
    return CE_OK;
}

void ce_dnnl_model_set_precision(void *model_state, ce_precision precision)
{
    ((ce_dnnl_model *)model_state)->precision = precision;
}

void ce_dnnl_model_destroy(void *model_state)
{
    ce_dnnl_model *m = model_state;
    if (!m)
        return;
    dnnl_engine_destroy(m->engine);
    free(m);
}

ce_status ce_dnnl_session_create(void *user_data, void *model_state, int n_threads, void **ctx)
{
    (void)user_data;
    ce_dnnl_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return ce_error(CE_ERR_OUT_OF_MEMORY, "out of memory");
    c->cpu.n_threads = c->cpu.max_threads = n_threads;
    const ce_dnnl_model *m = model_state;
    if (m) {
        c->engine = m->engine;
        /* measured with AMX only: where bf16 products are merely twice
         * float32's (AVX512-BF16), the float32 kernel may well be faster */
        c->bf16 = m->precision == CE_PRECISION_BF16 && (ce_cpu_features() & CE_CPU_AMX_BF16);
        c->amx = c->bf16 && ce_dnnl_amx_attention_usable() && !getenv("CE_NO_AMX");
    } else if (dnnl_engine_create(&c->engine, dnnl_cpu, 0) == dnnl_success) {
        c->owns_engine = 1;
    } else {
        free(c);
        return ce_error(CE_ERR_BACKEND, "cannot create a oneDNN CPU engine");
    }
    if (dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags) != dnnl_success) {
        ce_dnnl_destroy(c);
        return ce_error(CE_ERR_BACKEND, "cannot create a oneDNN stream");
    }
    *ctx = c;
    return CE_OK;
}

void ce_dnnl_destroy(void *ctx)
{
    ce_dnnl_ctx *c = ctx;
    if (!c)
        return;
    ce_dnnl_cache_clear(c);
    for (size_t i = 0; i < CE_DNNL_ATTN_CACHE; i++)
        ce_dnnl_attn_prim_free(&c->attn[i]);
    free(c->attn_buf);
    ce_cpu_ctx_release(c);
    free(c->prims);
    free(c->scratch);
    if (c->stream)
        dnnl_stream_destroy(c->stream);
    if (c->owns_engine)
        dnnl_engine_destroy(c->engine);
    free(c);
}

/* oneDNN's sgemm is row-major like ours; the bias is added after. */
static void onednn_gemm(void *ctx, ce_transpose trans_a, ce_transpose trans_b, size_t m, size_t n,
                        size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                      float beta, float *c, size_t ldc, const float *bias)
{
    if (m == 0 || n == 0)
        return;
    int saved = ce_dnnl_threads_enter(ce_cpu_threads(ctx));
    dnnl_status_t st = dnnl_success;
    if (k > 0)
        st = dnnl_sgemm(trans_a == CE_TRANS ? 'T' : 'N', trans_b == CE_TRANS ? 'T' : 'N',
                        (dnnl_dim_t)m, (dnnl_dim_t)n, (dnnl_dim_t)k, alpha, a, (dnnl_dim_t)lda, b,
                        (dnnl_dim_t)ldb, beta, c, (dnnl_dim_t)ldc);
    ce_dnnl_threads_leave(saved);
    if (k == 0 || st != dnnl_success) { /* k == 0, or strides oneDNN refuses */
        ce_backend_ref_ops()->gemm(NULL, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                                   c, ldc, bias);
        return;
    }
    for (size_t i = 0; bias && i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] += bias[j];
}

static ce_backend_ops onednn_ops = {
    .abi_version = CE_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ce_backend_ops),
    .name = "onednn",
    .priority = 200,
    .destroy = ce_dnnl_destroy,
    .gemm = onednn_gemm,
    CE_CPU_KERNEL_SLOTS,
    .model_create = ce_dnnl_model_create,
    .model_destroy = ce_dnnl_model_destroy,
    .session_create = ce_dnnl_session_create,
    .linear_prepare = ce_dnnl_linear_prepare,
    .linear_release = ce_dnnl_linear_release,
    .linear = ce_dnnl_linear,
};

/* Called once, by the registry's one-time setup. Without AVX-512, oneDNN's
 * f32 matmul is a GEMM that repacks the weight on every call (no faster than
 * BLIS), while "blis" runs the library's own packed kernel: measured on
 * BERT-base b1x128 at 2 threads on an AVX2 EPYC, 190 ms against 275. There
 * "auto" should not pick oneDNN first. */
const ce_backend_ops *ce_backend_onednn_ops(void)
{
    /* ISA values are sets of bits: avx2_vnni is above avx512_core numerically */
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core) != dnnl_cpu_isa_avx512_core)
        onednn_ops.priority = 50;
    /* bf16 where oneDNN multiplies in it (AVX512-BF16, AMX), not emulated */
    onednn_ops.precisions = CE_PRECISION_BIT(CE_PRECISION_F32);
    onednn_ops.attention = ce_dnnl_attention; /* bf16 products for bf16 models */
    if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16)
        onednn_ops.precisions |= CE_PRECISION_BIT(CE_PRECISION_BF16);
    return &onednn_ops;
}

const ce_backend_ext *ce_backend_onednn_ext(void)
{
    static const ce_backend_ext ext = {.linear_same_x = ce_dnnl_linear_same_x};
    return &ext;
}
