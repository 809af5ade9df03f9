/* One row times a weight in oneDNN's blocked layout (decoding): the
 * library's own AVX-512 loop instead of a oneDNN matmul of one row.
 *
 * For BERT- and GPT-2-sized float32 weights oneDNN picks the layout
 * BA16a64b: for each block of 64 outputs, every input's 64 weights in a row
 * (blocks of 16 inputs follow each other), so a block is one contiguous
 * stream. bf16 weights get BA16a64b2a: the same with inputs in pairs, each
 * output's pair in 32 bits, which is what VDPBF16PS multiplies. A single row
 * is bound by reading that stream. A thread reads four blocks side by side
 * (four streams), each with prefetches a few rows ahead: on a Xeon (2
 * threads) one stream per core read 25-27 GB/s where two to four read 30-32,
 * and GPT-2 small's decoding step went from 19.1 to 16.6 ms at float32 and
 * from 10.6 to 8.0 at bf16. (The first version, one block at a time, had
 * measured 41-51 GB/s on an AVX-512 EPYC against oneDNN's 41-46.) Other layouts
 * and CPUs without the instructions keep oneDNN's matmul. */
#include "backends/onednn/onednn_gemv.h"

#include <stdint.h>
#include <string.h>

#include "backends/cpu/cpu_parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GEMV_X86 1
#include "backends/cpu/vec_math_avx512.h"
#else
#define GEMV_X86 0
#endif

#define BLOCK_IN 16
#define BLOCK_OUT 64
#define PREFETCH 2048 /* bytes ahead: eight rows of a block */
#define GROUP 4        /* blocks a thread reads side by side */

int ce_dnnl_gemv_fits(const dnnl_memory_desc_t *md)
{
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int bf16 = md->data_type == dnnl_bf16, pair = bf16 ? 2 : 1;
    unsigned need = CE_CPU_AVX512 | (bf16 ? CE_CPU_AVX512_BF16 : 0u);
    return GEMV_X86 && (ce_cpu_features() & need) == need && md->ndims == 2 &&
           (bf16 || md->data_type == dnnl_f32) && md->format_kind == dnnl_blocked &&
           md->offset0 == 0 && b->inner_nblks == (bf16 ? 3 : 2) &&
           b->inner_blks[0] == BLOCK_IN && b->inner_idxs[0] == 0 &&
           b->inner_blks[1] == BLOCK_OUT && b->inner_idxs[1] == 1 &&
           (!bf16 || (b->inner_blks[2] == 2 && b->inner_idxs[2] == 0)) &&
           b->strides[0] == BLOCK_IN * pair * BLOCK_OUT &&
           b->strides[1] == md->padded_dims[0] * BLOCK_OUT && md->padded_dims[0] >= md->dims[0] &&
           md->padded_dims[1] >= md->dims[1];
}

typedef struct gemv_args {
    const void *w, *x;
    const float *bias;
    size_t in, in_padded, out;
    float *y;
    int accumulate;
} gemv_args;

#if GEMV_X86

/* A block's 64 sums into y: bias, y itself when accumulating, only the
 * block's valid outputs. */
__attribute__((target("avx512f"))) static inline void store_block(const gemv_args *a, size_t blk,
                                                                  const __m512 *s)
{
    size_t col = blk * BLOCK_OUT, nc = a->out - col < BLOCK_OUT ? a->out - col : BLOCK_OUT;
    for (size_t v = 0; v < 4 && 16 * v < nc; v++) {
        size_t n = nc - 16 * v < 16 ? nc - 16 * v : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1u);
        __m512 b = a->bias ? _mm512_maskz_loadu_ps(m, a->bias + col + 16 * v) : _mm512_setzero_ps();
        ce_vm16_store_sums(a->y + col + 16 * v, m, s[v], b, a->accumulate, CE_BACKEND_ACT_NONE);
    }
}

/* Four lines (one row of a block: 64 floats, or 64 pairs of bf16) PREFETCH
 * bytes ahead of r. */
#define PREFETCH_AHEAD(r)                                                                       \
    for (int l = 0; l < 4; l++)                                                                 \
    _mm_prefetch((const char *)(r) + PREFETCH + 64 * l, _MM_HINT_T0)

#define GEMV_INLINE static inline __attribute__((always_inline))

/* Blocks [b0, b0 + g) side by side (g <= GROUP, a constant where this is
 * inlined): a row of each per input, so that the thread reads g streams at
 * once. */
