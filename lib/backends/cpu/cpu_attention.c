/* The CPU backends' attention: for each head and block of query rows, the
 * scores of the block against every key it may see, a softmax per row, then
 * the weighted sum of the value rows, so the scores of a block (at most
 * SCORES_MAX floats) stay on the stack and in cache. Heads and row blocks are
 * the work items split over the threads: one parallel region per call
 * instead of one GEMM per head. Scores are computed against a transposed
 * block of KEY_BLOCK keys, so the inner loop runs along keys and vectorises
 * without horizontal sums. Keys beyond SCORES_MAX go to the reference kernel
 * (slow but exact; no model here has that many positions). */
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/ref/ref.h"

#define SCORES_MAX 16384 /* floats: 64 KB of stack */
#define BLOCK_ROWS 16
#define KEY_BLOCK 64
#define HD_MAX 256 /* head sizes above this take the dot-product path */
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

/* Eight floats, for the two loops below: written with GCC's vector
 * extension so that the accumulators stay in registers (the compiler keeps
 * a float array in memory). Loads and stores go through memcpy: rows are
 * only float-aligned. */
typedef float vf8 __attribute__((vector_size(32)));
/* The helpers are inlined into each clone; no vf8 crosses a call. */
#pragma GCC diagnostic ignored "-Wpsabi"

static inline vf8 load8(const float *p)
{
    vf8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store8(float *p, vf8 v)
{
    memcpy(p, &v, sizeof v);
}

/* out[0, hd) = sum_j p[j] v[j], 64 columns at a time held in registers. */
static inline void weighted_sum(const float *restrict p, size_t keys, const float *restrict v,
                                size_t ldv, size_t hd, float *restrict out)
{
    size_t c0 = 0;
    for (; c0 + 64 <= hd; c0 += 64) {
        vf8 acc[8] = {0};
        for (size_t j = 0; j < keys; j++) {
            const float *vj = v + j * ldv + c0;
            vf8 pj = (vf8){0} + p[j];
            for (size_t u = 0; u < 8; u++)
                acc[u] += pj * load8(vj + 8 * u);
        }
        for (size_t u = 0; u < 8; u++)
            store8(out + c0 + 8 * u, acc[u]);
    }
    for (size_t c = c0; c < hd; c++)
        out[c] = 0.0f;
    for (size_t j = 0; c0 < hd && j < keys; j++)
        for (size_t c = c0; c < hd; c++)
            out[c] += p[j] * v[j * ldv + c];
}

/* s[r][j0 + j] = q_r . k_(j0+j) for the block's rows, from kt = the key block
 * transposed ([hd][KEY_BLOCK]); a row's keys past its own limit are computed
 * too and never read. */
static inline void block_scores(const float *q, size_t ldq, size_t rows, const float *restrict kt,
                                size_t hd, size_t nk, float *s, size_t lds)
{
    for (size_t r = 0; r < rows; r++) {
        const float *restrict qr = q + r * ldq;
        vf8 acc[KEY_BLOCK / 8] = {0};
        for (size_t p = 0; p < hd; p++) {
            vf8 qp = (vf8){0} + qr[p];
            const float *kp = kt + p * KEY_BLOCK;
            for (size_t u = 0; u < KEY_BLOCK / 8; u++)
                acc[u] += qp * load8(kp + 8 * u);
        }
        float tmp[KEY_BLOCK];
        for (size_t u = 0; u < KEY_BLOCK / 8; u++)
            store8(tmp + 8 * u, acc[u]);
        memcpy(s + r * lds, tmp, nk * sizeof *tmp);
    }
}

CE_VEC_CLONES static void item_scores(const attn_args *a, size_t h, size_t r0, size_t r1, float *scores)
{
    size_t col = h * a->hd, keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset,
                                                        r1 - 1);
    float kt[HD_MAX * KEY_BLOCK];
    for (size_t j0 = 0; j0 < keys; j0 += KEY_BLOCK) {
        size_t nk = keys - j0 < KEY_BLOCK ? keys - j0 : KEY_BLOCK;
        for (size_t j = 0; j < KEY_BLOCK; j++) {
            const float *kj = a->k + (j0 + (j < nk ? j : 0)) * a->ldk + col;
            for (size_t p = 0; p < a->hd; p++)
                kt[p * KEY_BLOCK + j] = kj[p];
        }
        block_scores(a->q + r0 * a->ldq + col, a->ldq, r1 - r0, kt, a->hd, nk, scores + j0,
                     a->tk);
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
        if (a->hd <= HD_MAX)
            item_scores(a, h, r0, r1, scores);
        for (size_t i = r0; i < r1; i++) {
            size_t keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, i);
            const float *q = a->q + i * a->ldq + col;
            float *s = scores + (i - r0) * a->tk;
            for (size_t j = 0; a->hd > HD_MAX && j < keys; j++)
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
