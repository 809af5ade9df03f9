/* The CPU backends' attention, flash-attention style: for each head and block
 * of up to BLOCK_ROWS query rows, the keys are visited a block of KEY_BLOCK
 * at a time; each row keeps its running maximum and sum (the softmax done
 * online, rescaling what was summed when the maximum grows), so the block's
 * scratch (the thread's, 128 KB at a head of 64) is fixed whatever the
 * number of keys. Heads and row blocks are the work items split over the
 * threads: one parallel region per call instead of one GEMM per head.
 *
 * Both products are small GEMMs with register tiles (SR x 2 vectors of
 * accumulators). The scores are computed transposed, keys down and query
 * rows across (the queries are packed transposed once per block, times the
 * scale): the softmax then runs down the columns a vector of rows at a time,
 * with no horizontal reductions, and the probabilities are already laid out
 * for the sums over values. Keys and values are copied into dense rows (read
 * in place, a head's rows are 3 KB apart in BERT-base and 9 KB in GPT-2's
 * fused qkv, share a few L1 sets, and the products were no faster for it):
 * once per thread and head when they fit HEAD_FLOATS_MAX (the thread's
 * scratch then grows by them), else a key block at a time. Heads wider than
 * HD_MAX go to the reference kernel (slow but exact; no model here has one);
 * a single query row (decoding) takes dot products on the rows in place,
 * a thread's heads side by side (GPT-2 small's decoding attention at 128
 * keys, 12 layers, on a Xeon: 0.62-0.70 -> 0.51-0.53 ms per token).
 *
 * The vector code (cpu_attention_kernel.h) is compiled twice: eight floats
 * per vector as target clones (AVX2, baseline), and sixteen for AVX-512,
 * chosen at run time. Measured alone (BERT-base's 12 heads of 64, 2 threads,
 * AVX-512 EPYC): 512 tokens 5.4 -> 3.0-4.0 ms per layer, 128 tokens 0.43 ->
 * 0.26 ms, against the earlier design (key blocks of 32 transposed, the
 * softmax a row at a time). */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"

/* -std=c11 turns off contracting a * b + c into one FMA instruction; the dot
 * products here want it (half the instructions, one rounding instead of two). */
#pragma GCC optimize("fp-contract=fast")

#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/vec_math.h"
#include "backends/ref/ref.h"

#define BLOCK_ROWS 64
#define KEY_BLOCK 128 /* keys per step of a row block */
#define ROW_KEYS 32   /* keys per step of a single row */
#define ROW_HEADS 8   /* heads a single row takes side by side */
/* Key and value rows a single row fetches ahead of the one it reads: they
 * come from memory, a few KB apart (GPT-2 small's decoding at 128 keys, bf16,
 * 2 threads, Xeon: attention 0.66-0.78 -> 0.52-0.65 ms per token) */
#define ROW_PREFETCH 4
#define HD_MAX 128    /* widest head the blocks take: 224 KB of scratch */

typedef struct attn_args {
    void *ctx;
    size_t heads, hd, tq, tk, block, n_blocks;
    const float *q, *k, *v;
    size_t ldq, ldk, ldv, ldo;
    float scale;
    int causal;
    size_t q_offset;
    float *out;
    size_t scratch;    /* floats a row block takes: block_scratch() */
    size_t head_keys;  /* rows of a head's dense keys: tk rounded up to HEAD_PAD_KEYS */
    size_t head_floats; /* a head's dense keys and values after them, or 0: not kept */
} attn_args;

/* A row block's scratch: its queries transposed ([hd][BLOCK_ROWS]) and its
 * output rows ([BLOCK_ROWS][hd]), its scores transposed ([KEY_BLOCK]
 * [BLOCK_ROWS]), a block of keys and one of values ([KEY_BLOCK][hd] each):
 * 128 KB at hd = 64. */
static size_t block_scratch(size_t hd)
{
    return 2 * BLOCK_ROWS * hd + BLOCK_ROWS * KEY_BLOCK + 2 * hd * KEY_BLOCK;
}

