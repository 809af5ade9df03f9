/* Whether a bf16 product runs faster as float32 multiply-adds than on
 * VDPBF16PS, measured once per process.
 *
 * CPUID says that a CPU has AVX512-BF16, not how fast. On AMD Zen 4 one
 * VDPBF16PS does twice the multiply-adds of an FMA in the same time; on
 * Intel's cores (Sapphire and Emerald Rapids with AMX hidden, as in many
 * VMs) it issues at one every two cycles against two FMAs a cycle, a
 * quarter of the rate (2-core Xeon VM: 86 against 176 GFLOP/s per core).
 * The two rates are a factor of four or more apart, so a few microseconds of
 * each decide reliably. The products are the same either way: a product of
 * two bf16 values is exact in float32, and both sum in float32. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cpu_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target)
#include <immintrin.h>
#define HAVE_RATE_CODE 1

#define ROUNDS    256 /* of 12 independent chains: enough to hide their latency */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define ZERO(i) __m512 c##i = _mm512_set1_ps((float)(i)); /* distinct: no chain merged */
#define DOT(i)  c##i = _mm512_dpbf16_ps(c##i, a, b);
#define FMA(i)  c##i = _mm512_fmadd_ps(a, b, c##i);
#define SINK(i) __asm__ volatile("" : : "v"(c##i));

/* Seconds for ROUNDS x 12 of OP on operands a and b of type T set to V. */
#define TIMER(name, isa, T, V, OP)                                                                 \
    __attribute__((target(isa), noinline)) static double name(void)                                \
    {                                                                                              \
        T a = (T)(V), b = a;                                                                       \
        CHAINS(ZERO)                                                                               \
        double t0 = seconds();                                                                     \
        for (int r = 0; r < ROUNDS; r++) {                                                         \
            CHAINS(OP)                                                                             \
            __asm__ volatile("" : "+v"(a), "+v"(b));                                               \
        }                                                                                          \
        double t = seconds() - t0;                                                                 \
        CHAINS(SINK)                                                                               \
        return t;                                                                                  \
    }

/* VDPBF16PS: 32 multiply-adds each; FMA: 16 */
TIMER(time_dot, "avx512f,avx512bw,avx512bf16", __m512bh, _mm512_set1_epi16(0x3f80), DOT)
TIMER(time_fma, "avx512f", __m512, _mm512_set1_ps(1.0f), FMA)

/* The fastest of several tries of each, interleaved: a preempted try only
 * loses. The first pair also wakes the AVX-512 units. */
static int measure_fma_faster(void)
{
    double dot = 1e9, fma = 1e9;
    for (int i = 0; i < 8; i++) {
        double d = time_dot(), f = time_fma();
        dot = d < dot ? d : dot;
        fma = f < fma ? f : fma;
    }
    /* multiply-adds per second: dot does twice an FMA's per instruction */
    return 2.0 / dot < 1.0 / fma;
}
#endif
#endif

int ce_cpu_bf16_fma_faster(void)
{
    const char *force = getenv("CE_BF16_FMA");
    if (force && (!strcmp(force, "0") || !strcmp(force, "1")))
        return force[0] == '1';
#ifdef HAVE_RATE_CODE
    uint32_t need = CE_CPU_AVX512 | CE_CPU_AVX512_BF16;
    if ((ce_cpu_features() & need) != need)
        return 0;
    /* 0 not measured, 1 VDPBF16PS faster, 2 FMA faster */
    static _Atomic int known;
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) { /* two threads may both measure: they agree */
        k = measure_fma_faster() ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
#else
    return 0;
#endif
}
