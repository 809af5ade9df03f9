/* The onednn backend's bf16 attention on AMX tiles: one head and 32 query
 * rows at a time, all in the calling thread's cache.
 *
 * Why not the two batched oneDNN matmuls of onednn_attention.c: at BERT's 128
 * tokens a layer's attention took 0.21 ms there, mostly not in the products
 * (0.09) but in what surrounds them: rounding Q, K and V in separate passes,
 * one parallel region per step, the softmax over all heads' scores through
 * memory, copying the heads' sums back into rows. Here a thread takes whole
 * heads and, per head:
 *   - rounds the keys to bf16 as the B operand of Q K^T: pairs of head
 *     columns side by side per key, [hd/2][tk][2] (a 16-key tile then reads
 *     16 pairs with a row stride of 4 tk bytes), and the values as that of
 *     P V: pairs of keys side by side per head column, [tk/2][hd][2];
 *   - for every 32 query rows: the queries rounded, the scores S = Q K^T in
 *     float32 (2 x 2 tiles, 32 keys at a time), each row's masked softmax
 *     (AVX-512: the scaled maximum, exp and sum in float32, then each
 *     probability rounded to bf16), and P V (2 x 2 tiles, 32 head columns at
 *     a time) into the output rows.
 * Causal rows stop at the last key any of the 32 rows sees. Head widths and
 * key counts are padded to 32 with zeros (no product changes; a padded key
 * gets probability 0). The roundings are the contract's of the slot at bf16
 * (test-attention-bf16.c), the same as onednn_attention.c. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/onednn/onednn_amx_attention.h"
#include "backends/onednn/onednn_amx_tiles.h"
#include "backends/ref/ref.h"

#if CE_AMX_X86

#include "backends/cpu/vec_math_avx512.h"

#define ROWS 32 /* query rows per block: two tiles */
#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

typedef struct amx_attn {
    size_t heads, hd, hdp, tq, tk, tkp, groups, group_rows;
    const float *q, *k, *v;
    size_t ldq, ldk, ldv, ldo;
    float scale;
    int causal;
    size_t q_offset;
    float *out;
    float *scratch[CE_CPU_MAX_THREADS];
} amx_attn;

/* A thread's buffers, all in its scratch, each a multiple of 64 bytes. */
typedef struct head_bufs {
    uint16_t *k; /* keys [hdp / 2][tkp][2] */
    uint16_t *v; /* values [tkp / 2][hdp][2] */
    uint16_t *q; /* a block's queries [ROWS][hdp] */
    uint16_t *p; /* its probabilities [ROWS][tkp] */
    float *s;    /* its scores [ROWS][tkp] */
    float *o;    /* its sums [ROWS][hdp] */
} head_bufs;

static size_t up32(size_t n)
{
    return (n + 31) / 32 * 32;
}

static size_t scratch_floats(size_t hdp, size_t tkp)
{
    return hdp * tkp /* keys and values, bf16 */ + ROWS * hdp / 2 + ROWS * tkp / 2 +
           ROWS * tkp + ROWS * hdp;
}

static head_bufs bufs_at(float *f, size_t hdp, size_t tkp)
{
    head_bufs b;
    b.k = (uint16_t *)f;
    b.v = b.k + hdp * tkp;
    b.q = b.v + hdp * tkp;
    b.p = b.q + ROWS * hdp;
    b.s = (float *)(b.p + ROWS * tkp);
    b.o = b.s + ROWS * tkp;
    return b;
}

/* Lanes [c0, c0 + 16) that are below n. */
static inline __mmask16 lanes(size_t c0, size_t n)
{
    if (c0 >= n)
        return 0;
    return n - c0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - c0)) - 1u);
}

