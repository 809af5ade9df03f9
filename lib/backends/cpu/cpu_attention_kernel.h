/* The vector part of the CPU attention (cpu_attention.c), written once for a
 * vector width: cpu_attention.c includes it for 8 floats (AVX2 and the
 * baseline, as target clones) and for 16 (AVX-512, one target), each with
 * its own names. It defines ATTN(attend_block).
 *
 * Before including: VW (8 or 16) floats per vector; SROWS query rows whose
 * scores are computed together (SROWS * KEY_BLOCK / VW accumulators: 8 ymm
 * for AVX2, 8 zmm for AVX-512, what two FMA ports of latency 4 need);
 * ATTN(name) the name in this width; ATTN_TARGET the attribute of
 * attend_block (target clones, or one target). */

typedef float ATTN(vf) __attribute__((vector_size(VW * 4)));
#define VF ATTN(vf)
#define NV (KEY_BLOCK / VW) /* vectors per row of a key block */
/* block_sum: columns per pass, VW * 4 (four accumulators per row, two rows) */
#define SUM_COLS (VW * 4)

ATTN_INLINE VF ATTN(load)(const float *p)
{
    VF v;
    memcpy(&v, p, sizeof v);
    return v;
}

ATTN_INLINE void ATTN(store)(float *p, VF v)
{
    memcpy(p, &v, sizeof v);
}

/* s[r][0, KEY_BLOCK) = q_r . key j for the block's rows (lds >= KEY_BLOCK),
 * from kt = the key block transposed ([hd][KEY_BLOCK]); columns past the
 * block's nk keys hold copies and are never read. SROWS rows at a time: as
 * many independent sums as the FMA units need to hide their latency. */
ATTN_INLINE void ATTN(block_scores)(const float *q, size_t ldq, size_t rows, const float *kt,
                                    size_t hd, float *s, size_t lds)
{
    size_t r = 0;
    for (; r + SROWS <= rows; r += SROWS) {
        VF acc[SROWS][NV];
        memset(acc, 0, sizeof acc);
        for (size_t p = 0; p < hd; p++) {
            const float *kp = kt + p * KEY_BLOCK;
            VF k[NV];
            for (size_t u = 0; u < NV; u++)
                k[u] = ATTN(load)(kp + VW * u);
            for (size_t i = 0; i < SROWS; i++) {
                float x = q[(r + i) * ldq + p]; /* a scalar times a vector: one broadcast */
                for (size_t u = 0; u < NV; u++)
                    acc[i][u] += x * k[u];
            }
        }
        for (size_t i = 0; i < SROWS; i++)
            for (size_t u = 0; u < NV; u++)
                ATTN(store)(s + (r + i) * lds + VW * u, acc[i][u]);
    }
    for (; r < rows; r++) {
        const float *qr = q + r * ldq;
        VF acc[NV];
        memset(acc, 0, sizeof acc);
        for (size_t p = 0; p < hd; p++) {
            float qp = qr[p];
            const float *kp = kt + p * KEY_BLOCK;
            for (size_t u = 0; u < NV; u++)
                acc[u] += qp * ATTN(load)(kp + VW * u);
        }
        for (size_t u = 0; u < NV; u++)
            ATTN(store)(s + r * lds + VW * u, acc[u]);
    }
}

/* out[0, hd) += sum_j p[j] vb[j] over nk dense value rows, SUM_COLS columns
 * at a time, then one vector at a time, then single columns; with a second
 * row (p1, out1 not NULL), both over the same values. */
