/* Splitting a kernel over the session's threads with OpenMP: the same libgomp
 * pool BLIS uses, so one pool owns the cores. */
#include "backends/cpu/cpu_parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/cpu_kernels.h"

#ifdef _OPENMP
static void run_block(size_t n, size_t align, ce_par_fn fn, const void *args)
{
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    size_t per = (n + nt - 1) / nt;
    per = (per + align - 1) / align * align;
    size_t begin = t * per < n ? t * per : n;
    size_t end = begin + per < n ? begin + per : n;
    if (begin < end)
        fn(args, begin, end);
}
#endif

void ce_cpu_parallel_for(const void *ctx, size_t n, size_t grain, size_t align, ce_par_fn fn,
                          const void *args)
{
#ifdef _OPENMP
    size_t nt = (size_t)ce_cpu_threads(ctx);
    size_t by_size = grain ? n / grain : n;
    if (nt > by_size)
        nt = by_size;
    if (nt > 1) {
#pragma omp parallel num_threads((int)nt)
        run_block(n, align ? align : 1, fn, args);
        return;
    }
#else
    (void)ctx;
    (void)grain;
    (void)align;
#endif
    if (n)
        fn(args, 0, n);
}
