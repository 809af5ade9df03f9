/* The onednn backend's bf16 products of several rows, on AMX tiles.
 *
 * Why not oneDNN's own matmul: in a model's forward pass the weights come
 * from memory, and oneDNN 2.6 (Debian 12) then waited on them with the tiles
 * idle. This kernel reads the weight oneDNN prepared, in place: its
 * BA16a64b2a layout keeps, for 32 inputs (16 pairs) x 64 outputs, each pair's
 * 64 outputs side by side, so 16 outputs of 16 pairs are one B tile with a
 * row stride of 256 bytes (decoding reads the same layout, onednn_gemv.c).
 *
 * Threads split units of 32 outputs (half a block); up to 128 rows, each
 * takes an even share of the blocks and, done with it, blocks from the back
 * of the other shares (cpu_shares.h). For every 32 rows of x a
 * unit keeps a 32 x 32 product in four C tiles (tmm0-3) and walks the inputs
 * 32 at a time: two A tiles of x (tmm4-5), two B tiles of W (tmm6-7), four
 * TDPBF16PS, each tile loaded serving two products. The unit's weights go
 * K_CHUNK blocks at a time under all its rows, so they are read from memory
 * once and then from L1; the chunk AHEAD on is prefetched a few lines per step
 * meanwhile (the tiles are not renamed: a load that misses stalls them).
 * Partial sums wait in a buffer on the stack; the last chunk's are added to
 * the bias (and y when accumulating) there.
 *
 * Each thread rounds x's rows to bf16 itself, into its own scratch, padded
 * with zero inputs to the weight's padded inputs (oneDNN pads W with zeros)
 * and zero rows to a multiple of 32; the products of padding rows are
 * dropped. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_parallel.h"
#include "backends/cpu/cpu_shares.h"
#include "backends/cpu/vec_math.h"
#include "backends/onednn/onednn_amx.h"
#include "backends/onednn/onednn_amx_tiles.h"
#include "backends/onednn/onednn_gemv.h"
#include "backends/onednn/onednn_parts.h"

#if CE_AMX_X86
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define UNIT 32       /* outputs a unit covers: two tiles */
#define ROWS 32       /* rows per step: two tiles */
#define ROW_CHUNK 128 /* rows a unit runs before the next unit: x stays cached */
#define UNIT_SUMS (ROW_CHUNK / ROWS * 4 * 256) /* a unit's partial sums, floats */
#define K_STEP 32     /* inputs per tile: 16 pairs */
#define K_CHUNK 4     /* k blocks of a unit's weights the rows pass over at once */
#define B_STRIDE 256  /* bytes between pairs in a 64-output block */
/* Chunks ahead whose weights are prefetched, into L2: one chunk ahead into
 * L1 came too late from memory (the weights' 3072-input product of BERT-base
 * at 128 rows took 17 % longer) */
#define AHEAD 3

#if CE_AMX_X86

#include "backends/cpu/vec_math_avx512.h"

static size_t rows_padded(size_t rows)
{
    return (rows + ROWS - 1) / ROWS * ROWS;
}

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int ce_amx_tiles_permitted(void)
{
    static _Atomic int state; /* 0 unknown, 1 granted, -1 refused */
    int s = atomic_load(&state);
    if (s == 0) {
        s = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 ? 1 : -1;
        atomic_store(&state, s);
    }
    return s > 0;
}

typedef struct amx_args {
    const uint16_t *w;
    const float *xf; /* the caller's rows */
    const float *bias;
    size_t rows, in, out, ldxf, ldx, ldy, k_blocks, w_stride_k, w_stride_n;
    size_t row_chunk; /* rows a thread's chunk takes when split by rows */
    float *y;
    int accumulate;
    ce_backend_activation act;
    uint16_t *xb[CE_CPU_MAX_THREADS]; /* each thread's rows rounded to bf16 */
} amx_args;

#define AVX512 __attribute__((target("avx512f")))

/* The weights of the chunk AHEAD chunks on (of this block, or of the next
 * ones), fetched into L2 a few lines per k step while the tiles work on the
 * current one: read in one go before, they stall the tiles while they come
 * from memory. A block's chunk is contiguous (its k blocks are 4 KB apart). */
typedef struct prefetch {
    const uint16_t *src; /* the chunk's first line */
    size_t line, lines, per_step;
} prefetch;

