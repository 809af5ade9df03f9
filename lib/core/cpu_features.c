/* What the CPU offers (cpuid), checked against the register state the OS
 * saves (XGETBV), read once; and the names of the precisions.
 *
 * A feature counts only when the OS enables its registers: AVX needs XCR0's
 * SSE and AVX bits, AVX-512 the opmask and upper-ZMM bits too, AMX the tile
 * configuration and data bits (Linux 5.16+ sets them; a process still asks
 * for the tile data once with arch_prctl before it uses AMX). */
#include <stdatomic.h>
#include <stddef.h>

#include "contextembed/common.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    uint64_t xcr0 = xgetbv0();
    int os_avx = (xcr0 & 0x6) == 0x6;                 /* SSE, AVX state */
    int os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  /* opmask, ZMM_Hi256, Hi16_ZMM */
    int os_amx = (xcr0 & 0x60000) == 0x60000;         /* XTILECFG, XTILEDATA */
    if (!os_avx || __get_cpuid_max(0, NULL) < 7)
        return 0;
    unsigned b7, c7, d7, a71 = 0, unused;
    __cpuid_count(7, 0, a, b7, c7, d7);
    unsigned max_sub = a;
    if (max_sub >= 1)
        __cpuid_count(7, 1, a71, unused, unused, unused);
    uint32_t f = 0;
    if (((b7 >> 5) & 1) && fma)
        f |= CE_CPU_AVX2;
    /* F (16), DQ (17), BW (30), VL (31) */
    int avx512 = os_avx512 && ((b7 >> 16) & 1) && ((b7 >> 17) & 1) && ((b7 >> 30) & 1) &&
                 ((b7 >> 31) & 1);
    if (avx512)
        f |= CE_CPU_AVX512;
    if (avx512 && ((a71 >> 5) & 1))
        f |= CE_CPU_AVX512_BF16;
    if ((avx512 && ((c7 >> 11) & 1)) || ((a71 >> 4) & 1)) /* AVX512-VNNI or AVX-VNNI */
        f |= CE_CPU_VNNI;
    int tile = os_amx && ((d7 >> 24) & 1);
    if (tile && ((d7 >> 22) & 1))
        f |= CE_CPU_AMX_BF16;
    if (tile && ((d7 >> 25) & 1))
        f |= CE_CPU_AMX_INT8;
    return f;
}
#else
static uint32_t detect(void)
{
    return 0;
}
#endif

uint32_t ce_cpu_features(void)
{
    /* bit 31 marks "read"; no feature uses it */
    static _Atomic uint32_t cached;
    uint32_t f = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!(f & 0x80000000u)) {
        f = detect() | 0x80000000u;
        atomic_store_explicit(&cached, f, memory_order_relaxed);
    }
    return f & 0x7fffffffu;
}

const char *ce_precision_name(ce_precision precision)
{
    switch (precision) {
    case CE_PRECISION_F32: return "f32";
    case CE_PRECISION_BF16: return "bf16";
    case CE_PRECISION_INT8: return "int8";
    }
    return NULL;
}
