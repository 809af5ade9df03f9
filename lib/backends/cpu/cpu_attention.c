/* The CPU backends' attention, flash-attention style: for each head and block
 * of up to BLOCK_ROWS query rows, the keys are visited a block of KEY_BLOCK
 * at a time; each row keeps its running maximum and sum (the softmax done
 * online, rescaling what was summed when the maximum grows), so the scratch is
 * a fixed 40 KB on the stack whatever the number of keys. Heads and row blocks
 * are the work items split over the threads: one parallel region per call
 * instead of one GEMM per head.
 *
 * Keys and values are copied a block at a time into dense buffers first (keys
 * transposed): read in place, a head's rows are 3 KB apart (BERT-base; 9 KB in
 * GPT-2's fused qkv), which lands them in a handful of L1 cache sets, and the
 * sums ran at a third of the speed. The inner loops then run along keys
 * (scores) or columns (sums) with the accumulators in registers. Heads wider
 * than HD_MAX go to the reference kernel (slow but exact; no model here has
 * one).
 *
 * The vector code (cpu_attention_kernel.h) is compiled twice: eight floats
 * per vector as target clones (AVX2, baseline), and sixteen for AVX-512 with
 * four rows of scores at once, chosen at run time. Measured on BERT-base
 * b1x128, 2 threads (AVX-512 EPYC): 5.3 ms of attention before, 4.3 after. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"

/* -std=c11 turns off contracting a * b + c into one FMA instruction; the dot
 * products here want it (half the instructions, one rounding instead of two). */
#pragma GCC optimize("fp-contract=fast")

#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/vec_math.h"
#include "backends/ref/ref.h"

#define BLOCK_ROWS 64
#define KEY_BLOCK 32
#define HD_MAX 128 /* KEY_BLOCK x HD_MAX floats: 16 KB, twice */

typedef struct attn_args {
    size_t heads, hd, tq, tk, block, n_blocks;
    const float *q, *k, *v;
    size_t ldq, ldk, ldv, ldo;
    float scale;
    int causal;
    size_t q_offset;
    float *out;
} attn_args;

/* The kernels take vectors of floats through GCC's vector extension (the
 * helpers are inlined into each version; no vector crosses a call). */
#pragma GCC diagnostic ignored "-Wpsabi"
/* Into each version of attend_block: compiled on their own, helpers would be
 * built for the baseline ISA only. */
#define ATTN_INLINE static inline __attribute__((always_inline))

/* Keys [j0, j0 + nk) of the head starting at column col, transposed into kt. */
ATTN_INLINE void pack_keys(const attn_args *a, size_t col, size_t j0, size_t nk, float *kt)
{
    for (size_t j = 0; j < KEY_BLOCK; j++) {
        const float *kj = a->k + (j0 + (j < nk ? j : 0)) * a->ldk + col;
        for (size_t p = 0; p < a->hd; p++)
            kt[p * KEY_BLOCK + j] = kj[p];
    }
}

/* Values [j0, j0 + nk) of the head, dense [nk][hd]. */
ATTN_INLINE void pack_values(const attn_args *a, size_t col, size_t j0, size_t nk, float *vb)
{
    for (size_t j = 0; j < nk; j++)
        memcpy(vb + j * a->hd, a->v + (j0 + j) * a->ldv + col, a->hd * sizeof *vb);
}

/* Row i's scores s[0, n) of this key block (unscaled) into probabilities
 * relative to its running maximum *m, rescaling the running sum *l and the
 * output row by how much the maximum grew; returns nothing, p replaces s. */
ATTN_INLINE void online_softmax(float *s, size_t n, float scale, float *m, float *l, float *out,
                                size_t hd)
{
    /* max and sum over eight lanes: a float reduction does not vectorise
     * under -std=c11, and this runs once per row and key block */
    float lanes[8], mx = -INFINITY, sum = 0.0f;
    for (size_t u = 0; u < 8; u++)
        lanes[u] = -INFINITY;
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (size_t u = 0; u < 8; u++) {
            s[j + u] *= scale;
            lanes[u] = s[j + u] > lanes[u] ? s[j + u] : lanes[u];
        }
    for (; j < n; j++) {
        s[j] *= scale;
        mx = s[j] > mx ? s[j] : mx;
    }
    for (size_t u = 0; u < 8; u++)
        mx = lanes[u] > mx ? lanes[u] : mx;
    float m_new = mx > *m ? mx : *m;
    float corr = *m == -INFINITY ? 0.0f : ce_vm_exp(*m - m_new);
    for (j = 0; j < n; j++)
        s[j] = ce_vm_exp(s[j] - m_new);
    for (size_t u = 0; u < 8; u++)
        lanes[u] = 0.0f;
    for (j = 0; j + 8 <= n; j += 8)
        for (size_t u = 0; u < 8; u++)
            lanes[u] += s[j + u];
    for (; j < n; j++)
        sum += s[j];
    sum += ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
           ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    if (corr != 1.0f)
        for (size_t c = 0; c < hd; c++)
            out[c] *= corr;
    *l = *l * corr + sum;
    *m = m_new;
}

#define VW 8
#define SROWS 2
#define ATTN(name) name##_v8
#define ATTN_TARGET CE_VEC_CLONES
#include "backends/cpu/cpu_attention_kernel.h"
#undef VW
#undef SROWS
#undef ATTN
#undef ATTN_TARGET

/* AVX-512: sixteen floats, four rows of scores at once (one target, no
 * ifunc: it builds under ThreadSanitizer too). */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target)
#define HAVE_V16 1
#define VW 16
#define SROWS 4
#define ATTN(name) name##_v16
#define ATTN_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#include "backends/cpu/cpu_attention_kernel.h"
#undef VW
#undef SROWS
#undef ATTN
#undef ATTN_TARGET
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
    void (*block)(const attn_args *, size_t, size_t, size_t) = attend_block_v8;
#ifdef HAVE_V16
    int width = atomic_load_explicit(&forced_width, memory_order_relaxed);
    if ((ce_cpu_features() & CE_CPU_AVX512) && width != 8)
        block = attend_block_v16;
#endif
    for (size_t item = begin; item < end; item++) {
        size_t h = item / a->n_blocks, r0 = (item % a->n_blocks) * a->block;
        block(a, h, r0, r0 + a->block < a->tq ? r0 + a->block : a->tq);
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
    attn_args a = {heads, head_dim, tq, tk, block, n_blocks, q, k, v, ldq, ldk, ldv, ldo,
                   scale, causal, q_offset, out};
    /* a thread needs some 64 K multiply-adds to pay its wake-up (decoding
     * reads a head's cached keys and values from memory: two threads read
     * them faster than one) */
    size_t per_item = (block < tq ? block : tq) * tk * head_dim * 2 + 1;
    size_t grain = per_item >= 65536 ? 1 : 65536 / per_item;
    ce_cpu_parallel_for(ctx, heads * n_blocks, grain, 1, attn_items, &a);
}