static inline void prefetch_some(prefetch *f)
{
    for (size_t i = 0; i < f->per_step && f->line < f->lines; i++, f->line++)
        __builtin_prefetch(f->src + f->line * 32, 0, 2);
}

/* Rows [r0, r0 + nr) and outputs [n0, n0 + 32) of y from the tiles' sums
 * in t[row tile][output tile][16][16]: bias, y when accumulating, activation. */
AVX512 static void finish(const amx_args *a, const float *t, size_t r0, size_t nr, size_t n0)
{
    for (size_t j = 0; j < 2; j++) {
        size_t nj = n0 + 16 * j;
        if (nj >= a->out)
            break;
        size_t nc = a->out - nj < 16 ? a->out - nj : 16;
        __mmask16 m = (__mmask16)((1u << nc) - 1);
        __m512 b = a->bias ? _mm512_maskz_loadu_ps(m, a->bias + nj) : _mm512_setzero_ps();
        for (size_t r = 0; r < nr; r++)
            ce_vm16_store_sums(a->y + (r0 + r) * a->ldy + nj, m,
                               _mm512_load_ps(t + ((r / 16 * 2 + j) * 16 + r % 16) * 16), b,
                               a->accumulate, a->act);
    }
    for (size_t r = 0; r < nr; r++)
        ce_vm_activate_row(a->act, a->y + (r0 + r) * a->ldy + n0,
                           a->out - n0 < UNIT ? a->out - n0 : UNIT);
}

/* Rows [r0, r0 + 32) by unit u's outputs over k blocks [k0, k1): the sums
 * start at zero (k0 = 0) or from @p c, and end in @p c, and in y when k1 is
 * the last block (nr rows kept). Up to 16 rows take one row of tiles. */
static void rows_32(const amx_args *a, const uint16_t *x0, size_t u, size_t r0, size_t nr,
                    size_t k0, size_t k1, const uint16_t *b, float *c, prefetch *f)
{
    const uint16_t *x1 = x0 + 16 * a->ldx;
    size_t sx = a->ldx * 2;
    int two = nr > 16;
    if (k0 == 0) {
        TILE_ZERO(0);
        TILE_ZERO(1);
        TILE_ZERO(2);
        TILE_ZERO(3);
    } else {
        TILE_LOAD(0, c, 64);
        TILE_LOAD(1, c + 256, 64);
        if (two) {
            TILE_LOAD(2, c + 512, 64);
            TILE_LOAD(3, c + 768, 64);
        }
    }
    for (size_t kb = k0; kb < k1; kb++) {
        const uint16_t *bk = b + (kb - k0) * a->w_stride_k;
        prefetch_some(f);
        TILE_LOAD(4, x0 + kb * K_STEP, sx);
        TILE_LOAD(6, bk, B_STRIDE);
        TILE_LOAD(7, bk + 32, B_STRIDE);
        TDP(0, 4, 6);
        TDP(1, 4, 7);
        if (two) {
            TILE_LOAD(5, x1 + kb * K_STEP, sx);
            TDP(2, 5, 6);
            TDP(3, 5, 7);
        }
    }
    TILE_STORE(0, c, 64);
    TILE_STORE(1, c + 256, 64);
    if (two) {
        TILE_STORE(2, c + 512, 64);
        TILE_STORE(3, c + 768, 64);
    }
    if (k1 == a->k_blocks)
        finish(a, c, r0, nr, u * UNIT);
}

/* Units [u0, u1) of one block of 64 outputs (one or both of its halves) for
 * rows [r0, r1): K_CHUNK k blocks of the weights at a time, which stay in L1
 * while every row passes over them (from L2 they halve the tiles' speed);
 * a unit's partial sums wait in @p c, 16 KB from the next unit's. The halves
 * take turns on each chunk, so the block's weights are read front to back,
 * one stream for the L2's prefetcher: a half at a time over every chunk read
 * two lines of every four, and BERT-base's bf16 products at 128 rows from
 * memory took 10-25 % longer (128 x 3072 x 768: 500 against 390 us). */
