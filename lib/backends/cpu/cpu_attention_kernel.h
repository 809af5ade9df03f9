/* The vector part of the CPU attention (cpu_attention.c), written once for a
 * vector width: cpu_attention.c includes it for 8 floats (AVX2 and the
 * baseline, as target clones) and for 16 (AVX-512, one target), each with
 * its own names. It defines ATTN(attend_block), ATTN(attend_heads) and, for
 * 16 floats, ATTN(probs_rows).
 *
 * Before including: VW (8 or 16) floats per vector; SR, the broadcast side
 * of a tile: a tile is SR rows (keys for the scores, query rows for the sums)
 * by NC = 2 vectors, SR * NC accumulators (8 ymm of the 16 AVX2 has, 16 zmm
 * of AVX-512's 32), each vector loaded once per step serving SR rows;
 * ATTN(name) the name in this width; ATTN_TARGET the attribute of
 * attend_block (target clones, or one target). */

typedef float ATTN(vf) __attribute__((vector_size(VW * 4)));
typedef int32_t ATTN(vi) __attribute__((vector_size(VW * 4)));
#define VF ATTN(vf)
#define VI ATTN(vi)
#define NC 2
#define TW (NC * VW) /* columns of a tile */
_Static_assert(HEAD_PAD_KEYS % SR == 0, "a head's dense keys end on a whole tile");

ATTN_FN VF ATTN(load)(const float *p)
{
    VF v;
    memcpy(&v, p, sizeof v);
    return v;
}

ATTN_FN void ATTN(store)(float *p, VF v)
{
    memcpy(p, &v, sizeof v);
}

ATTN_FN VF ATTN(splat)(float x)
{
    VF v = {0};
    return v + x;
}

/* m ? a : b lane by lane (m from a comparison: all ones or all zeros). */
ATTN_FN VF ATTN(sel)(VI m, VF a, VF b)
{
    return (VF)(((VI)a & m) | ((VI)b & ~m));
}

/* ce_vm_exp (vec_math.h) on a vector: the same steps, lane by lane. */
ATTN_FN VF ATTN(exp)(VF x)
{
    const VF hi = ATTN(splat)(CE_VM_EXP_HI), lo = ATTN(splat)(CE_VM_EXP_LO);
    const VF magic = ATTN(splat)(CE_VM_ROUND_MAGIC);
    VF xc = ATTN(sel)(x > hi, hi, x);
    xc = ATTN(sel)(xc < lo, lo, xc);
    VF t = xc * CE_VM_LOG2E + magic;
    VF n = t - magic;
    VI ni = (VI)t - (VI)magic;
    VF r = xc - n * CE_VM_LN2_HI;
    r = r - n * CE_VM_LN2_LO;
    VF y = CE_VM_EXP_TAYLOR(r) * (VF)((ni + 127) << 23);
    y = ATTN(sel)(x > hi, ATTN(splat)(INFINITY), y);
    return ATTN(sel)(x < lo, ATTN(splat)(0.0f), y);
}

/* exp(x) for x <= 0 or -inf (0): with 16 floats, ce_vm16_exp_neg (the same
 * reduction and polynomial as ce_vm_exp, scaled by vscalefps: about half
 * the instructions; the exps were an eighth of the attention at 512 tokens),
 * and 0 below CE_VM_EXP_LO as ce_vm_exp gives, so that a masked key's
 * probability is exactly 0. */
ATTN_FN VF ATTN(exp_neg)(VF x)
{
#if VW == 16
    __m512 v = (__m512)x;
    __mmask16 live = _mm512_cmp_ps_mask(v, _mm512_set1_ps(CE_VM_EXP_LO), _CMP_GE_OQ);
    return (VF)_mm512_maskz_mov_ps(live, ce_vm16_exp_neg(v));
#else
    return ATTN(exp)(x);
#endif
}

#if VW == 16
/* The 16 vectors r transposed in place (r[i][j] <- r[j][i]): pairs of rows
 * interleaved, then pairs of pairs, then the 128-bit lanes. */
