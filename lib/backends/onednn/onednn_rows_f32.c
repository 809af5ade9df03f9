/* The onednn backend's float32 products of several rows, on AVX-512.
 *
 * Why not oneDNN's own matmul: in a model's forward pass the weights come
 * from memory, and oneDNN 2.6 (Debian 12) then ran at 63-70 % of the FMA
 * peak where it reached 80 % on the same product with the weight cached.
 * This kernel reads the weight oneDNN prepared, in place: its BA16a64b
 * layout keeps, for each block of 64 outputs, every input's 64 weights in a
 * row, the blocks of 16 inputs one after another, so a block of outputs is
 * one contiguous stream (onednn_gemv.c reads the same layout for one row).
 *
 * Threads split the blocks of 64 outputs (or, with many rows, chunks of
 * rows). A block's weights go KC inputs at a time under all the rows, so
 * they are read from memory once and then from L1 while 6 rows at a time
 * multiply them: 24 accumulators (6 rows x 4 vectors of 16 outputs), four
 * loads of weights and six broadcasts of x per input, the FMA units' limit
 * rather than the loads'. The next chunk's weights are prefetched into L2
 * meanwhile. When x is wide, blocks go in groups of four, each chunk of
 * inputs under all four in turn, so that x's chunk stays cached. Partial
 * sums wait in the thread's scratch (128 rows x 64 a block), starting from
 * zero; the last chunk adds the bias, and y when accumulating,
 * to its accumulators and stores them in y (a residual added first would
 * round every sum at its scale; a pass over the scratch after each block
 * made the products 2-3 % slower).
 *
 * bf16 weights (BA16a64b2a: the same blocks, inputs in pairs) run here too
 * where the CPU's FMAs outrun its VDPBF16PS and it has no AMX: on Intel's
 * cores VDPBF16PS does 32 multiply-adds every other cycle, two FMAs 32 each
 * cycle (BERT-base b1x128 in bf16 on a 2-core Xeon VM without AMX: oneDNN's
 * matmul 141 ms, this kernel 73-76, float32 71-77). The first tile of rows
 * widens each chunk into the thread's scratch as it multiplies it, the
 * others read it there (bf16 2 % slower than float32 at 128 x 768 x 3072 on
 * one core), and each thread rounds the rows of x it reads to bf16, kept as
 * floats: products of bf16 values are exact in float32. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/vec_math.h"
#include "backends/onednn/onednn_gemv.h"
#include "backends/onednn/onednn_parts.h"
#include "backends/onednn/onednn_rows_f32.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ROWS_X86 1
#else
#define ROWS_X86 0
#endif

#define NB 64         /* outputs of a block (the layout's) */
#define MR 6          /* rows the accumulators hold */
#define KC 128        /* inputs of a block's weights in L1 at once (32 KB) */
#define ROW_CHUNK 128 /* rows a block runs before the next block: x stays cached */
/* rows of a chunk when many rows of a wide x (3072 inputs) are split by
 * rows: with 128, a thread's chunk of x (1.5 MB) and the weights streaming
 * by did not both stay in L2 (BERT-base's 1024 x 3072 x 768, 2 threads: 299
 * against 307 GFLOP/s) */
#define WIDE_ROW_CHUNK 64
/* Blocks that go in turn over a chunk of inputs when rows x inputs of x
 * take more than GROUP_X_BYTES (groups of 12 were no faster) */
#define GROUP_MAX 4
#define GROUP_X_BYTES ((size_t)1 << 20)
#define SUMS (GROUP_MAX * ROW_CHUNK * NB) /* a thread's partial sums */
#define AHEAD 1       /* chunks ahead whose weights are prefetched (2-8 measured no faster) */

typedef struct f32_args {
    const char *w; /* float32, or bf16 (es 2) */
    const float *x, *bias;
    size_t es; /* bytes of a weight */
    size_t rows, in, in_padded, out, ldx, ldy;
    size_t row_chunk; /* rows a thread's chunk takes when split by rows */
    float *y;
    int accumulate;
    ce_backend_activation act;
    float *t[CE_CPU_MAX_THREADS]; /* each thread's partial sums, GROUP_MAX x ROW_CHUNK x NB */
    float *wide[CE_CPU_MAX_THREADS]; /* bf16: each thread's chunk of weights widened, KC x NB */
    float *xr[CE_CPU_MAX_THREADS];   /* bf16: each thread's rows of x rounded, ROW_CHUNK x in */
} f32_args;