static void block_rows(const amx_args *a, const uint16_t *x, size_t u0, size_t u1, size_t last_u,
                       size_t r0, size_t r1, float *c)
{
    size_t steps = (r1 - r0 + ROWS - 1) / ROWS, blk = u0 / 2;
    size_t n_chunks = (a->k_blocks + K_CHUNK - 1) / K_CHUNK;
    for (size_t k0 = 0; k0 < a->k_blocks; k0 += K_CHUNK) {
        size_t k1 = a->k_blocks - k0 < K_CHUNK ? a->k_blocks : k0 + K_CHUNK;
        size_t ahead = blk * n_chunks + k0 / K_CHUNK + AHEAD;
        size_t nb = ahead / n_chunks, nk0 = ahead % n_chunks * K_CHUNK;
        size_t nk1 = a->k_blocks - nk0 < K_CHUNK ? a->k_blocks : nk0 + K_CHUNK;
        prefetch f = {a->w + nb * a->w_stride_n + nk0 * a->w_stride_k, 0,
                      nb * 2 < last_u ? (nk1 - nk0) * a->w_stride_k / 32 : 0, 0};
        size_t calls = (u1 - u0) * steps * (k1 - k0);
        f.per_step = (f.lines + calls - 1) / calls;
        for (size_t u = u0; u < u1; u++) {
            const uint16_t *b = a->w + blk * a->w_stride_n + u % 2 * 64 + k0 * a->w_stride_k;
            for (size_t r = r0; r < r1; r += ROWS) {
                size_t nr = r1 - r < ROWS ? r1 - r : ROWS;
                float *cr = c + (u - u0) * UNIT_SUMS + (r - r0) / ROWS * 4 * 256;
                rows_32(a, x + (r - r0) * a->ldx, u, r, nr, k0, k1, b, cr, &f);
            }
        }
    }
}

/* Units [begin, end) for rows [r0, r1), a block (two units) at a time; the
 * thread runs units up to @p limit next (its weights are prefetched). */
static void units_rows(const amx_args *a, const uint16_t *x, size_t begin, size_t end,
                       size_t limit, size_t r0, size_t r1, float *c)
{
    for (size_t u = begin; u < end;) {
        size_t next = (u / 2 + 1) * 2 < end ? (u / 2 + 1) * 2 : end;
        block_rows(a, x, u, next, limit, r0, r1, c);
        u = next;
    }
}

/* Rows [r0, r1) of x rounded to bf16 into @p xb (row stride ldx, zero past
 * the inputs), and zero rows up to the next 32. */
static void round_rows(const amx_args *a, size_t r0, size_t r1, uint16_t *xb)
{
    size_t padded = rows_padded(r1 - r0);
    for (size_t r = r0; r < r1; r++) {
        uint16_t *d = xb + (r - r0) * a->ldx;
        ce_cpu_bf16_row(a->xf + r * a->ldxf, d, a->in);
        memset(d + a->in, 0, (a->ldx - a->in) * sizeof *d);
    }
    memset(xb + (r1 - r0) * a->ldx, 0, (padded - (r1 - r0)) * a->ldx * sizeof *xb);
}

/* This thread's buffer for rounded rows. Run without a parallel region
 * (one thread, or too little work), the block runs on the caller's thread,
 * whose OpenMP number is its place in a host's own team, maybe past the
 * buffers reserved; being then the only one, it takes the first. */
static uint16_t *rows_buffer(const amx_args *a)
{
    int t = ce_cpu_thread_index();
    uint16_t *xb = t >= 0 && t < CE_CPU_MAX_THREADS ? a->xb[t] : NULL;
    return xb ? xb : a->xb[0];
}

/* Units [begin, end) of the @p n products of one x in a[] (product i's units
 * numbered from first[i] on) for rows [r0, r1), rounded in xb; units up to
 * @p limit come next on this thread. */
static void products_range(const amx_args *a, size_t n, const size_t *first, size_t begin,
                           size_t end, size_t limit, const uint16_t *xb, size_t r0, size_t r1,
                           float *c)
{
    size_t lo, hi;
    for (size_t i = 0; i < n; i++) {
        size_t f = first[i], units = (a[i].out + UNIT - 1) / UNIT;
        size_t lim = limit - f < units ? limit - f : units; /* limit >= end > f when used */
        if (ce_dnnl_product_range(f, units, begin, end, &lo, &hi))
            units_rows(&a[i], xb, lo, hi, lim, r0, r1, c);
    }
}

/* Units [begin, end) of the @p n products of one x for every chunk of rows,
 * x's rows rounded once per chunk. Each thread rounds the rows itself:
 * rounded by two threads, half of them came from the other core's cache at
 * every tile load (BERT-base 128 x 768 x 768: 77 against 50 us). */
