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
 * one). */
#include <math.h>
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

/* Eight floats, written with GCC's vector extension so that accumulators stay
 * in registers (the compiler keeps a float array in memory). Loads and stores
 * go through memcpy: rows are only float-aligned. */
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

/* s[r][0, KEY_BLOCK) = q_r . key j for the block's rows (lds >= KEY_BLOCK),
 * from kt = the key block transposed ([hd][KEY_BLOCK]); columns past the
 * block's nk keys hold copies and are never read.
 * Two rows at a time: eight independent sums hide the FMA latency. */
static inline void block_scores(const float *q, size_t ldq, size_t rows, const float *kt,
                                size_t hd, float *s, size_t lds)
{
    size_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const float *q0 = q + r * ldq, *q1 = q0 + ldq;
        vf8 a0[KEY_BLOCK / 8] = {0}, a1[KEY_BLOCK / 8] = {0};
        for (size_t p = 0; p < hd; p++) {
            float x0 = q0[p], x1 = q1[p]; /* a scalar times a vector: one broadcast */
            const float *kp = kt + p * KEY_BLOCK;
            for (size_t u = 0; u < KEY_BLOCK / 8; u++) {
                vf8 k = load8(kp + 8 * u);
                a0[u] += x0 * k;
                a1[u] += x1 * k;
            }
        }
        for (size_t u = 0; u < KEY_BLOCK / 8; u++) {
            store8(s + r * lds + 8 * u, a0[u]);
            store8(s + (r + 1) * lds + 8 * u, a1[u]);
        }
    }
    for (; r < rows; r++) {
        const float *qr = q + r * ldq;
        vf8 acc[KEY_BLOCK / 8] = {0};
        for (size_t p = 0; p < hd; p++) {
            float qp = qr[p];
            const float *kp = kt + p * KEY_BLOCK;
            for (size_t u = 0; u < KEY_BLOCK / 8; u++)
                acc[u] += qp * load8(kp + 8 * u);
        }
        for (size_t u = 0; u < KEY_BLOCK / 8; u++)
            store8(s + r * lds + 8 * u, acc[u]);
    }
}

/* out[0, hd) += sum_j p[j] vb[j] over nk dense value rows, 32 columns at a
 * time; with a second row (p1, out1 not NULL), both over the same values. */
static inline void block_sum(const float *p0, const float *p1, size_t nk, const float *vb,
                             size_t hd, float *out0, float *out1)
{
    size_t c0 = 0;
    for (; c0 + 32 <= hd; c0 += 32) {
        vf8 a0[4], a1[4] = {0};
        for (size_t u = 0; u < 4; u++) {
            a0[u] = load8(out0 + c0 + 8 * u);
            if (p1)
                a1[u] = load8(out1 + c0 + 8 * u);
        }
        if (p1)
            for (size_t j = 0; j < nk; j++) {
                float x0 = p0[j], x1 = p1[j];
                const float *vj = vb + j * hd + c0;
                for (size_t u = 0; u < 4; u++) {
                    vf8 v = load8(vj + 8 * u);
                    a0[u] += x0 * v;
                    a1[u] += x1 * v;
                }
            }
        else
            for (size_t j = 0; j < nk; j++) {
                float x0 = p0[j];
                const float *vj = vb + j * hd + c0;
                for (size_t u = 0; u < 4; u++)
                    a0[u] += x0 * load8(vj + 8 * u);
            }
        for (size_t u = 0; u < 4; u++) {
            store8(out0 + c0 + 8 * u, a0[u]);
            if (p1)
                store8(out1 + c0 + 8 * u, a1[u]);
        }
    }
    for (size_t j = 0; c0 < hd && j < nk; j++)
        for (size_t c = c0; c < hd; c++) {
            out0[c] += p0[j] * vb[j * hd + c];
            if (p1)
                out1[c] += p1[j] * vb[j * hd + c];
        }
}

/* Keys [j0, j0 + nk) of the head starting at column col, transposed into kt. */
static inline void pack_keys(const attn_args *a, size_t col, size_t j0, size_t nk, float *kt)
{
    for (size_t j = 0; j < KEY_BLOCK; j++) {
        const float *kj = a->k + (j0 + (j < nk ? j : 0)) * a->ldk + col;
        for (size_t p = 0; p < a->hd; p++)
            kt[p * KEY_BLOCK + j] = kj[p];
    }
}

/* Values [j0, j0 + nk) of the head, dense [nk][hd]. */
static inline void pack_values(const attn_args *a, size_t col, size_t j0, size_t nk, float *vb)
{
    for (size_t j = 0; j < nk; j++)
        memcpy(vb + j * a->hd, a->v + (j0 + j) * a->ldv + col, a->hd * sizeof *vb);
}

/* Row i's scores s[0, n) of this key block (unscaled) into probabilities
 * relative to its running maximum *m, rescaling the running sum *l and the
 * output row by how much the maximum grew; returns nothing, p replaces s. */