#if ROWS_X86

#include "backends/cpu/vec_math_avx512.h"

#define AVX512 __attribute__((target("avx512f,prfchw")))
#define KERNEL_INLINE static inline __attribute__((always_inline, target("avx512f,prfchw")))

/* Lines of the next chunk's weights fetched into L2, a few per step. */
typedef struct prefetch {
    const char *src;
    size_t line, lines;
} prefetch;

KERNEL_INLINE void prefetch_one(prefetch *f)
{
    if (f->line < f->lines)
        _mm_prefetch(f->src + 64 * f->line++, _MM_HINT_T1);
}

/* The lines of y a tile's rows will be written to, fetched for writing while
 * the block's first chunk runs: a wide y (GPT-2's logits, 25 MB) is not
 * cached, and its rows' stores, each to a line of its own, then stalled the
 * kernel (the LM head of a 128-token prompt spent 15 of 40 ms there). */
typedef struct yfetch {
    const float *row; /* the first row's first output */
    size_t ldy, line, lines;
} yfetch;

#define Y_LINES 5 /* lines 64 outputs may touch in a row */

KERNEL_INLINE void yfetch_one(yfetch *g)
{
    if (g->line < g->lines) {
        size_t r = g->line / Y_LINES, l = g->line % Y_LINES;
        uintptr_t at = ((uintptr_t)(g->row + r * g->ldy) & ~(uintptr_t)63) + 64 * l;
        __builtin_prefetch((const void *)at, 1, 2);
        g->line++;
    }
}

/* Where the last chunk's sums go: y's rows from the tile's first, with the
 * block's bias and lanes (m[v] empty past the outputs), y when accumulating,
 * the activation. */
typedef struct epilogue {
    float *y; /* the tile's first row, at the block's first output */
    size_t ldy;
    __m512 b[4];
    __mmask16 m[4];
    int accumulate;
    ce_backend_activation act;
} epilogue;

/* c[i][0..3] += x[i][k] * b0..b3 for the tile's M rows. */
KERNEL_INLINE void fma_rows(__m512 c[MR][4], const float *x, size_t ldx, size_t k, __m512 b0,
                            __m512 b1, __m512 b2, __m512 b3, const int M)
{
    for (int i = 0; i < M; i++) {
        __m512 xi = _mm512_set1_ps(x[(size_t)i * ldx + k]);
        c[i][0] = _mm512_fmadd_ps(xi, b0, c[i][0]);
        c[i][1] = _mm512_fmadd_ps(xi, b1, c[i][1]);
        c[i][2] = _mm512_fmadd_ps(xi, b2, c[i][2]);
        c[i][3] = _mm512_fmadd_ps(xi, b3, c[i][3]);
    }
}

/* The tile's sums into t (stride NB): stored when @p first, else added;
 * with @p e (the last chunk), into y. */
KERNEL_INLINE void tile_end(__m512 c[MR][4], float *t, int first, const epilogue *e, const int M)
{
    if (e) {
        for (int i = 0; i < M; i++)
            for (int v = 0; v < 4; v++) {
                const float *p = t + (size_t)i * NB + 16 * v;
                __m512 s = first ? c[i][v] : _mm512_add_ps(_mm512_load_ps(p), c[i][v]);
                ce_vm16_store_sums(e->y + (size_t)i * e->ldy + 16 * v, e->m[v], s, e->b[v],
                                   e->accumulate, e->act);
            }
        return;
    }
    for (int i = 0; i < M; i++)
        for (int v = 0; v < 4; v++) {
            float *p = t + (size_t)i * NB + 16 * v;
            _mm512_store_ps(p, first ? c[i][v] : _mm512_add_ps(_mm512_load_ps(p), c[i][v]));
        }
}

/* Rows [0, M) of x (stride ldx, at the chunk's first input) by the block's
 * weights wb (at the same input) over @p kn inputs, into t (stride NB):
 * stored when @p first, else added; with @p e (the last chunk), into y. */
