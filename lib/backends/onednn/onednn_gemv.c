/* One row times a float32 weight in oneDNN's blocked layout (decoding): the
 * library's own AVX-512 loop instead of a oneDNN matmul of one row.
 *
 * For BERT- and GPT-2-sized weights oneDNN picks the layout BA16a64b: for
 * each block of 64 outputs, every input's 64 weights in a row (blocks of 16
 * inputs follow each other), so a block is one contiguous stream. A single
 * row is bound by reading that stream; this loop reads it with prefetches a
 * few rows ahead and eight sums in flight. Measured on the AVX-512 EPYC (2
 * threads, weights from memory): 41-51 GB/s against oneDNN's 41-46 on
 * BERT's shapes, 40-44 against 38-39 on GPT-2's LM head. Other layouts,
 * bf16 weights and CPUs without AVX-512 keep oneDNN's matmul. */
#include "backends/onednn/onednn_gemv.h"

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
    return GEMV_X86 && (ce_cpu_features() & CE_CPU_AVX512) && md->ndims == 2 &&
           md->data_type == dnnl_f32 && md->format_kind == dnnl_blocked && md->offset0 == 0 &&
           b->inner_nblks == 2 && b->inner_blks[0] == BLOCK_IN && b->inner_idxs[0] == 0 &&
           b->inner_blks[1] == BLOCK_OUT && b->inner_idxs[1] == 1 &&
           b->strides[0] == BLOCK_IN * BLOCK_OUT &&
           b->strides[1] == md->padded_dims[0] * BLOCK_OUT && md->padded_dims[0] >= md->dims[0] &&
           md->padded_dims[1] >= md->dims[1];
}

typedef struct gemv_args {
    const float *w, *x, *bias;
    size_t in, in_padded, out;
    float *y;
    int accumulate;
} gemv_args;

#if GEMV_X86

__attribute__((target("avx512f"))) static void gemv_blocks(const void *args, size_t begin,
                                                             size_t end)
{
    const gemv_args *a = args;
    for (size_t blk = begin; blk < end; blk++) {
        const float *wb = a->w + blk * a->in_padded * BLOCK_OUT;
        __m512 s[8];
        for (int v = 0; v < 8; v++)
            s[v] = _mm512_setzero_ps();
        size_t k = 0;
        for (; k + 2 <= a->in; k += 2) { /* two inputs: two rows of 64, eight sums */
            const float *r = wb + k * BLOCK_OUT;
            for (int l = 0; l < 8; l++)
                _mm_prefetch((const char *)r + PREFETCH + 64 * l, _MM_HINT_T0);
            __m512 x0 = _mm512_set1_ps(a->x[k]), x1 = _mm512_set1_ps(a->x[k + 1]);
            for (int v = 0; v < 4; v++) {
                s[v] = _mm512_fmadd_ps(x0, _mm512_load_ps(r + 16 * v), s[v]);
                s[4 + v] = _mm512_fmadd_ps(x1, _mm512_load_ps(r + BLOCK_OUT + 16 * v), s[4 + v]);
            }
        }
        if (k < a->in) {
            __m512 x0 = _mm512_set1_ps(a->x[k]);
            for (int v = 0; v < 4; v++)
                s[v] = _mm512_fmadd_ps(x0, _mm512_load_ps(wb + k * BLOCK_OUT + 16 * v), s[v]);
        }
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
}

#endif

void ce_dnnl_gemv(void *ctx, const dnnl_memory_desc_t *md, const float *w, const float *bias,
                  const float *x, int accumulate, float *y)
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
    size_t per_block = a.in * BLOCK_OUT * sizeof(float) + 1;
    size_t grain = per_block >= 65536 ? 1 : 65536 / per_block;
    ce_cpu_parallel_for(ctx, blocks, grain, 1, gemv_blocks, &a);
#else
    (void)ctx, (void)md, (void)w, (void)bias, (void)x, (void)accumulate, (void)y;
#endif
}
