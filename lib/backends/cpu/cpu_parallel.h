/* Internal: how the CPU backends' vector kernels are compiled and split.
 *
 * CE_VEC_CLONES compiles a function for AVX2 too, picked at load time (ifunc)
 * on x86-64; elsewhere it is empty and the baseline build is used. Not under
 * ThreadSanitizer either: the compiler instruments the ifunc resolvers it
 * generates (__tsan_func_entry), and the dynamic loader runs them while it
 * relocates the program, before the TSan runtime is set up, which crashes
 * every program before main. */
#ifndef CE_BACKENDS_CPU_CPU_PARALLEL_H
#define CE_BACKENDS_CPU_CPU_PARALLEL_H

#include <stddef.h>

#if defined(__SANITIZE_THREAD__)
#define CE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CE_TSAN 1
#endif
#endif

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && defined(__has_attribute) && \
    !defined(CE_TSAN)
#if __has_attribute(target_clones)
#define CE_VEC_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef CE_VEC_CLONES
#define CE_VEC_CLONES
#endif

/* Work on items [begin, end) of a kernel call described by @p args. */
typedef void (*ce_par_fn)(const void *args, size_t begin, size_t end);

/* Run fn over [0, n) in contiguous blocks on up to the context's thread count,
 * using one thread per @p grain items at least (a parallel region costs a few
 * microseconds). Blocks start at multiples of @p align items. Without OpenMP,
 * runs fn(args, 0, n) on the calling thread. */
void ce_cpu_parallel_for(const void *ctx, size_t n, size_t grain, size_t align, ce_par_fn fn,
                          const void *args);

/* The calling thread's index within the running parallel region (0 outside
 * one, and without OpenMP): which per-thread scratch a kernel block takes. */
int ce_cpu_thread_index(void);

/* End the worker threads the calling thread's parallel regions started:
 * those of the kernels above and of BLIS and oneDNN, which run in the same
 * OpenMP pool. Called when the last backend object is closed (registry.c), so
 * that no compute thread outlives the last session and model. Pools are per
 * calling thread: another host thread's pool ends when that thread exits. */
void ce_cpu_pool_release(void);

#endif