KERNEL_INLINE void tile(const float *wb, const float *x, size_t ldx, size_t kn, float *t, int first,
                        prefetch *f, yfetch *g, const epilogue *e, const int M)
{
    __m512 c[MR][4];
    for (int i = 0; i < M; i++)
        for (int v = 0; v < 4; v++)
            c[i][v] = _mm512_setzero_ps();
    for (size_t k = 0; k < kn; k++) {
        const float *r = wb + k * NB;
        __m512 b0 = _mm512_load_ps(r), b1 = _mm512_load_ps(r + 16);
        __m512 b2 = _mm512_load_ps(r + 32), b3 = _mm512_load_ps(r + 48);
        if (k % 4 == 0)
            prefetch_one(f);
        else if (k % 4 == 2)
            yfetch_one(g);
        fma_rows(c, x, ldx, k, b0, b1, b2, b3, M);
    }
    tile_end(c, t, first, e, M);
}

/* The same with the weights as bf16 pairs (BA16a64b2a; an odd kn ends on
 * half a pair) at @p src, widened on the way into @p wide (the low half of a
 * pair is the even input, the high half the odd one), where the tiles after
 * this one read them: a pass of its own before the tiles cost the product
 * 6 %, this 2 %. */
KERNEL_INLINE void tile_widening(const uint16_t *src, float *wide, const float *x, size_t ldx,
                                 size_t kn, float *t, int first, prefetch *f, yfetch *g,
                                 const epilogue *e, const int M)
{
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    __m512 c[MR][4];
    for (int i = 0; i < M; i++)
        for (int v = 0; v < 4; v++)
            c[i][v] = _mm512_setzero_ps();
    for (size_t p = 0; p < kn / 2; p++) {
        const __m512i *s = (const __m512i *)(const void *)(src + p * 2 * NB);
        float *w = wide + 2 * p * NB;
        __m512 b[4];
        for (int v = 0; v < 4; v++) {
            b[v] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_load_si512(s + v), 16));
            _mm512_store_ps(w + 16 * v, b[v]);
        }
        if (p % 2 == 0)
            prefetch_one(f);
        else
            yfetch_one(g);
        fma_rows(c, x, ldx, 2 * p, b[0], b[1], b[2], b[3], M);
        for (int v = 0; v < 4; v++) {
            b[v] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_load_si512(s + v), high));
            _mm512_store_ps(w + NB + 16 * v, b[v]);
        }
        fma_rows(c, x, ldx, 2 * p + 1, b[0], b[1], b[2], b[3], M);
    }
    if (kn % 2) {
        const __m512i *s = (const __m512i *)(const void *)(src + kn / 2 * 2 * NB);
        __m512 b[4];
        for (int v = 0; v < 4; v++) {
            b[v] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_load_si512(s + v), 16));
            _mm512_store_ps(wide + (kn - 1) * NB + 16 * v, b[v]);
        }
        fma_rows(c, x, ldx, kn - 1, b[0], b[1], b[2], b[3], M);
    }
    tile_end(c, t, first, e, M);
}

#define TILE_CASES(call)                                                                          \
    switch (m) {                                                                                  \
    case 1: call(1); break;                                                                       \
    case 2: call(2); break;                                                                       \
    case 3: call(3); break;                                                                       \
    case 4: call(4); break;                                                                       \
    case 5: call(5); break;                                                                       \
    default: call(MR); break;                                                                     \
    }

AVX512 static void tile_rows(const float *wb, const float *x, size_t ldx, size_t kn, float *t,
                             int first, prefetch *f, yfetch *g, const epilogue *e, size_t m)
{
#define TILE(M) tile(wb, x, ldx, kn, t, first, f, g, e, M)
    TILE_CASES(TILE)
#undef TILE
}

AVX512 static void tile_rows_widening(const uint16_t *src, float *wide, const float *x,
                                      size_t ldx, size_t kn, float *t, int first, prefetch *f,
                                      yfetch *g, const epilogue *e, size_t m)
{
#define TILE(M) tile_widening(src, wide, x, ldx, kn, t, first, f, g, e, M)
    TILE_CASES(TILE)
#undef TILE
}