ATTN_FN void ATTN(transpose16)(__m512 r[16])
{
    __m512 t[16], u[16];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    for (int g = 0; g < 4; g++) {
        __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
        __m512 w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        __m512 v1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, v1, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, v1, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(w0, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(w0, w1, 0xDD);
    }
}
#endif

/* pack_queries (cpu_attention.c); with 16 floats, whole blocks of 16 rows
 * by 16 columns transposed in registers first (one value at a time, the
 * transposition was a twentieth of the attention at 512 tokens). */
ATTN_FN void ATTN(pack_queries)(const attn_args *a, size_t col, size_t r0, size_t rows,
                                size_t prows, float *qt)
{
    size_t done_rows = 0, done_cols = 0;
#if VW == 16
    done_rows = rows / 16 * 16;
    done_cols = a->hd / 16 * 16;
    const __m512 scale = _mm512_set1_ps(a->scale);
    for (size_t i0 = 0; i0 < done_rows; i0 += 16)
        for (size_t p0 = 0; p0 < done_cols; p0 += 16) {
            __m512 r[16];
            for (size_t i = 0; i < 16; i++)
                r[i] = _mm512_mul_ps(_mm512_loadu_ps(a->q + (r0 + i0 + i) * a->ldq + col + p0),
                                     scale);
            ATTN(transpose16)(r);
            for (size_t p = 0; p < 16; p++)
                _mm512_storeu_ps(qt + (p0 + p) * BLOCK_ROWS + i0, r[p]);
        }
#endif
    pack_queries(a, col, r0, rows, prows, qt, done_rows, done_cols);
}

/* Lanes folded pairwise, halves first. */
ATTN_FN float ATTN(hsum)(VF v)
{
    for (size_t w = VW / 2; w >= 1; w /= 2)
        for (size_t u = 0; u < w; u++)
            v[u] += v[u + w];
    return v[0];
}

ATTN_FN float ATTN(hmax)(VF v)
{
    for (size_t w = VW / 2; w >= 1; w /= 2)
        for (size_t u = 0; u < w; u++)
            v[u] = v[u + w] > v[u] ? v[u + w] : v[u];
    return v[0];
}

/* Row scores s[0, n) (already scaled, n >= 1) into probabilities relative
 * to the row's running maximum *m; the running sum *l and the output row
 * o[0, hd) are rescaled by how much the maximum grew. */
ATTN_FN void ATTN(softmax_row)(float *s, size_t n, float *m, float *l, float *o, size_t hd)
{
    VF vmax = ATTN(splat)(-INFINITY);
    size_t j = 0;
    for (; j + VW <= n; j += VW) {
        VF x = ATTN(load)(s + j);
        vmax = ATTN(sel)(x > vmax, x, vmax);
    }
    float mx = ATTN(hmax)(vmax);
    for (; j < n; j++)
        mx = s[j] > mx ? s[j] : mx;
    float m_new = mx > *m ? mx : *m;
    float corr = *m == -INFINITY ? 0.0f : ce_vm_exp(*m - m_new);
    VF vsum = ATTN(splat)(0.0f);
    for (j = 0; j + VW <= n; j += VW) {
        VF e = ATTN(exp)(ATTN(load)(s + j) - m_new);
        ATTN(store)(s + j, e);
        vsum += e;
    }
    float sum = 0.0f;
    for (; j < n; j++) {
        s[j] = ce_vm_exp(s[j] - m_new);
        sum += s[j];
    }
    if (corr != 1.0f)
        for (size_t c = 0; c < hd; c++)
            o[c] *= corr;
    *l = *l * corr + (sum + ATTN(hsum)(vsum));
    *m = m_new;
}

/* st[jj][0, nc * VW) = the scores of SR keys (kb, rows of hd) against a
 * tile of query rows (qt: [hd][BLOCK_ROWS], scaled), st's rows BLOCK_ROWS
 * apart: the scores transposed, so that the softmax runs down columns with
 * whole vectors of rows and no key block is transposed. nc is 1 or NC, a
 * constant where this is inlined. */
ATTN_FN void ATTN(score_tile)(const float *qt, const float *kb, size_t hd, float *st, size_t nc)
{
    VF acc[SR][NC];
    memset(acc, 0, sizeof acc);
    for (size_t p = 0; p < hd; p++) {
        VF q[NC];
        for (size_t u = 0; u < nc; u++)
            q[u] = ATTN(load)(qt + p * BLOCK_ROWS + VW * u);
        for (size_t jj = 0; jj < SR; jj++) {
            float x = kb[jj * hd + p]; /* a scalar times a vector: one broadcast */
            for (size_t u = 0; u < nc; u++)
                acc[jj][u] += x * q[u];
        }
    }
    for (size_t jj = 0; jj < SR; jj++)
        for (size_t u = 0; u < nc; u++)
            ATTN(store)(st + jj * BLOCK_ROWS + VW * u, acc[jj][u]);
}

/* o[i][0, nc * VW) += sum_j pt[j][i] vb[j][...] over nk keys for SR query
 * rows (pt: probabilities transposed, rows BLOCK_ROWS apart; o and vb ld hd);
 * nc is 1 or NC, a constant where this is inlined. */
ATTN_FN void ATTN(sum_tile)(const float *pt, size_t nk, const float *vb, size_t hd, float *o,
                                size_t nc)
{
    VF acc[SR][NC];
    for (size_t i = 0; i < SR; i++)
        for (size_t u = 0; u < nc; u++)
            acc[i][u] = ATTN(load)(o + i * hd + VW * u);
    for (size_t j = 0; j < nk; j++) {
        VF v[NC];
        for (size_t u = 0; u < nc; u++)
            v[u] = ATTN(load)(vb + j * hd + VW * u);
        for (size_t i = 0; i < SR; i++) {
            float x = pt[j * BLOCK_ROWS + i];
            for (size_t u = 0; u < nc; u++)
                acc[i][u] += x * v[u];
        }
    }
    for (size_t i = 0; i < SR; i++)
        for (size_t u = 0; u < nc; u++)
            ATTN(store)(o + i * hd + VW * u, acc[i][u]);
}

/* All hd columns of SR query rows: tiles of TW columns, one of VW, then
 * single columns. */
ATTN_FN void ATTN(sum_rows)(const float *pt, size_t nk, const float *vb, size_t hd, float *o)
{
    size_t c0 = 0;
    for (; c0 + TW <= hd; c0 += TW)
        ATTN(sum_tile)(pt, nk, vb + c0, hd, o + c0, NC);
    if (c0 + VW <= hd) {
        ATTN(sum_tile)(pt, nk, vb + c0, hd, o + c0, 1);
        c0 += VW;
    }
    for (size_t i = 0; c0 < hd && i < SR; i++)
        for (size_t j = 0; j < nk; j++)
            for (size_t c = c0; c < hd; c++)
                o[i * hd + c] += pt[j * BLOCK_ROWS + i] * vb[j * hd + c];
}

/* The online softmax of VW query rows over a key block, down the columns of
 * the transposed scores st[0, nk)[VW] (masked keys are -inf): the rows'
 * running maximum m and sum l are updated, corr gets each row's rescaling of
 * what was summed. Four maxima at once: one would wait on the last. */
ATTN_FN void ATTN(softmax_cols)(float *st, size_t nk, float *m, float *l, float *corr)
{
    VF mx[4];
    for (size_t u = 0; u < 4; u++)
        mx[u] = ATTN(splat)(-INFINITY);
    size_t j = 0;
    for (; j + 4 <= nk; j += 4)
        for (size_t u = 0; u < 4; u++) {
            VF x = ATTN(load)(st + (j + u) * BLOCK_ROWS);
            mx[u] = ATTN(sel)(x > mx[u], x, mx[u]);
        }
    for (; j < nk; j++) {
        VF x = ATTN(load)(st + j * BLOCK_ROWS);
        mx[0] = ATTN(sel)(x > mx[0], x, mx[0]);
    }
    mx[0] = ATTN(sel)(mx[1] > mx[0], mx[1], mx[0]);
    mx[2] = ATTN(sel)(mx[3] > mx[2], mx[3], mx[2]);
    mx[0] = ATTN(sel)(mx[2] > mx[0], mx[2], mx[0]);
    VF m_old = ATTN(load)(m);
    VF m_new = ATTN(sel)(mx[0] > m_old, mx[0], m_old);
    /* rows that have seen no key yet: nothing to rescale, and -inf - 0 gives
     * their masked keys probability 0 (-inf - -inf would be NaN) */
    VI unseen = m_new == ATTN(splat)(-INFINITY);
    VF c = ATTN(sel)(unseen, ATTN(splat)(1.0f), ATTN(exp)(m_old - m_new));
    VF shift = ATTN(sel)(unseen, ATTN(splat)(0.0f), m_new), sum = ATTN(splat)(0.0f);
    for (j = 0; j < nk; j++) {
        VF e = ATTN(exp_neg)(ATTN(load)(st + j * BLOCK_ROWS) - shift);
        ATTN(store)(st + j * BLOCK_ROWS, e);
        sum += e;
    }
    ATTN(store)(l, ATTN(load)(l) * c + sum);
    ATTN(store)(m, m_new);
    ATTN(store)(corr, c);
}

/* q . k over hd values in VW lanes. */
ATTN_FN float ATTN(dot)(const float *q, const float *k, size_t hd)
{
    VF acc;
    memset(&acc, 0, sizeof acc);
    size_t p = 0;
    for (; p + VW <= hd; p += VW)
        acc += ATTN(load)(q + p) * ATTN(load)(k + p);
    float s = 0.0f;
    for (; p < hd; p++)
        s += q[p] * k[p];
    return s + ATTN(hsum)(acc);
}

/* Query row i against heads [h0, h1) (decoding, or a block without
 * scratch): too few rows to pay for packing the keys, so the scores are dot
 * products on the rows in place, ROW_KEYS keys at a time, up to ROW_HEADS
 * heads side by side: a key's row is then read across the heads, one span
 * of memory instead of a few lines a few KB apart per head. Each head's
 * arithmetic is the same whatever the heads beside it. */
ATTN_FN void ATTN(attend_row)(const attn_args *a, size_t i, size_t h0, size_t h1)
{
    float s[ROW_HEADS][ROW_KEYS], m[ROW_HEADS], l[ROW_HEADS];
    size_t hd = a->hd, keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, i);
    for (size_t nh; h0 < h1; h0 += nh) {
        nh = h1 - h0 < ROW_HEADS ? h1 - h0 : ROW_HEADS;
        const float *q = a->q + i * a->ldq + h0 * hd;
        float *out = a->out + i * a->ldo + h0 * hd;
        memset(out, 0, nh * hd * sizeof *out);
        for (size_t h = 0; h < nh; h++) {
            m[h] = -INFINITY;
            l[h] = 0.0f;
        }
        for (size_t j0 = 0; j0 < keys; j0 += ROW_KEYS) {
            size_t nk = keys - j0 < ROW_KEYS ? keys - j0 : ROW_KEYS;
            for (size_t j = 0; j < nk; j++) {
                const float *kr = a->k + (j0 + j) * a->ldk + h0 * hd;
                if (j0 + j + ROW_PREFETCH < keys)
                    for (size_t c = 0; c < nh * hd; c += 16)
                        __builtin_prefetch(kr + ROW_PREFETCH * a->ldk + c, 0, 3);
                for (size_t h = 0; h < nh; h++)
                    s[h][j] = a->scale * ATTN(dot)(q + h * hd, kr + h * hd, hd);
            }
            for (size_t h = 0; h < nh; h++)
                ATTN(softmax_row)(s[h], nk, &m[h], &l[h], out + h * hd, hd);
            for (size_t j = 0; j < nk; j++) {
                const float *vr = a->v + (j0 + j) * a->ldv + h0 * hd;
                if (j0 + j + ROW_PREFETCH < keys)
                    for (size_t c = 0; c < nh * hd; c += 16)
                        __builtin_prefetch(vr + ROW_PREFETCH * a->ldv + c, 0, 3);
                for (size_t h = 0; h < nh; h++)
                    for (size_t c = 0; c < hd; c++)
                        out[h * hd + c] += s[h][j] * vr[h * hd + c];
            }
        }
        for (size_t h = 0; h < nh; h++)
            for (size_t c = 0; c < hd; c++)
                out[h * hd + c] *= 1.0f / l[h];
    }
}