/* Values [c0, c0 + 32) of row x (zero from n on), rounded to bf16 in order. */
TARGET static inline __m512i bf16_32(const float *x, size_t c0, size_t n)
{
    __m512 lo = _mm512_maskz_loadu_ps(lanes(c0, n), x + c0);
    __m512 hi = _mm512_maskz_loadu_ps(lanes(c0 + 16, n), x + c0 + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* v[i] = the 16 x 16 dwords transposed: dword j of v[i] is dword i of the
 * v[j] before (four rounds of shuffles: 64 against a scatter per row). */
TARGET static void transpose_16x16(__m512i v[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { /* each 128-bit lane: 4 rows of its 4 columns */
        v[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        v[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        v[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        v[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_i32x4(v[i + j], v[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_i32x4(v[i + j], v[i + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        v[j] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0x88);
        v[j + 8] = _mm512_shuffle_i32x4(t[j], t[j + 8], 0xdd);
    }
}

/* Head h's keys as [hdp / 2][tkp][2]: 16 keys' rows rounded (16 pairs of
 * columns each), transposed so that each pair's 16 keys are one store. */
TARGET static void keys_vnni(const amx_attn *a, size_t h, uint16_t *kv)
{
    uint32_t *d = (uint32_t *)kv;
    for (size_t j0 = 0; j0 < a->tkp; j0 += 16)
        for (size_t c0 = 0; c0 < a->hdp; c0 += 32) {
            __m512i w[16];
            for (size_t j = 0; j < 16; j++) {
                const float *row = j0 + j < a->tk ? a->k + (j0 + j) * a->ldk + h * a->hd : NULL;
                w[j] = row ? bf16_32(row, c0, a->hd) : _mm512_setzero_si512();
            }
            transpose_16x16(w);
            for (size_t p = 0; p < 16; p++)
                _mm512_storeu_si512(d + (c0 / 2 + p) * a->tkp + j0, w[p]);
        }
}

/* Head h's values as [tkp / 2][hdp][2]: two keys' rows rounded together and
 * their words interleaved. */
TARGET static void values_vnni(const amx_attn *a, size_t h, uint16_t *vv)
{
    static const uint16_t order[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                       21, 6, 22, 7,  23, 8, 24, 9,  25, 10, 26,
                                       11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    __m512i idx = _mm512_loadu_si512(order);
    for (size_t j = 0; j < a->tkp; j += 2) {
        const float *r0 = j < a->tk ? a->v + j * a->ldv + h * a->hd : NULL;
        const float *r1 = j + 1 < a->tk ? a->v + (j + 1) * a->ldv + h * a->hd : NULL;
        for (size_t c0 = 0; c0 < a->hdp; c0 += 16) {
            __mmask16 m = lanes(c0, a->hd);
            __m512 x0 = r0 ? _mm512_maskz_loadu_ps(m, r0 + c0) : _mm512_setzero_ps();
            __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1 + c0) : _mm512_setzero_ps();
            __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
            _mm512_storeu_si512(vv + (j / 2 * a->hdp + c0) * 2, _mm512_permutexvar_epi16(idx, both));
        }
    }
}

/* Rows [r0, r0 + nr) of head h's queries rounded as the products round x
 * (ce_cpu_bf16_row), zero past hd; zero rows up to ROWS. */
static void queries(const amx_attn *a, const head_bufs *b, size_t h, size_t r0, size_t nr)
{
    for (size_t r = 0; r < ROWS; r++) {
        uint16_t *d = b->q + r * a->hdp;
        size_t done = 0;
        if (r < nr) {
            ce_cpu_bf16_row(a->q + (r0 + r) * a->ldq + h * a->hd, d, a->hd);
            done = a->hd;
        }
        memset(d + done, 0, (a->hdp - done) * sizeof *d);
    }
}

/* c[32][32] = a[32][32 steps] b[32 steps][32] in four tiles: a bf16 rows
 * (row stride lda), b in pairs of its rows side by side (16 pairs a tile,
 * row stride ldb, the next 16 pairs b_step further), c float32 (row stride
 * ldc); strides in elements. */
static void tiles_32x32(const uint16_t *a, size_t lda, const uint16_t *b, size_t ldb,
                        size_t b_step, size_t steps, float *c, size_t ldc)
{
    long sa = (long)(lda * 2), sb = (long)(ldb * 2), sc = (long)(ldc * 4);
    TILE_ZERO(0);
    TILE_ZERO(1);
    TILE_ZERO(2);
    TILE_ZERO(3);
    for (size_t i = 0; i < steps; i++) {
        const uint16_t *bi = b + i * b_step;
        TILE_LOAD(4, a + i * 32, sa);
        TILE_LOAD(5, a + 16 * lda + i * 32, sa);
        TILE_LOAD(6, bi, sb);
        TILE_LOAD(7, bi + 32, sb);
        TDP(0, 4, 6);
        TDP(1, 4, 7);
        TDP(2, 5, 6);
        TDP(3, 5, 7);
    }
    TILE_STORE(0, c, sc);
    TILE_STORE(1, c + 16, sc);
    TILE_STORE(2, c + 16 * ldc, sc);
    TILE_STORE(3, c + 16 * ldc + 16, sc);
}

/* S = Q K^T for keys [0, kend). */
static void scores(const amx_attn *a, const head_bufs *b, size_t kend)
{
    for (size_t j0 = 0; j0 < kend; j0 += 32)
        tiles_32x32(b->q, a->hdp, b->k + j0 * 2, a->tkp * 2, 32 * a->tkp, a->hdp / 32, b->s + j0,
                    a->tkp);
}

/* The largest of s[0, n) times scale, which is the largest of the scaled
 * scores exactly when scale > 0 (rounding keeps the order): one multiply. */
TARGET static float scaled_max(const float *s, size_t n, float scale)
{
    __m512 sc = _mm512_set1_ps(scale), mx = _mm512_set1_ps(-INFINITY), m2 = mx;
    size_t j = 0;
    if (scale > 0.0f) {
        for (; j + 32 <= n; j += 32) {
            mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + j));
            m2 = _mm512_max_ps(m2, _mm512_loadu_ps(s + j + 16));
        }
        for (; j < n; j += 16)
            mx = _mm512_mask_max_ps(mx, lanes(j, n), mx, _mm512_maskz_loadu_ps(lanes(j, n), s + j));
        return _mm512_reduce_max_ps(_mm512_max_ps(mx, m2)) * scale;
    }
    for (; j < n; j += 16) {
        __mmask16 m = lanes(j, n);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + j), sc));
    }
    return _mm512_reduce_max_ps(mx);
}

/* One row's masked softmax of its scaled scores (s holds keys [0, valid)),
 * rounded to bf16 into p up to kend (zero past valid). Whole vectors first,
 * two at a time, without masks: the softmax was 40 % of the attention. */
TARGET static void probs_row(float *s, size_t valid, size_t kend, float scale, uint16_t *p)
{
    __m512 sc = _mm512_set1_ps(scale), top = _mm512_set1_ps(scaled_max(s, valid, scale));
    __m512 sum = _mm512_setzero_ps(), sum2 = sum;
    size_t j = 0;
    for (; j + 32 <= valid; j += 32) {
        __m512 e = ce_vm16_exp_neg(_mm512_fmsub_ps(_mm512_loadu_ps(s + j), sc, top));
        __m512 e2 = ce_vm16_exp_neg(_mm512_fmsub_ps(_mm512_loadu_ps(s + j + 16), sc, top));
        sum = _mm512_add_ps(sum, e);
        sum2 = _mm512_add_ps(sum2, e2);
        _mm512_storeu_ps(s + j, e);
        _mm512_storeu_ps(s + j + 16, e2);
    }
    for (; j < valid; j += 16) {
        __mmask16 m = lanes(j, valid);
        __m512 e = ce_vm16_exp_neg(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(m, s + j), sc, top));
        sum = _mm512_mask_add_ps(sum, m, sum, e);
        _mm512_mask_storeu_ps(s + j, m, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(sum, sum2)));
    for (j = 0; j + 32 <= valid; j += 32) {
        __m512 lo = _mm512_mul_ps(_mm512_loadu_ps(s + j), inv);
        __m512 hi = _mm512_mul_ps(_mm512_loadu_ps(s + j + 16), inv);
        _mm512_storeu_si512(p + j, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; j < kend; j += 32) {
        __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes(j, valid), s + j), inv);
        __m512 hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes(j + 16, valid), s + j + 16), inv);
        _mm512_storeu_si512(p + j, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
}

/* O = P V over keys [0, kend), rows [r0, r0 + nr) written to head h's
 * columns of the output. */
static void sums(const amx_attn *a, const head_bufs *b, size_t h, size_t r0, size_t nr,
                 size_t kend)
{
    for (size_t d0 = 0; d0 < a->hdp; d0 += 32)
        tiles_32x32(b->p, a->tkp, b->v + d0 * 2, a->hdp * 2, 32 * a->hdp, kend / 32, b->o + d0,
                    a->hdp);
    for (size_t r = 0; r < nr; r++)
        memcpy(a->out + (r0 + r) * a->ldo + h * a->hd, b->o + r * a->hdp, a->hd * sizeof(float));
}

/* Query rows [r0, r0 + nr) of head h, its keys and values already in b. */
static void block(const amx_attn *a, const head_bufs *b, size_t h, size_t r0, size_t nr)
{
    /* the last row sees the most keys */
    size_t kend = up32(ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, r0 + nr - 1));
    queries(a, b, h, r0, nr);
    scores(a, b, kend);
    for (size_t r = 0; r < ROWS; r++) {
        uint16_t *p = b->p + r * a->tkp;
        if (r < nr)
            probs_row(b->s + r * a->tkp,
                      ce_softmax_row_valid(a->tk, a->tk, a->causal, a->q_offset, r0 + r), kend,
                      a->scale, p);
        else
            memset(p, 0, kend * sizeof *p);
    }
    sums(a, b, h, r0, nr, kend);
}

/* Items [begin, end): item i is head i / groups, its rows' group i % groups;
 * a thread's items of one head are consecutive, so it rounds the head's
 * keys and values once. */
static void items_block(const void *args, size_t begin, size_t end)
{
    const amx_attn *a = args;
    int t = ce_cpu_thread_index();
    /* without a parallel region the caller's thread runs it all: the first buffer */
    float *f = t >= 0 && t < CE_CPU_MAX_THREADS && a->scratch[t] ? a->scratch[t] : a->scratch[0];
    head_bufs b = bufs_at(f, a->hdp, a->tkp);
    size_t head = (size_t)-1;
    tiles_on();
    for (size_t i = begin; i < end; i++) {
        size_t h = i / a->groups, g0 = i % a->groups * a->group_rows;
        size_t g1 = a->tq - g0 < a->group_rows ? a->tq : g0 + a->group_rows;
        if (h != head) {
            keys_vnni(a, h, b.k);
            values_vnni(a, h, b.v);
            head = h;
        }
        for (size_t r0 = g0; r0 < g1; r0 += ROWS)
            block(a, &b, h, r0, g1 - r0 < ROWS ? g1 - r0 : ROWS);
    }
    tiles_off();
}

int ce_dnnl_amx_attention_usable(void)
{
    uint32_t f = ce_cpu_features();
    return (f & CE_CPU_AMX_BF16) && (f & CE_CPU_AVX512) && (f & CE_CPU_AVX512_BF16) &&
           ce_amx_tiles_permitted();
}

int ce_dnnl_amx_attention(void *ctx, size_t heads, size_t hd, size_t tq, size_t tk,
                          const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                          size_t ldv, float scale, int causal, size_t q_offset, float *out,
                          size_t ldo)
{
    if (!heads || !hd || !tq || !tk || !ce_dnnl_amx_attention_usable())
        return 0;
    amx_attn a = {.heads = heads,
                  .hd = hd,
                  .hdp = up32(hd),
                  .tq = tq,
                  .tk = tk,
                  .tkp = up32(tk),
                  .q = q,
                  .k = k,
                  .v = v,
                  .ldq = ldq,
                  .ldk = ldk,
                  .ldv = ldv,
                  .ldo = ldo,
                  .scale = scale,
                  .causal = causal,
                  .q_offset = q_offset,
                  .out = out};
    int nt = ce_cpu_threads(ctx);
    /* fewer heads than threads: the rows of a head split too (each part
     * rounds the head's keys and values itself) */
    size_t blocks = (tq + ROWS - 1) / ROWS;
    size_t groups = heads >= (size_t)nt ? 1 : ((size_t)nt + heads - 1) / heads;
    groups = groups > blocks ? blocks : groups;
    a.group_rows = (blocks + groups - 1) / groups * ROWS;
    a.groups = (tq + a.group_rows - 1) / a.group_rows;
    for (int t = 0; t < nt; t++)
        if (!(a.scratch[t] = ce_cpu_scratch(ctx, t, scratch_floats(a.hdp, a.tkp))))
            return 0;
    /* an item is worth a thread's wake-up from some 2 M multiply-adds on */
    size_t per_item = a.group_rows * a.tkp * a.hdp * 2;
    size_t grain = per_item >= (2u << 20) ? 1 : (2u << 20) / per_item;
    ce_cpu_parallel_for(ctx, heads * a.groups, grain, 1, items_block, &a);
    return 1;
}

#else

int ce_dnnl_amx_attention_usable(void)
{
    return 0;
}

int ce_dnnl_amx_attention(void *ctx, size_t heads, size_t hd, size_t tq, size_t tk,
                          const float *q, size_t ldq, const float *k, size_t ldk, const float *v,
                          size_t ldv, float scale, int causal, size_t q_offset, float *out,
                          size_t ldo)
{
    (void)ctx, (void)heads, (void)hd, (void)tq, (void)tk, (void)q, (void)ldq, (void)k;
    (void)ldk, (void)v, (void)ldv, (void)scale, (void)causal, (void)q_offset, (void)out;
    (void)ldo;
    return 0;
}

#endif