/* Block @p blk's epilogue, its outputs' bias and lanes (y is set per tile). */
AVX512 static epilogue block_epilogue(const f32_args *a, size_t blk)
{
    size_t col = blk * NB, nc = a->out - col < NB ? a->out - col : NB;
    epilogue e = {.accumulate = a->accumulate, .act = a->act, .ldy = a->ldy};
    for (size_t v = 0; v < 4; v++) {
        size_t n = nc > 16 * v ? (nc - 16 * v < 16 ? nc - 16 * v : 16) : 0;
        e.m[v] = (__mmask16)((1u << n) - 1u);
        e.b[v] = a->bias ? _mm512_maskz_loadu_ps(e.m[v], a->bias + col + 16 * v)
                         : _mm512_setzero_ps();
    }
    return e;
}

/* The chunk of weights after chunk @p kc of block @p b in a group of @p gn
 * blocks from @p b0 (chunks in the order group_rows runs them; then the
 * next group's first): where it starts and its bytes, 0 past @p end. */
static size_t next_chunk(const f32_args *a, size_t b0, size_t gn, size_t b, size_t kc,
                         size_t end, const char **at)
{
    size_t n_chunks = (a->in + KC - 1) / KC;
    size_t u = kc * gn + (b - b0) + AHEAD;
    size_t nb = u < n_chunks * gn ? b0 + u % gn : b0 + gn + (u - n_chunks * gn) / n_chunks;
    size_t nk = u < n_chunks * gn ? u / gn : (u - n_chunks * gn) % n_chunks;
    size_t k0 = nk * KC, kn = a->in - k0 < KC ? a->in - k0 : KC;
    *at = a->w + (nb * a->in_padded + k0) * NB * a->es;
    return nb < end ? kn * NB * a->es : 0;
}

/* Blocks [b0, b0 + gn) for rows [r0, r1) of x, whose row r0 is at @p x0
 * (stride @p ldx): KC inputs of each block's weights at a time under every
 * row, the group's blocks in turn for each chunk of inputs, so that a chunk
 * of x stays cached while they multiply it (with one block at a time, a wide
 * x (128 rows of 3072, 1.5 MB) came from L3 again for every block: a
 * standalone loop of this kind ran at 155-160 GFLOP/s on one core, 171-183
 * in groups of 4; this kernel's 128 x 3072 x 768, 154-156 -> 160-166). Block
 * b's partial sums are t's (b - b0)-th ROW_CHUNK x NB. The chunk after (of
 * the group, or of the next blocks before @p end) is prefetched meanwhile, a
 * few lines per input. A bf16 weight is widened into @p wide (the thread's
 * buffer) by the first tile of rows. */
AVX512 static void group_rows(const f32_args *a, size_t b0, size_t gn, size_t end, size_t r0,
                              size_t r1, const float *x0, size_t ldx, float *t, float *wide)
{
    size_t row_blocks = (r1 - r0 + MR - 1) / MR;
    epilogue ep[GROUP_MAX];
    for (size_t j = 0; j < gn; j++)
        ep[j] = block_epilogue(a, b0 + j);
    for (size_t k0 = 0, kc = 0; k0 < a->in; k0 += KC, kc++) {
        size_t kn = a->in - k0 < KC ? a->in - k0 : KC;
        int last = k0 + kn >= a->in;
        for (size_t j = 0; j < gn; j++) {
            size_t blk = b0 + j;
            const char *nxt;
            size_t lines = (next_chunk(a, b0, gn, blk, kc, end, &nxt) + 63) / 64;
            const void *chunk = a->w + (blk * a->in_padded + k0) * NB * a->es;
            const float *wk = wide ? wide : chunk;
            float *tb = t + j * ROW_CHUNK * NB;
            size_t per_block = (lines + row_blocks - 1) / row_blocks;
            size_t done = 0;
            for (size_t r = r0; r < r1; r += MR) {
                size_t m = r1 - r < MR ? r1 - r : MR;
                prefetch f = {nxt, done, done + per_block < lines ? done + per_block : lines};
                yfetch g = {a->y + r * a->ldy + blk * NB, a->ldy, 0, k0 == 0 ? m * Y_LINES : 0};
                ep[j].y = a->y + r * a->ldy + blk * NB;
                const float *xr = x0 + (r - r0) * ldx + k0;
                if (r == r0 && wide)
                    tile_rows_widening(chunk, wide, xr, ldx, kn, tb, k0 == 0, &f, &g,
                                       last ? &ep[j] : NULL, m);
                else
                    tile_rows(wk, xr, ldx, kn, tb + (r - r0) * NB, k0 == 0, &f, &g,
                              last ? &ep[j] : NULL, m);
                done = f.lines;
            }
        }
    }
    for (size_t j = 0; j < gn; j++) { /* sigmoid and tanh; a no-op for the rest */
        size_t col = (b0 + j) * NB, nc = a->out - col < NB ? a->out - col : NB;
        for (size_t r = r0; r < r1; r++)
            ce_vm_activate_row(a->act, a->y + r * a->ldy + col, nc);
    }
}