#if VW == 16
/* Probabilities rows [begin, end) of ce_cpu_attention_probs (probs_args);
 * AVX-512 only, as the bf16 attention that calls it needs AMX. */
ATTN_TARGET static void ATTN(probs_rows)(const void *args, size_t begin, size_t end)
{
    const probs_args *a = args;
    for (size_t item = begin; item < end; item++) {
        float *s = a->s + item * a->tk;
        uint16_t *p = a->p + item * a->tk;
        size_t valid = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, item % a->rows);
        VF vmax = ATTN(splat)(-INFINITY);
        size_t j = 0;
        for (; j + VW <= valid; j += VW) {
            VF x = ATTN(load)(s + j) * a->scale;
            vmax = ATTN(sel)(x > vmax, x, vmax);
        }
        float mx = ATTN(hmax)(vmax);
        for (; j < valid; j++)
            mx = a->scale * s[j] > mx ? a->scale * s[j] : mx;
        VF vsum = ATTN(splat)(0.0f);
        for (j = 0; j + VW <= valid; j += VW) {
            VF e = ATTN(exp)(ATTN(load)(s + j) * a->scale - mx);
            ATTN(store)(s + j, e);
            vsum += e;
        }
        float sum = 0.0f;
        for (; j < valid; j++) {
            s[j] = ce_vm_exp(a->scale * s[j] - mx);
            sum += s[j];
        }
        VF inv = ATTN(splat)(1.0f / (sum + ATTN(hsum)(vsum)));
        for (j = 0; j + VW <= valid; j += VW)
            ATTN(store)(s + j, ATTN(load)(s + j) * inv);
        for (; j < valid; j++)
            s[j] *= inv[0];
        ce_cpu_bf16_row(s, p, valid);
        memset(p + valid, 0, (a->tk - valid) * sizeof *p);
    }
}
#endif

