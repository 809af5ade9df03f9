/* The "ref" backend's table: every slot filled, no state. */
#include "backends/backend_internal.h"
#include "backends/ref/ref.h"

static ce_status ref_create(int n_threads, void **ctx)
{
    (void)n_threads; /* single-threaded by design */
    *ctx = NULL;
    return CE_OK;
}

static void ref_destroy(void *ctx)
{
    (void)ctx;
}

static const ce_backend_ops ref_ops = {
    .abi_version = CE_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ce_backend_ops),
    .name = "ref",
    .priority = 0,
    .create = ref_create,
    .destroy = ref_destroy,
    .gemm = ce_ref_gemm,
    .layer_norm = ce_ref_layer_norm,
    .softmax = ce_ref_softmax,
    .gelu_erf = ce_ref_gelu_erf,
    .gelu_tanh = ce_ref_gelu_tanh,
    .add = ce_ref_add,
    .scale = ce_ref_scale,
    .relu = ce_ref_relu,
    .sigmoid = ce_ref_sigmoid,
    .tanh = ce_ref_tanh,
    .lstm_cell = ce_ref_lstm_cell,
    .attention = ce_ref_attention,
    .max_rows = ce_ref_max_rows,
    .gate_mix = ce_ref_gate_mix,
    .clip = ce_ref_clip,
    /* int8 and bf16 weights are prepared (converted once); f32 ones run gemm on the raw
     * weights. bf16 here is the reference, which runs on any CPU when named. */
    .linear_prepare = ce_ref_linear_prepare,
    .linear_release = ce_ref_linear_release,
    .linear = ce_ref_linear,
    .precisions = CE_PRECISION_BIT(CE_PRECISION_INT8) | CE_PRECISION_BIT(CE_PRECISION_BF16),
};

const ce_backend_ops *ce_backend_ref_ops(void)
{
    return &ref_ops;
}