static void products_block(const amx_args *a, size_t n, const size_t *first, size_t begin,
                           size_t end)
{
    uint16_t *xb = rows_buffer(a);
    _Alignas(64) float c[2 * UNIT_SUMS];
    for (size_t r0 = 0; r0 < a->rows; r0 += ROW_CHUNK) {
        size_t r1 = a->rows - r0 < ROW_CHUNK ? a->rows : r0 + ROW_CHUNK;
        round_rows(a, r0, r1, xb);
        tiles_on();
        products_range(a, n, first, begin, end, end, xb, r0, r1, c);
        tiles_off();
    }
}

/* Units [begin, end) of one product for every chunk of rows. */
static void units_block(const void *args, size_t begin, size_t end)
{
    static const size_t first = 0;
    products_block(args, 1, &first, begin, end);
}

/* The units of up to CE_DNNL_SAME_X_MAX products of one x and one chunk
 * of rows, shared out between the threads (cpu_shares.h) a block at a time:
 * on a shared machine one core often runs slower than the other for a while,
 * and an even split then waits for it (BERT-base bf16 b1x128 on the Xeon VM,
 * 58 interleaved pairs in three runs: 1.1, 2.5 and 1.6 % faster; the float32
 * kernel, bound by its FMA units, showed no difference). x is rounded once
 * per thread. */
typedef struct shared_args {
    const amx_args *a;
    size_t n, first[CE_DNNL_SAME_X_MAX + 1];
    ce_cpu_shares *shares;
} shared_args;

static void shared_block(const void *args, size_t begin, size_t end)
{
    const shared_args *s = args;
    uint16_t *xb = rows_buffer(s->a);
    _Alignas(64) float c[2 * UNIT_SUMS];
    round_rows(s->a, 0, s->a->rows, xb);
    tiles_on();
    for (size_t t = begin; t < end; t++) {
        size_t b, e, lim;
        while (ce_cpu_shares_next(s->shares, t, &b, &e, &lim))
            products_range(s->a, s->n, s->first, b, e, lim, xb, 0, s->a->rows, c);
        while (ce_cpu_shares_steal(s->shares, t, &b, &e))
            products_range(s->a, s->n, s->first, b, e, e, xb, 0, s->a->rows, c);
    }
    tiles_off();
}

/* Units [0, units) of the products in s (one chunk of rows) on up to nt
 * threads, one per @p grain units at least; falls back to the even split
 * when the shares cannot be made. */
static void run_shared(void *ctx, int nt, size_t units, size_t grain, shared_args *s)
{
    size_t parts = grain ? units / grain : units;
    parts = parts < (size_t)nt ? parts : (size_t)nt;
    ce_cpu_shares shares;
    if (parts > 1 && ce_cpu_shares_init(&shares, units, parts, 2, 2)) {
        s->shares = &shares;
        ce_cpu_parallel_for(ctx, parts, 1, 1, shared_block, s);
        return;
    }
    products_block(s->a, s->n, s->first, 0, units);
}

/* Chunks of rows [begin, end) by every unit: a thread then reads and writes
 * whole rows, as the kernels before and after did (split by outputs, BERT-base
 * at 512 rows spent 2.8 against 1.8 ms in an FFN product, half of x and y
 * moving between the cores' caches). */
static void chunks_block(const void *args, size_t begin, size_t end)
{
    const amx_args *a = args;
    uint16_t *xb = rows_buffer(a);
    _Alignas(64) float c[2 * UNIT_SUMS];
    size_t units = (a->out + UNIT - 1) / UNIT;
    for (size_t i = begin; i < end; i++) {
        size_t r0 = i * a->row_chunk;
        size_t r1 = a->rows - r0 < a->row_chunk ? a->rows : r0 + a->row_chunk;
        round_rows(a, r0, r1, xb);
        tiles_on();
        units_rows(a, xb, 0, units, units, r0, r1, c);
        tiles_off();
    }
}

/* Split by inputs (a wide x, one chunk of rows): part i multiplies its k
 * blocks of every row by those of every unit into its own sums. A thread
 * then rounds and reads only its part of x, the part it wrote itself when
 * the product before was split by outputs: split by outputs, each thread
 * rounded all of x, half of it from the other core's cache (BERT-base's
 * 3072 -> 768 products at 128 rows: 6.9 -> 6.4 ms of the forward, the mean
 * of six interleaved runs each). */
typedef struct ksplit_args {
    const amx_args *a;
    ce_dnnl_parts sum;
} ksplit_args;