/* attend_row compiled for this width's target, to be called directly. */
ATTN_TARGET static void ATTN(attend_heads)(const attn_args *a, size_t i, size_t h0, size_t h1)
{
    ATTN(attend_row)(a, i, h0, h1);
}

/* One head, query rows [r0, r1) (at most BLOCK_ROWS), in the thread's
 * scratch (block_scratch); rows one at a time without it. hk and hv: the
 * head's keys and values already dense (attn_items copies them once per
 * head), or NULL to copy each key block's here. */
ATTN_TARGET static void ATTN(attend_block)(const attn_args *a, size_t h, size_t r0, size_t r1,
                                           const float *hk, const float *hv)
{
    size_t hd = a->hd, col = h * hd, rows = r1 - r0, prows = (rows + VW - 1) / VW * VW;
    float *qt = r1 - r0 > 1 ? ce_cpu_scratch(a->ctx, ce_cpu_thread_index(), a->scratch) : NULL;
    if (!qt) {
        for (size_t i = r0; i < r1; i++)
            ATTN(attend_row)(a, i, h, h + 1);
        return;
    }
    float *o = qt + hd * BLOCK_ROWS, *st = o + BLOCK_ROWS * hd, *kb = st + KEY_BLOCK * BLOCK_ROWS;
    float *vb = kb + KEY_BLOCK * hd;
    float m[BLOCK_ROWS], l[BLOCK_ROWS], corr[BLOCK_ROWS];
    ATTN(pack_queries)(a, col, r0, rows, prows, qt);
    memset(o, 0, prows * hd * sizeof *o);
    for (size_t i = 0; i < prows; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
    }
    size_t keys = ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, r1 - 1);
    for (size_t j0 = 0; j0 < keys; j0 += KEY_BLOCK) {
        size_t nk = keys - j0 < KEY_BLOCK ? keys - j0 : KEY_BLOCK;
        size_t kt = (nk + SR - 1) / SR; /* key tiles */
        const float *kj = hk ? hk + j0 * hd : kb, *vj = hv ? hv + j0 * hd : vb;
        if (!hk)
            pack_rows(a->k, a->ldk, col, hd, j0, nk, kt * SR, kb);
        for (size_t t = 0; t < kt; t++)
            for (size_t i0 = 0; i0 < prows; i0 += TW) {
                float *sti = st + t * SR * BLOCK_ROWS + i0;
                if (i0 + TW <= prows)
                    ATTN(score_tile)(qt + i0, kj + t * SR * hd, hd, sti, NC);
                else
                    ATTN(score_tile)(qt + i0, kj + t * SR * hd, hd, sti, 1);
            }
        for (size_t i = 0; i < prows; i++) { /* keys row i does not see: -inf */
            size_t valid = i < rows ? ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset,
                                                           r0 + i)
                                    : 0;
            for (size_t j = valid <= j0 ? 0 : valid - j0; j < nk; j++)
                st[j * BLOCK_ROWS + i] = -INFINITY;
        }
        for (size_t i0 = 0; i0 < prows; i0 += VW)
            ATTN(softmax_cols)(st + i0, nk, m + i0, l + i0, corr + i0);
        for (size_t i = 0; i < prows; i++)
            if (corr[i] != 1.0f)
                for (size_t c = 0; c < hd; c++)
                    o[i * hd + c] *= corr[i];
        if (!hv)
            pack_rows(a->v, a->ldv, col, hd, j0, nk, nk, vb);
        for (size_t i0 = 0; i0 < prows; i0 += SR)
            ATTN(sum_rows)(st + i0, nk, vj, hd, o + i0 * hd);
    }
    for (size_t i = 0; i < rows; i++) {
        float inv = 1.0f / l[i], *out = a->out + (r0 + i) * a->ldo + col;
        for (size_t c = 0; c < hd; c++)
            out[c] = o[i * hd + c] * inv;
    }
}

#undef VF
#undef VI
#undef NC
#undef TW