GEMV_INLINE __attribute__((target("avx512f"))) void f32_group(const gemv_args *a, size_t b0,
                                                               int g)
{
    const float *x = a->x, *wb[GROUP];
    __m512 s[GROUP][4];
    for (int b = 0; b < g; b++) {
        wb[b] = (const float *)a->w + (b0 + (size_t)b) * a->in_padded * BLOCK_OUT;
        for (int v = 0; v < 4; v++)
            s[b][v] = _mm512_setzero_ps();
    }
    for (size_t k = 0; k < a->in; k++) {
        __m512 xk = _mm512_set1_ps(x[k]);
        for (int b = 0; b < g; b++) {
            const float *r = wb[b] + k * BLOCK_OUT;
            PREFETCH_AHEAD(r);
            for (int v = 0; v < 4; v++)
                s[b][v] = _mm512_fmadd_ps(xk, _mm512_load_ps(r + 16 * v), s[b][v]);
        }
    }
    for (int b = 0; b < g; b++)
        store_block(a, b0 + (size_t)b, s[b]);
}

/* Inputs 2p and 2p + 1 of the bf16 row x as one 32-bit lane, broadcast; past
 * the row's end, 0 (the padding's weights are 0 too). */
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static inline __m512bh
x_pair(const gemv_args *a, size_t p)
{
    const uint16_t *x = a->x;
    uint32_t lo = x[2 * p], hi = 2 * p + 1 < a->in ? x[2 * p + 1] : 0;
    return (__m512bh)_mm512_set1_epi32((int)(lo | hi << 16));
}

/* f32_group for bf16 weights: a pair row of each block per input pair. */
GEMV_INLINE __attribute__((target("avx512f,avx512bw,avx512bf16"))) void
bf16_group(const gemv_args *a, size_t b0, int g)
{
    size_t pairs = (a->in + 1) / 2, row = 2 * BLOCK_OUT; /* bf16 per pair row */
    const uint16_t *wb[GROUP];
    __m512 s[GROUP][4];
    for (int b = 0; b < g; b++) {
        wb[b] = (const uint16_t *)a->w + (b0 + (size_t)b) * a->in_padded * BLOCK_OUT;
        for (int v = 0; v < 4; v++)
            s[b][v] = _mm512_setzero_ps();
    }
    for (size_t p = 0; p < pairs; p++) {
        __m512bh xp = x_pair(a, p);
        for (int b = 0; b < g; b++) {
            const uint16_t *r = wb[b] + p * row;
            PREFETCH_AHEAD(r);
            for (int v = 0; v < 4; v++)
                s[b][v] = _mm512_dpbf16_ps(s[b][v], xp, (__m512bh)_mm512_load_si512(r + 32 * v));
        }
    }
    for (int b = 0; b < g; b++)
        store_block(a, b0 + (size_t)b, s[b]);
}

_Static_assert(GROUP == 4, "GROUPS has a case for each smaller group");

/* The blocks in groups of GROUP, the last group smaller (each size its own
 * inlined copy: the loops over blocks and vectors unroll). */
#define GROUPS(group_fn)                                                                        \
    for (size_t blk = begin; blk < end; blk += GROUP) {                                         \
        switch (end - blk < GROUP ? end - blk : GROUP) {                                        \
        case 1: group_fn(args, blk, 1); break;                                                  \
        case 2: group_fn(args, blk, 2); break;                                                  \
        case 3: group_fn(args, blk, 3); break;                                                  \
        default: group_fn(args, blk, GROUP); break;                                             \
        }                                                                                       \
    }

__attribute__((target("avx512f"))) static void gemv_blocks(const void *args, size_t begin,
                                                             size_t end)
{
    GROUPS(f32_group)
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void
gemv_blocks_bf16(const void *args, size_t begin, size_t end)
{
    GROUPS(bf16_group)
}

#endif

void ce_dnnl_gemv(void *ctx, const dnnl_memory_desc_t *md, const void *w, const float *bias,
                  const void *x, int accumulate, float *y)
{
#if GEMV_X86
    gemv_args a = {w,
                   x,
                   bias,
                   (size_t)md->dims[0],
                   (size_t)md->padded_dims[0],
                   (size_t)md->dims[1],
                   y,
                   accumulate};
    size_t blocks = (a.out + BLOCK_OUT - 1) / BLOCK_OUT;
    /* a thread needs some 64 KB of weights to pay its wake-up */
    int bf16 = md->data_type == dnnl_bf16;
    size_t per_block = a.in * BLOCK_OUT * (bf16 ? 2 : 4) + 1;
    size_t grain = per_block >= 65536 ? 1 : 65536 / per_block;
    ce_cpu_parallel_for(ctx, blocks, grain, 1, bf16 ? gemv_blocks_bf16 : gemv_blocks, &a);
#else
    (void)ctx, (void)md, (void)w, (void)bias, (void)x, (void)accumulate, (void)y;
#endif
}