typedef struct probs_args {
    float *s;
    uint16_t *p;
    size_t rows, tk, q_offset;
    float scale;
    int causal;
} probs_args;

/* The kernels take vectors of floats through GCC's vector extension (the
 * helpers are inlined into each version; no vector crosses a call). */
#pragma GCC diagnostic ignored "-Wpsabi"
/* Into each version of attend_block: compiled on their own, helpers would be
 * built for the baseline ISA only. */
#define ATTN_INLINE static inline __attribute__((always_inline))

/* Query rows [r0, r0 + rows) of the head starting at column col, times the
 * scale, transposed into qt ([hd][BLOCK_ROWS]) up to row prows; rows past the
 * block are zeros. Rows below @p done_rows have their columns below
 * @p done_cols already there (the AVX-512 kernel's 16 x 16 transpositions). */
ATTN_INLINE void pack_queries(const attn_args *a, size_t col, size_t r0, size_t rows, size_t prows,
                              float *qt, size_t done_rows, size_t done_cols)
{
    const float scale = a->scale;
    for (size_t i = 0; i < rows; i++) {
        const float *qi = a->q + (r0 + i) * a->ldq + col;
        for (size_t p = i < done_rows ? done_cols : 0; p < a->hd; p++)
            qt[p * BLOCK_ROWS + i] = qi[p] * scale;
    }
    for (size_t p = 0; rows < prows && p < a->hd; p++)
        memset(qt + p * BLOCK_ROWS + rows, 0, (prows - rows) * sizeof *qt);
}

/* A head's keys and values are copied dense once per thread and head when
 * they take at most this many floats (4 MB): copied again for every block of
 * query rows, they were a fifth of the attention at 512 tokens. */
#define HEAD_FLOATS_MAX ((size_t)1 << 20)
/* Its keys are padded to a multiple of the widest tile of keys. */
#define HEAD_PAD_KEYS 8

/* Rows [j0, j0 + n) of a head's keys or values (x, ld ldx, the head's
 * columns from col), dense [nrows][hd]; rows past n copy the first
 * (computed, never read). */
ATTN_INLINE void pack_rows(const float *x, size_t ldx, size_t col, size_t hd, size_t j0, size_t n,
                           size_t nrows, float *dst)
{
    for (size_t j = 0; j < nrows; j++)
        memcpy(dst + j * hd, x + (j0 + (j < n ? j : 0)) * ldx + col, hd * sizeof *dst);
}

#define VW 8
#define SR 4
#define ATTN(name) name##_v8
#define ATTN_TARGET CE_VEC_CLONES
#define ATTN_FN ATTN_INLINE
#include "backends/cpu/cpu_attention_kernel.h"
#undef VW
#undef SR
#undef ATTN
#undef ATTN_TARGET
#undef ATTN_FN

/* AVX-512: sixteen floats, tiles of 8 x 2 vectors (one target, no ifunc: it
 * builds under ThreadSanitizer too). */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target)
#define HAVE_V16 1
#include "backends/cpu/vec_math_avx512.h"
#define VW 16
#define SR 8
#define ATTN(name) name##_v16
#define ATTN_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define ATTN_FN ATTN_INLINE ATTN_TARGET
#include "backends/cpu/cpu_attention_kernel.h"
#undef VW
#undef SR
#undef ATTN
#undef ATTN_TARGET
#undef ATTN_FN
#endif
#endif

static _Atomic int forced_width; /* tests: 8 or 16 floats, 0 for the CPU's best */

int ce_cpu_attention_force_width(int floats)
{
    return atomic_exchange(&forced_width, floats);
}

