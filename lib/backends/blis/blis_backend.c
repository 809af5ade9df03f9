/* The "blis" backend's table: preferred over "ref" by "auto". */
#include "backends/blis/blis_backend.h"

static const ce_backend_ops blis_ops = {
    .abi_version = CE_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ce_backend_ops),
    .name = "blis",
    .priority = 100,
    .create = ce_blis_create,
    .destroy = ce_blis_destroy,
    .gemm = ce_blis_gemm,
    .layer_norm = ce_blis_layer_norm,
    .softmax = ce_blis_softmax,
    .gelu_erf = ce_blis_gelu_erf,
    .gelu_tanh = ce_blis_gelu_tanh,
    .add = ce_blis_add,
    .scale = ce_blis_scale,
    .relu = ce_blis_relu,
    .sigmoid = ce_blis_sigmoid,
    .tanh = ce_blis_tanh,
    .lstm_cell = ce_blis_lstm_cell,
};

const ce_backend_ops *ce_backend_blis_ops(void)
{
    return &blis_ops;
}