static void ksplit_part(const void *args, size_t begin, size_t end)
{
    const ksplit_args *k = args;
    const amx_args *a = k->a;
    size_t per = (a->k_blocks + k->sum.parts - 1) / k->sum.parts;
    for (size_t i = begin; i < end; i++) {
        size_t k0 = i * per < a->k_blocks ? i * per : a->k_blocks;
        size_t k1 = k0 + per < a->k_blocks ? k0 + per : a->k_blocks;
        size_t first = k0 * K_STEP, last = k1 * K_STEP < a->in ? k1 * K_STEP : a->in;
        if (first >= last) {
            memset(k->sum.p[i], 0, a->rows * a->out * sizeof *k->sum.p[i]);
            continue;
        }
        amx_args sub = *a;
        sub.w += k0 * a->w_stride_k;
        sub.xf += first;
        sub.in = last - first;
        sub.k_blocks = k1 - k0;
        sub.y = k->sum.p[i];
        sub.ldy = a->out;
        sub.bias = NULL;
        sub.accumulate = 0;
        sub.act = CE_BACKEND_ACT_NONE;
        units_block(&sub, 0, (a->out + UNIT - 1) / UNIT);
    }
}

int ce_dnnl_amx_fits(const dnnl_memory_desc_t *md)
{
    return md->data_type == dnnl_bf16 && (ce_cpu_features() & CE_CPU_AMX_BF16) &&
           ce_dnnl_gemv_fits(md) && md->padded_dims[0] % K_STEP == 0 &&
           md->padded_dims[1] % 64 == 0 && ce_amx_tiles_permitted();
}

/* Units a thread takes at least: it needs some 4 M multiply-adds to pay
 * its wake-up. */
static size_t units_grain(size_t rows, size_t k_blocks)
{
    size_t per_unit = rows_padded(rows) * k_blocks * K_STEP * UNIT;
    return per_unit >= (1u << 22) ? 1 : (1u << 22) / per_unit;
}

static amx_args args_of(const dnnl_memory_desc_t *md, const uint16_t *w, const float *bias,
                        ce_backend_activation act, size_t rows, const float *x, size_t ldx,
                        int accumulate, float *y, size_t ldy)
{
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    amx_args a = {.w = w,
                  .xf = x,
                  .bias = bias,
                  .rows = rows,
                  .in = (size_t)md->dims[0],
                  .out = (size_t)md->dims[1],
                  .ldxf = ldx,
                  /* 64 bytes past the padded inputs: rows 2^k bytes apart share L1 sets */
                  .ldx = (size_t)md->padded_dims[0] + 32,
                  .ldy = ldy,
                  .k_blocks = (size_t)md->padded_dims[0] / K_STEP,
                  .w_stride_k = (size_t)bd->strides[0],
                  .w_stride_n = (size_t)bd->strides[1],
                  .y = y,
                  .accumulate = accumulate,
                  .act = act};
    return a;
}

/* The threads' buffers for rounded rows (and @p extra floats after them),
 * into a->xb; the floats the rows take, or 0 when out of memory. */
static size_t reserve_rows(void *ctx, int nt, amx_args *a, size_t extra)
{
    size_t chunk = a->rows < ROW_CHUNK ? rows_padded(a->rows) : ROW_CHUNK;
    size_t xb_floats = (chunk * a->ldx + 31) / 32 * 16; /* bf16 in the float scratch */
    for (int t = 0; t < nt; t++)
        if (!(a->xb[t] = (uint16_t *)ce_cpu_scratch(ctx, t, xb_floats + extra)))
            return 0;
    return xb_floats;
}