ATTN_INLINE void ATTN(block_sum)(const float *p0, const float *p1, size_t nk, const float *vb,
                                 size_t hd, float *out0, float *out1)
{
    size_t c0 = 0;
    for (; c0 + SUM_COLS <= hd; c0 += SUM_COLS) {
        VF a0[4], a1[4];
        memset(a1, 0, sizeof a1);
        for (size_t u = 0; u < 4; u++) {
            a0[u] = ATTN(load)(out0 + c0 + VW * u);
            if (p1)
                a1[u] = ATTN(load)(out1 + c0 + VW * u);
        }
        if (p1)
            for (size_t j = 0; j < nk; j++) {
                float x0 = p0[j], x1 = p1[j];
                const float *vj = vb + j * hd + c0;
                for (size_t u = 0; u < 4; u++) {
                    VF v = ATTN(load)(vj + VW * u);
                    a0[u] += x0 * v;
                    a1[u] += x1 * v;
                }
            }
        else
            for (size_t j = 0; j < nk; j++) {
                float x0 = p0[j];
                const float *vj = vb + j * hd + c0;
                for (size_t u = 0; u < 4; u++)
                    a0[u] += x0 * ATTN(load)(vj + VW * u);
            }
        for (size_t u = 0; u < 4; u++) {
            ATTN(store)(out0 + c0 + VW * u, a0[u]);
            if (p1)
                ATTN(store)(out1 + c0 + VW * u, a1[u]);
        }
    }
    for (; c0 + VW <= hd; c0 += VW) {
        VF a0 = ATTN(load)(out0 + c0), a1 = p1 ? ATTN(load)(out1 + c0) : a0;
        for (size_t j = 0; j < nk; j++) {
            VF v = ATTN(load)(vb + j * hd + c0);
            a0 += p0[j] * v;
            if (p1)
                a1 += p1[j] * v;
        }
        ATTN(store)(out0 + c0, a0);
        if (p1)
            ATTN(store)(out1 + c0, a1);
    }
    for (size_t j = 0; c0 < hd && j < nk; j++)
        for (size_t c = c0; c < hd; c++) {
            out0[c] += p0[j] * vb[j * hd + c];
            if (p1)
                out1[c] += p1[j] * vb[j * hd + c];
        }
}

/* q . k over hd values in VW lanes. */
ATTN_INLINE float ATTN(dot)(const float *q, const float *k, size_t hd)
{
    VF acc;
    memset(&acc, 0, sizeof acc);
    size_t p = 0;
    for (; p + VW <= hd; p += VW)
        acc += ATTN(load)(q + p) * ATTN(load)(k + p);
    float s = 0.0f;
    for (; p < hd; p++)
        s += q[p] * k[p];
    for (size_t w = VW / 2; w >= 1; w /= 2) /* pairwise, halves folded */
        for (size_t u = 0; u < w; u++)
            acc[u] += acc[u + w];
    return s + acc[0];
}

/* One query row (decoding): too few rows to pay for packing the keys, so the
 * scores are dot products on the rows in place, a key block at a time. */
ATTN_INLINE void ATTN(attend_row)(const attn_args *a, size_t h, size_t i)
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
            s[j] = ATTN(dot)(q, a->k + (j0 + j) * a->ldk + col, a->hd);
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
ATTN_TARGET static void ATTN(attend_block)(const attn_args *a, size_t h, size_t r0, size_t r1)
{
    if (r1 - r0 == 1) {
        ATTN(attend_row)(a, h, r0);
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
        ATTN(block_scores)(a->q + r0 * a->ldq + col, a->ldq, rows, kt, a->hd, scores, KEY_BLOCK);
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
                ATTN(block_sum)(scores + i * KEY_BLOCK, scores + (i + 1) * KEY_BLOCK, n[i], vb,
                                a->hd, out, out + a->ldo);
                i++;
            } else {
                ATTN(block_sum)(scores + i * KEY_BLOCK, NULL, n[i], vb, a->hd, out, NULL);
            }
        }
    }
    for (size_t i = 0; i < rows; i++) {
        float inv = 1.0f / l[i], *out = a->out + (r0 + i) * a->ldo + col;
        for (size_t c = 0; c < a->hd; c++)
            out[c] *= inv;
    }
}

#undef VF
#undef NV
#undef SUM_COLS