/* Blocks [begin, end) for rows [r0, r1): in groups when a chunk of rows of
 * x is too wide to stay cached over a block's weights. */
AVX512 static void blocks_rows(const f32_args *a, size_t begin, size_t end, size_t r0, size_t r1,
                               const float *x0, size_t ldx, float *t, float *wide)
{
    size_t g = (r1 - r0) * a->in * sizeof(float) > GROUP_X_BYTES ? GROUP_MAX : 1;
    for (size_t b = begin; b < end; b += g)
        group_rows(a, b, end - b < g ? end - b : g, end, r0, r1, x0, ldx, t, wide);
}

static int thread_slot(const f32_args *a)
{
    int t = ce_cpu_thread_index();
    return t >= 0 && t < CE_CPU_MAX_THREADS && a->t[t] ? t : 0;
}

/* Rows [r0, r1) of x as thread @p t's blocks read them: in place for a
 * float32 weight; for a bf16 one rounded into the thread's own buffer, by
 * the thread itself (a parallel pass before the product cost BERT-base 4 %
 * in bf16: x's rows went through memory and the other core's cache once
 * more). */
static const float *rows_of_x(const f32_args *a, int t, size_t r0, size_t r1, size_t *ldx)
{
    if (!a->xr[t]) {
        *ldx = a->ldx;
        return a->x + r0 * a->ldx;
    }
    ce_cpu_bf16_round_rows(r1 - r0, a->in, a->x + r0 * a->ldx, a->ldx, a->xr[t], a->in);
    *ldx = a->in;
    return a->xr[t];
}

/* Blocks [begin, end) for every chunk of rows, the chunks of equal size:
 * each chunk reads all of the blocks' weights, and 132 rows as 128 + 4 read
 * them again for 4 rows (one thread, 132 x 768 x 3072: 144 -> 155 GFLOP/s;
 * 162 at 128 rows). */
static void blocks_part(const void *args, size_t begin, size_t end)
{
    const f32_args *a = args;
    int t = thread_slot(a);
    size_t chunk = ce_dnnl_row_chunk(a->rows, ROW_CHUNK, 1, 1);
    for (size_t r0 = 0; r0 < a->rows; r0 += chunk) {
        size_t r1 = a->rows - r0 < chunk ? a->rows : r0 + chunk, ldx;
        const float *x0 = rows_of_x(a, t, r0, r1, &ldx);
        blocks_rows(a, begin, end, r0, r1, x0, ldx, a->t[t], a->wide[t]);
    }
}

/* Chunks of rows [begin, end) by every block: a thread reads and writes
 * whole rows. */
static void chunks_part(const void *args, size_t begin, size_t end)
{
    const f32_args *a = args;
    int t = thread_slot(a);
    size_t blocks = (a->out + NB - 1) / NB;
    for (size_t i = begin; i < end; i++) {
        size_t r0 = i * a->row_chunk, ldx;
        size_t r1 = a->rows - r0 < a->row_chunk ? a->rows : r0 + a->row_chunk;
        const float *x0 = rows_of_x(a, t, r0, r1, &ldx);
        blocks_rows(a, 0, blocks, r0, r1, x0, ldx, a->t[t], a->wide[t]);
    }
}

/* Split by inputs: part i of @p parts multiplies inputs [k0, k1) of every
 * row by the same inputs of every block, into its own sums p[i] (rows x out,
 * dense); ce_dnnl_add_parts then adds them. For a product whose x is wide
 * (BERT's 3072 -> 768): split by outputs, each thread read all of x, 1.5 MB
 * at 128 rows, half of it from the other core's cache (where the product
 * before wrote it) and again for each block; by inputs a thread reads only
 * its part of x, the part it wrote itself when the product before was split
 * by outputs. */
