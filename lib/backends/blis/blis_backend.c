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
    CE_CPU_KERNEL_SLOTS,
};

const ce_backend_ops *ce_backend_blis_ops(void)
{
    return &blis_ops;
}
