/* Splitting a kernel over the session's threads with OpenMP: the same libgomp
 * pool BLIS uses, so one pool owns the cores. */
#include "backends/cpu/cpu_parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/cpu_kernels.h"

/* ThreadSanitizer cannot see libgomp's fork and join (an uninstrumented
 * library synchronising through futexes), so it would take every result a
 * worker writes and the caller reads as a race. The edges OpenMP guarantees
 * are declared to it instead: the caller's work before a region happens
 * before each block, each block before the caller's work after the region.
 * Nothing orders the blocks of one region, so overlapping blocks are still
 * reported. The region itself (fork_join) is not instrumented: a worker reads
 * the variables the caller shares with it before it can declare the edge. */
#if defined(_OPENMP) && defined(CE_TSAN)
#include <sanitizer/tsan_interface.h>
#define FORK_JOIN(fn, token) fn(token)
#define NOT_INSTRUMENTED __attribute__((no_sanitize("thread"), noinline))
#else
#define FORK_JOIN(fn, token) ((void)(token))
#define NOT_INSTRUMENTED
#endif

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

NOT_INSTRUMENTED static void fork_join(size_t nt, size_t n, size_t align, ce_par_fn fn,
                                       const void *args)
{
    char fork_token, join_token;
    FORK_JOIN(__tsan_release, &fork_token);
#pragma omp parallel num_threads((int)nt)
    {
        FORK_JOIN(__tsan_acquire, &fork_token);
        run_block(n, align, fn, args);
        FORK_JOIN(__tsan_release, &join_token);
    }
    FORK_JOIN(__tsan_acquire, &join_token);
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
        fork_join(nt, n, align ? align : 1, fn, args);
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

void ce_cpu_pool_release(void)
{
#ifdef _OPENMP
    /* libgomp: joins the calling thread's pool (none from inside a parallel
     * region, where it returns nonzero); its next parallel region starts
     * threads again. Its settings (omp_set_num_threads) are kept. */
    (void)omp_pause_resource_all(omp_pause_soft);
#endif
}

int ce_cpu_thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