typedef struct ksplit_args {
    const f32_args *a;
    ce_dnnl_parts sum;
} ksplit_args;

static size_t part_start(const ksplit_args *k, size_t i)
{
    size_t blocks16 = (k->a->in + 15) / 16; /* parts of whole blocks of 16 inputs */
    size_t per = (blocks16 + k->sum.parts - 1) / k->sum.parts * 16;
    return i * per < k->a->in ? i * per : k->a->in;
}

static void ksplit_part(const void *args, size_t begin, size_t end)
{
    const ksplit_args *k = args;
    size_t blocks = (k->a->out + NB - 1) / NB;
    for (size_t i = begin; i < end; i++) {
        size_t k0 = part_start(k, i), k1 = part_start(k, i + 1);
        f32_args sub = *k->a;
        sub.x += k0;
        sub.w += k0 * NB * sub.es;
        sub.in = k1 - k0;
        sub.y = k->sum.p[i];
        sub.ldy = sub.out;
        sub.bias = NULL;
        sub.accumulate = 0;
        sub.act = CE_BACKEND_ACT_NONE;
        if (k1 > k0)
            blocks_part(&sub, 0, blocks);
        else
            memset(sub.y, 0, sub.rows * sub.out * sizeof *sub.y);
    }
}

int ce_dnnl_rows_f32_fits(const dnnl_memory_desc_t *md)
{
    if (md->data_type == dnnl_bf16)
        return ce_dnnl_gemv_fits(md) && (ce_cpu_features() & CE_CPU_AVX512) &&
               ce_cpu_bf16_fma_faster();
    return md->data_type == dnnl_f32 && ce_dnnl_gemv_fits(md);
}

/* Each thread's scratch: partial sums, then (bf16) a widened chunk of
 * weights and rounded rows of x, then @p extra floats (returned in
 * extra_at[t]). 0 when it cannot be had. */
static int take_scratch(void *ctx, f32_args *a, size_t extra, float **extra_at)
{
    size_t wide = a->es == 2 ? KC * NB : 0, xr = a->es == 2 ? ROW_CHUNK * a->in : 0;
    for (int t = 0; t < ce_cpu_threads(ctx); t++) {
        float *s = ce_cpu_scratch(ctx, t, SUMS + wide + xr + extra);
        if (!s)
            return 0;
        a->t[t] = s;
        a->wide[t] = wide ? s + SUMS : NULL;
        a->xr[t] = xr ? s + SUMS + wide : NULL;
        if (extra_at)
            extra_at[t] = s + SUMS + wide + xr;
    }
    return 1;
}

/* Blocks a thread takes at least: it needs some 2 M multiply-adds to pay its
 * wake-up. */
static size_t blocks_grain(size_t rows, size_t in)
{
    size_t per_block = (rows < ROW_CHUNK ? rows : ROW_CHUNK) * in * NB;
    return per_block >= (1u << 21) ? 1 : (1u << 21) / per_block;
}

/* Products of one x: their blocks numbered one after the other. */
typedef struct same_x_args {
    f32_args a[CE_DNNL_SAME_X_MAX];
    size_t n, first[CE_DNNL_SAME_X_MAX + 1];
} same_x_args;

static void same_x_part(const void *args, size_t begin, size_t end)
{
    const same_x_args *s = args;
    int t = thread_slot(&s->a[0]);
    size_t lo, hi, ldx; /* rows <= ROW_CHUNK: one chunk, x rounded once for all products */
    const float *x0 = rows_of_x(&s->a[0], t, 0, s->a[0].rows, &ldx);
    for (size_t i = 0; i < s->n; i++)
        if (ce_dnnl_product_range(s->first[i], s->first[i + 1] - s->first[i], begin, end, &lo, &hi))
            blocks_rows(&s->a[i], lo, hi, 0, s->a[i].rows, x0, ldx, s->a[0].t[t],
                        s->a[0].wide[t]);
}

