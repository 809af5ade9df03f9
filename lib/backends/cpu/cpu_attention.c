/* The CPU backends' attention: for each head and block of query rows, the
 * scores of the block against every key it may see, a softmax per row, then
 * the weighted sum of the value rows, so the scores of a block (at most
 * SCORES_MAX floats) stay on the stack and in cache. Heads and row blocks are
 * the work items split over the threads: one parallel region per call
 * instead of one GEMM per head. Keys beyond SCORES_MAX go to the reference
 * kernel (slow but exact; no model here has that many positions). */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"

#define SCORES_MAX 16384 /* floats: 64 KB of stack */
#define BLOCK_ROWS 16
#define LANES 8

typedef struct attn_args {
    size_t heads, hd, tq, tk, block, n_blocks;
    const float *q, *k, *v;
    size_t ldq, ldk, ldv, ldo;
    float scale;
    int causal;
    size_t q_offset;
    float *out;
} attn_args;

static inline float dot(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= n; p += LANES)
        for (size_t l = 0; l < LANES; l++)
            acc[l] += a[p + l] * b[p + l];
    float s = 0.0f;
    for (; p < n; p++)
        s += a[p] * b[p];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* out[0, hd) = sum_j p[j] v[j]: value rows streamed once, added in order. */
static inline void weighted_sum(const float *restrict p, size_t keys, const float *restrict v,
                                size_t ldv, size_t hd, float *restrict out)
{
    for (size_t c = 0; c < hd; c++)
        out[c] = 0.0f;
    for (size_t j = 0; j < keys; j++) {
        const float *restrict vj = v + j * ldv;
        float pj = p[j];
        for (size_t c = 0; c < hd; c++)
            out[c] += pj * vj[c];
    }
}

CE_VEC_CLONES static void attn_items(const void *args, size_t begin, size_t end)
{
    const attn_args *a = args;
    float scores[SCORES_MAX];
    for (size_t item = begin; item < end; item++) {
        size_t h = item / a->n_blocks, r0 = (item % a->n_blocks) * a->block;
        size_t r1 = r0 + a->block < a->tq ? r0 + a->block : a->tq, col = h * a->hd;
        const float *k = a->k + col, *v = a->v + col;
        for (size_t i = r0; i < r1; i++) {
            size_t keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, i);
            const float *q = a->q + i * a->ldq + col;
            float *s = scores + (i - r0) * a->tk;
            for (size_t j = 0; j < keys; j++)
                s[j] = dot(q, k + j * a->ldk, a->hd);
            ce_cpu_softmax_row(s, keys, keys, a->scale);
            weighted_sum(s, keys, v, a->ldv, a->hd, a->out + i * a->ldo + col);
        }
    }
}

void ce_cpu_attention(void *ctx, size_t heads, size_t head_dim, size_t tq, size_t tk,
                      const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                      size_t ldv, float scale, int causal, size_t q_offset, float *out, size_t ldo)
{
    if (tk > SCORES_MAX) {
        ce_ref_attention(ctx, heads, head_dim, tq, tk, q, ldq, k, ldk, v, ldv, scale, causal,
                         q_offset, out, ldo);
        return;
    }
    size_t block = SCORES_MAX / tk < BLOCK_ROWS ? SCORES_MAX / tk : BLOCK_ROWS;
    size_t n_blocks = (tq + block - 1) / block;
    attn_args a = {heads, head_dim, tq, tk, block, n_blocks, q, k, v, ldq, ldk, ldv, ldo,
                   scale, causal, q_offset, out};
    /* about 64 K multiply-adds per item; a thread needs a few to pay its wake-up */
    size_t per_item = block * tk * head_dim * 2 + 1;
    size_t grain = per_item >= 262144 ? 1 : 262144 / per_item;
    ce_cpu_parallel_for(ctx, heads * n_blocks, grain, 1, attn_items, &a);
}
