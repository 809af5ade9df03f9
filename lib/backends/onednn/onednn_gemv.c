/* One row times a weight in oneDNN's blocked layout (decoding): the
 * library's own AVX-512 loop instead of a oneDNN matmul of one row.
 *
 * For BERT- and GPT-2-sized float32 weights oneDNN picks the layout
 * BA16a64b: for each block of 64 outputs, every input's 64 weights in a row
 * (blocks of 16 inputs follow each other), so a block is one contiguous
 * stream. bf16 weights get BA16a64b2a: the same with inputs in pairs, each
 * output's pair in 32 bits, which is what VDPBF16PS multiplies. A single row
 * is bound by reading that stream; this loop reads it with prefetches a few
 * rows ahead and eight sums in flight. Measured on the AVX-512 EPYC (2
 * threads, weights from memory, float32): 41-51 GB/s against oneDNN's 41-46
 * on BERT's shapes, 40-44 against 38-39 on GPT-2's LM head. Other layouts
 * and CPUs without the instructions keep oneDNN's matmul. */
#include "backends/onednn/onednn_gemv.h"

#include <stdint.h>
#include <string.h>

#include "backends/cpu/cpu_parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GEMV_X86 1
#else
#define GEMV_X86 0
#endif

#define BLOCK_IN 16
#define BLOCK_OUT 64
#define PREFETCH 2048 /* bytes ahead: eight rows of the block */

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

/* A block's 64 sums (two sets of four vectors) into y: bias, y itself when
 * accumulating, only the block's valid outputs. */
__attribute__((target("avx512f"))) static inline void store_block(const gemv_args *a, size_t blk,
                                                                  const __m512 *s)
{
    size_t col = blk * BLOCK_OUT, nc = a->out - col < BLOCK_OUT ? a->out - col : BLOCK_OUT;
    for (size_t v = 0; v < 4 && 16 * v < nc; v++) {
            size_t n = nc - 16 * v < 16 ? nc - 16 * v : 16;
            __mmask16 m = (__mmask16)((1u << n) - 1u);
            __m512 t = _mm512_add_ps(s[v], s[4 + v]);
            if (a->bias)
                t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, a->bias + col + 16 * v));
            if (a->accumulate)
                t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, a->y + col + 16 * v));
            _mm512_mask_storeu_ps(a->y + col + 16 * v, m, t);
    }
}

/* Eight lines ahead of row r: the next two rows of 64 floats, or pairs of bf16. */
#define PREFETCH_AHEAD(r)                                                                       \
    for (int l = 0; l < 8; l++)                                                                 \
    _mm_prefetch((const char *)(r) + PREFETCH + 64 * l, _MM_HINT_T0)

__attribute__((target("avx512f"))) static void gemv_blocks(const void *args, size_t begin,
                                                             size_t end)
{
    const gemv_args *a = args;
    const float *x = a->x;
    for (size_t blk = begin; blk < end; blk++) {
        const float *wb = (const float *)a->w + blk * a->in_padded * BLOCK_OUT;
        __m512 s[8];
        for (int v = 0; v < 8; v++)
            s[v] = _mm512_setzero_ps();
        size_t k = 0;
        for (; k + 2 <= a->in; k += 2) { /* two inputs: two rows of 64, eight sums */
            const float *r = wb + k * BLOCK_OUT;
            PREFETCH_AHEAD(r);
            __m512 x0 = _mm512_set1_ps(x[k]), x1 = _mm512_set1_ps(x[k + 1]);
            for (int v = 0; v < 4; v++) {
                s[v] = _mm512_fmadd_ps(x0, _mm512_load_ps(r + 16 * v), s[v]);
                s[4 + v] = _mm512_fmadd_ps(x1, _mm512_load_ps(r + BLOCK_OUT + 16 * v), s[4 + v]);
            }
        }
        if (k < a->in) {
            __m512 x0 = _mm512_set1_ps(x[k]);
            for (int v = 0; v < 4; v++)
                s[v] = _mm512_fmadd_ps(x0, _mm512_load_ps(wb + k * BLOCK_OUT + 16 * v), s[v]);
        }
        store_block(a, blk, s);
    }
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

__attribute__((target("avx512f,avx512bw,avx512bf16"))) static void
gemv_blocks_bf16(const void *args, size_t begin, size_t end)
{
    const gemv_args *a = args;
    size_t pairs = (a->in + 1) / 2, row = 2 * BLOCK_OUT; /* bf16 per pair row */
    for (size_t blk = begin; blk < end; blk++) {
        const uint16_t *wb = (const uint16_t *)a->w + blk * a->in_padded * BLOCK_OUT;
        __m512 s[8];
        for (int v = 0; v < 8; v++)
            s[v] = _mm512_setzero_ps();
        size_t p = 0;
        for (; p + 2 <= pairs; p += 2) { /* two pair rows, eight sums */
            const uint16_t *r = wb + p * row;
            PREFETCH_AHEAD(r);
            __m512bh x0 = x_pair(a, p), x1 = x_pair(a, p + 1);
            for (int v = 0; v < 4; v++) {
                s[v] = _mm512_dpbf16_ps(s[v], x0, (__m512bh)_mm512_load_si512(r + 32 * v));
                s[4 + v] = _mm512_dpbf16_ps(s[4 + v], x1,
                                            (__m512bh)_mm512_load_si512(r + row + 32 * v));
            }
        }
        if (p < pairs) {
            __m512bh x0 = x_pair(a, p);
            for (int v = 0; v < 4; v++)
                s[v] = _mm512_dpbf16_ps(s[v], x0, (__m512bh)_mm512_load_si512(wb + p * row + 32 * v));
        }
        store_block(a, blk, s);
    }
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
