/* The "blis" backend's table: preferred over "ref" by "auto". */
#include "backends/blis/blis_backend.h"
#include "backends/cpu/cpu_packed.h"

static ce_backend_ops blis_ops = {
    .abi_version = CE_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ce_backend_ops),
    .name = "blis",
    .priority = 100,
    .create = ce_blis_create,
    .destroy = ce_blis_destroy,
    .gemm = ce_blis_gemm,
    CE_CPU_KERNEL_SLOTS,
};

/* Called once, by the registry's one-time setup. */
const ce_backend_ops *ce_backend_blis_ops(void)
{
    /* BLIS repacks a weight on every call; where the library's own packed
     * kernel runs, f32 weights are packed once per model instead (elsewhere
     * f32 products run BLIS on the raw weights). int8 weights are always
     * prepared: AVX2+FMA kernels, or plain C. */
    blis_ops.linear_prepare = ce_cpu_linear_prepare;
    blis_ops.linear_release = ce_cpu_linear_release;
    blis_ops.linear = ce_cpu_linear;
    blis_ops.precisions = ce_cpu_linear_precisions();
    return &blis_ops;
}