static void attn_items(const void *args, size_t begin, size_t end)
{
    const attn_args *a = args;
    void (*block)(const attn_args *, size_t, size_t, size_t, const float *, const float *) =
        attend_block_v8;
    void (*row)(const attn_args *, size_t, size_t, size_t) = attend_heads_v8;
#ifdef HAVE_V16
    int width = atomic_load_explicit(&forced_width, memory_order_relaxed);
    if ((ce_cpu_features() & CE_CPU_AVX512) && width != 8) {
        block = attend_block_v16;
        row = attend_heads_v16;
    }
#endif
    if (a->tq == 1) { /* decoding: the thread's heads side by side */
        row(a, 0, begin, end);
        return;
    }
    float *f = a->head_floats ? ce_cpu_scratch(a->ctx, ce_cpu_thread_index(),
                                               a->scratch + a->head_floats)
                              : NULL;
    float *hk = f ? f + a->scratch : NULL, *hv = hk ? hk + a->head_keys * a->hd : NULL;
    size_t packed = (size_t)-1;
    for (size_t item = begin; item < end; item++) {
        size_t h = item / a->n_blocks, r0 = (item % a->n_blocks) * a->block;
        if (hk && h != packed) {
            pack_rows(a->k, a->ldk, h * a->hd, a->hd, 0, a->tk, a->head_keys, hk);
            pack_rows(a->v, a->ldv, h * a->hd, a->hd, 0, a->tk, a->tk, hv);
            packed = h;
        }
        block(a, h, r0, r0 + a->block < a->tq ? r0 + a->block : a->tq, hk, hv);
    }
}

void ce_cpu_attention(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                      const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                      size_t ldv, float scale, int causal, size_t q_offset, float *out, size_t ldo)
{
    if (head_dim > HD_MAX || head_dim == 0) {
        ce_ref_attention(ctx, heads, head_dim, tq, tk, q, ldq, k, ldk, v, ldv, scale, causal,
                         q_offset, out, ldo);
        return;
    }
    size_t block = BLOCK_ROWS;
    size_t n_blocks = (tq + block - 1) / block;
    attn_args a = {ctx, heads, head_dim, tq, tk, block, n_blocks, q, k, v, ldq, ldk, ldv, ldo,
                   scale, causal, q_offset, out, block_scratch(head_dim), 0, 0};
    a.head_keys = (tk + HEAD_PAD_KEYS - 1) / HEAD_PAD_KEYS * HEAD_PAD_KEYS;
    if (tq > 1 && (a.head_keys + tk) * head_dim <= HEAD_FLOATS_MAX)
        a.head_floats = (a.head_keys + tk) * head_dim;
    /* a thread needs some 64 K multiply-adds to pay its wake-up (decoding
     * reads a head's cached keys and values from memory: two threads read
     * them faster than one) */
    size_t per_item = (block < tq ? block : tq) * tk * head_dim * 2 + 1;
    size_t grain = per_item >= 65536 ? 1 : 65536 / per_item;
    ce_cpu_parallel_for(ctx, heads * n_blocks, grain, 1, attn_items, &a);
}

/* ce_cpu_attention_probs without AVX-512 (or with 8-float vectors forced):
 * the shared masked softmax row, then rounded. */
static void probs_rows_plain(const void *args, size_t begin, size_t end)
{
    const probs_args *a = args;
    for (size_t item = begin; item < end; item++) {
        float *s = a->s + item * a->tk;
        size_t valid = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, item % a->rows);
        ce_cpu_softmax_row(s, valid, a->tk, a->scale);
        ce_cpu_bf16_row(s, a->p + item * a->tk, a->tk);
    }
}

void ce_cpu_attention_probs(void *ctx, size_t heads, size_t rows, size_t tk, float *s,
                            float scale, int causal, size_t q_offset, uint16_t *p)
{
    probs_args a = {s, p, rows, tk, q_offset, scale, causal};
    ce_par_fn fn = probs_rows_plain;
#ifdef HAVE_V16
    if ((ce_cpu_features() & CE_CPU_AVX512) &&
        atomic_load_explicit(&forced_width, memory_order_relaxed) != 8)
        fn = probs_rows_v16;
#endif
    /* a row of tk exps costs about as much as 8 tk multiply-adds */
    size_t grain = tk ? (8192 + tk - 1) / tk : heads * rows;
    ce_cpu_parallel_for(ctx, heads * rows, grain, 1, fn, &a);
}