static inline void online_softmax(float *s, size_t n, float scale, float *m, float *l, float *out,
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
    sum += ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    if (corr != 1.0f)
        for (size_t c = 0; c < hd; c++)
            out[c] *= corr;
    *l = *l * corr + sum;
    *m = m_new;
}

/* q . k over hd values in eight lanes. */
static inline float dot(const float *q, const float *k, size_t hd)
{
    vf8 acc = {0};
    size_t p = 0;
    for (; p + 8 <= hd; p += 8)
        acc += load8(q + p) * load8(k + p);
    float s = 0.0f;
    for (; p < hd; p++)
        s += q[p] * k[p];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* One query row (decoding): too few rows to pay for packing the keys, so the
 * scores are dot products on the rows in place, a key block at a time.
 * Inlined into each clone of attend_block: on its own it was compiled for the
 * baseline ISA only (SSE2, no FMA), and took a tenth of a decoded token. */
static inline __attribute__((always_inline)) void attend_row(const attn_args *a, size_t h, size_t i)
{
    float s[KEY_BLOCK];
    float m = -INFINITY, l = 0.0f;
    size_t col = h * a->hd, keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, i);
    const float *q = a->q + i * a->ldq + col;
    float *out = a->out + i * a->ldo + col;
    memset(out, 0, a->hd * sizeof *out);
    for (size_t j0 = 0; j0 < keys; j0 += KEY_BLOCK) {
        size_t nk = keys - j0 < KEY_BLOCK ? keys - j0 : KEY_BLOCK;
        for (size_t j = 0; j < nk; j++)
            s[j] = dot(q, a->k + (j0 + j) * a->ldk + col, a->hd);
        online_softmax(s, nk, a->scale, &m, &l, out, a->hd);
        for (size_t j = 0; j < nk; j++) {
            const float *v = a->v + (j0 + j) * a->ldv + col;
            for (size_t c = 0; c < a->hd; c++)
                out[c] += s[j] * v[c];
        }
    }
    for (size_t c = 0; c < a->hd; c++)
        out[c] *= 1.0f / l;
}

/* One head, query rows [r0, r1) (at most BLOCK_ROWS). */
CE_VEC_CLONES static void attend_block(const attn_args *a, size_t h, size_t r0, size_t r1)
{
    if (r1 - r0 == 1) {
        attend_row(a, h, r0);
        return;
    }
    float scores[BLOCK_ROWS * KEY_BLOCK];
    float kt[HD_MAX * KEY_BLOCK], vb[KEY_BLOCK * HD_MAX];
    float m[BLOCK_ROWS], l[BLOCK_ROWS];
    size_t col = h * a->hd, rows = r1 - r0;
    size_t keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, r1 - 1);
    for (size_t i = 0; i < rows; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
        memset(a->out + (r0 + i) * a->ldo + col, 0, a->hd * sizeof(float));
    }
    for (size_t j0 = 0; j0 < keys; j0 += KEY_BLOCK) {
        size_t nk = keys - j0 < KEY_BLOCK ? keys - j0 : KEY_BLOCK;
        pack_keys(a, col, j0, nk, kt);
        block_scores(a->q + r0 * a->ldq + col, a->ldq, rows, kt, a->hd, scores, KEY_BLOCK);
        pack_values(a, col, j0, nk, vb);
        size_t n[BLOCK_ROWS];
        for (size_t i = 0; i < rows; i++) {
            size_t valid = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, r0 + i);
            n[i] = valid <= j0 ? 0 : valid - j0 < nk ? valid - j0 : nk;
            if (n[i])
                online_softmax(scores + i * KEY_BLOCK, n[i], a->scale, &m[i], &l[i],
                               a->out + (r0 + i) * a->ldo + col, a->hd);
        }
        for (size_t i = 0; i < rows; i++) {
            float *out = a->out + (r0 + i) * a->ldo + col;
            if (!n[i])
                continue;
            if (i + 1 < rows && n[i + 1] == n[i]) { /* rows in pairs where they see as many keys */
                block_sum(scores + i * KEY_BLOCK, scores + (i + 1) * KEY_BLOCK, n[i], vb, a->hd,
                          out, out + a->ldo);
                i++;
            } else {
                block_sum(scores + i * KEY_BLOCK, NULL, n[i], vb, a->hd, out, NULL);
            }
        }
    }
    for (size_t i = 0; i < rows; i++) {
        float inv = 1.0f / l[i], *out = a->out + (r0 + i) * a->ldo + col;
        for (size_t c = 0; c < a->hd; c++)
            out[c] *= inv;
    }
}

static void attn_items(const void *args, size_t begin, size_t end)
{
    const attn_args *a = args;
    for (size_t item = begin; item < end; item++) {
        size_t h = item / a->n_blocks, r0 = (item % a->n_blocks) * a->block;
        attend_block(a, h, r0, r0 + a->block < a->tq ? r0 + a->block : a->tq);
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