int ce_dnnl_rows_f32_same_x(void *ctx, size_t n, const ce_dnnl_product *p, size_t rows,
                            const float *x, size_t ldx)
{
    if (n == 0 || n > CE_DNNL_SAME_X_MAX || rows < 2 || rows > ROW_CHUNK)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (p[i].md->data_type != p[0].md->data_type)
            return 0;
    same_x_args s = {.n = n};
    for (size_t i = 0; i < n; i++) {
        s.a[i] = (f32_args){.w = p[i].w,
                            .es = p[i].md->data_type == dnnl_bf16 ? 2 : 4,
                            .x = x,
                            .bias = p[i].bias,
                            .rows = rows,
                            .in = (size_t)p[i].md->dims[0],
                            .in_padded = (size_t)p[i].md->padded_dims[0],
                            .out = (size_t)p[i].md->dims[1],
                            .ldx = ldx,
                            .ldy = p[i].ldy,
                            .y = p[i].y,
                            .act = p[i].act};
        s.first[i + 1] = s.first[i] + (s.a[i].out + NB - 1) / NB;
    }
    if (!take_scratch(ctx, &s.a[0], 0, NULL))
        return 0;
    ce_cpu_parallel_for(ctx, s.first[n], blocks_grain(rows, s.a[0].in), 1, same_x_part, &s);
    return 1;
}

int ce_dnnl_rows_f32(void *ctx, const dnnl_memory_desc_t *md, const void *w, const float *bias,
                     ce_backend_activation act, size_t rows, const float *x, size_t ldx,
                     int accumulate, float *y, size_t ldy)
{
    int nt = ce_cpu_threads(ctx);
    f32_args a = {.w = w,
                  .es = md->data_type == dnnl_bf16 ? 2 : 4,
                  .x = x,
                  .bias = bias,
                  .rows = rows,
                  .in = (size_t)md->dims[0],
                  .in_padded = (size_t)md->padded_dims[0],
                  .out = (size_t)md->dims[1],
                  .ldx = ldx,
                  .ldy = ldy,
                  .y = y,
                  .accumulate = accumulate,
                  .act = act};
    size_t chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
    size_t blocks = (a.out + NB - 1) / NB;
    int wide = ce_dnnl_split_by_inputs(a.in, a.out);
    /* by inputs when x is wide and one chunk of rows would leave threads idle */
    int by_inputs = nt > 1 && chunks < (size_t)nt && wide;
    if (nt > 1 && chunks >= (size_t)nt) {
        int many = rows >= 2 * (size_t)nt * ROW_CHUNK; /* 64 rows were slower below */
        a.row_chunk = ce_dnnl_row_chunk(rows, wide && many ? WIDE_ROW_CHUNK : ROW_CHUNK,
                                        (size_t)nt, 1);
        chunks = (rows + a.row_chunk - 1) / a.row_chunk;
    }
    float *parts[CE_CPU_MAX_THREADS];
    if (!take_scratch(ctx, &a, by_inputs ? rows * a.out : 0, parts))
        return 0;
    if (by_inputs) {
        ksplit_args k = {&a, ce_dnnl_parts_into((size_t)nt, rows, a.out, bias, act, accumulate,
                                                y, ldy)};
        for (int t = 0; t < nt; t++)
            k.sum.p[t] = parts[t];
        ce_cpu_parallel_for(ctx, k.sum.parts, 1, 1, ksplit_part, &k);
        ce_dnnl_add_parts(ctx, &k.sum);
    } else if (nt > 1 && chunks >= (size_t)nt) {
        ce_cpu_parallel_for(ctx, chunks, 1, 1, chunks_part, &a);
    } else {
        ce_cpu_parallel_for(ctx, blocks, blocks_grain(rows, a.in), 1, blocks_part, &a);
    }
    return 1;
}

#else

int ce_dnnl_rows_f32_fits(const dnnl_memory_desc_t *md)
{
    (void)md;
    return 0;
}

int ce_dnnl_rows_f32_same_x(void *ctx, size_t n, const ce_dnnl_product *p, size_t rows,
                            const float *x, size_t ldx)
{
    (void)ctx, (void)n, (void)p, (void)rows, (void)x, (void)ldx;
    return 0;
}

int ce_dnnl_rows_f32(void *ctx, const dnnl_memory_desc_t *md, const void *w, const float *bias,
                     ce_backend_activation act, size_t rows, const float *x, size_t ldx,
                     int accumulate, float *y, size_t ldy)
{
    (void)ctx, (void)md, (void)w, (void)bias, (void)act, (void)rows, (void)x, (void)ldx;
    (void)accumulate, (void)y, (void)ldy;
    return 0;
}

#endif