int ce_dnnl_amx_linear(void *ctx, const dnnl_memory_desc_t *md, const uint16_t *w,
                       const float *bias, ce_backend_activation act, size_t rows, const float *x,
                       size_t ldx, int accumulate, float *y, size_t ldy)
{
    int nt = ce_cpu_threads(ctx);
    /* by rows when every thread gets a chunk; below, by outputs, each
     * thread reading its part of the weights once */
    size_t chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
    int by_rows = nt > 1 && chunks >= (size_t)nt;
    /* Split by rows, the tiles are the limit and an activation between their
     * blocks stalls them (BERT-base's GELU layer at 512 and 8 x 128 rows
     * 4-6 % slower than oneDNN's fused one); split by outputs, the weights
     * coming from memory are, and it fits in while they come (128 rows: the
     * forward 5 % faster). */
    if (act != CE_BACKEND_ACT_NONE && by_rows)
        return 0;
    amx_args a = args_of(md, w, bias, act, rows, x, ldx, accumulate, y, ldy);
    size_t units = (a.out + UNIT - 1) / UNIT;
    /* a part's sums after the rounded rows when split by inputs */
    int by_inputs = nt > 1 && !by_rows && ce_dnnl_split_by_inputs(a.in, a.out);
    size_t xb_floats = reserve_rows(ctx, nt, &a, by_inputs ? rows * a.out : 0);
    if (!xb_floats)
        return 0;
    if (by_inputs) {
        ksplit_args k = {&a, ce_dnnl_parts_into((size_t)nt, rows, a.out, bias, act, accumulate,
                                                y, ldy)};
        for (int t = 0; t < nt; t++)
            k.sum.p[t] = (float *)a.xb[t] + xb_floats;
        ce_cpu_parallel_for(ctx, k.sum.parts, 1, 1, ksplit_part, &k);
        ce_dnnl_add_parts(ctx, &k.sum);
    } else if (by_rows) {
        /* chunks of whole rows of tiles (16) */
        a.row_chunk = ce_dnnl_row_chunk(rows, ROW_CHUNK, (size_t)nt, 16);
        chunks = (rows + a.row_chunk - 1) / a.row_chunk;
        ce_cpu_parallel_for(ctx, chunks, 1, 1, chunks_block, &a);
    } else if (rows <= ROW_CHUNK) {
        shared_args s = {.a = &a, .n = 1};
        run_shared(ctx, nt, units, units_grain(rows, a.k_blocks), &s);
    } else
        ce_cpu_parallel_for(ctx, units, units_grain(rows, a.k_blocks), 2, units_block,
                            &a); /* whole blocks */
    return 1;
}

/* Products of one x: their units (each product's made even, so that no
 * block is split between threads) numbered one after the other. */
typedef struct same_x_args {
    amx_args a[CE_DNNL_SAME_X_MAX];
    size_t n, first_unit[CE_DNNL_SAME_X_MAX + 1];
} same_x_args;

static void same_x_block(const void *args, size_t begin, size_t end)
{
    const same_x_args *s = args;
    products_block(s->a, s->n, s->first_unit, begin, end);
}

int ce_dnnl_amx_same_x(void *ctx, size_t n, const ce_dnnl_product *p, size_t rows,
                       const float *x, size_t ldx)
{
    int nt = ce_cpu_threads(ctx);
    size_t chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
    if (n == 0 || n > CE_DNNL_SAME_X_MAX || rows < 2 || (nt > 1 && chunks >= (size_t)nt))
        return 0;
    same_x_args s = {.n = n};
    for (size_t i = 0; i < n; i++) {
        s.a[i] = args_of(p[i].md, p[i].w, p[i].bias, p[i].act, rows, x, ldx, 0, p[i].y,
                         p[i].ldy);
        size_t units = (s.a[i].out + UNIT - 1) / UNIT;
        s.first_unit[i + 1] = s.first_unit[i] + (units + 1) / 2 * 2;
    }
    if (!reserve_rows(ctx, nt, &s.a[0], 0))
        return 0;
    size_t grain = units_grain(rows, s.a[0].k_blocks);
    if (rows <= ROW_CHUNK) {
        shared_args sh = {.a = s.a, .n = n};
        memcpy(sh.first, s.first_unit, sizeof sh.first);
        run_shared(ctx, nt, s.first_unit[n], grain, &sh);
    } else
        ce_cpu_parallel_for(ctx, s.first_unit[n], grain, 2, same_x_block, &s);
    return 1;
}

#else

int ce_dnnl_amx_fits(const dnnl_memory_desc_t *md)
{
    (void)md;
    return 0;
}

int ce_dnnl_amx_same_x(void *ctx, size_t n, const ce_dnnl_product *p, size_t rows,
                       const float *x, size_t ldx)
{
    (void)ctx, (void)n, (void)p, (void)rows, (void)x, (void)ldx;
    return 0;
}

int ce_dnnl_amx_linear(void *ctx, const dnnl_memory_desc_t *md, const uint16_t *w,
                       const float *bias, ce_backend_activation act, size_t rows, const float *x,
                       size_t ldx, int accumulate, float *y, size_t ldy)
{
    (void)ctx, (void)md, (void)w, (void)bias, (void)act, (void)rows, (void)x, (void)ldx;
    (void)accumulate, (void)y, (void)ldy;
    return 0;
}

#endif
