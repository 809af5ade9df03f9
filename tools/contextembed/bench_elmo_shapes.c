/* contextembed bench --elmo: the original ELMo's matmul shapes, and plain BLIS
 * sgemm on them (weights are [in, out], so B is not transposed). */
#include <stdlib.h>

#include "bench.h"
#include "bench_elmo.h"
#include "ce_config.h"

/* elmo_2x4096_512_2048cnn_2xhighway_options.json */
static const size_t widths[] = {1, 2, 3, 4, 5, 6, 7}, nums[] = {32, 32, 64, 128, 256, 512, 1024};
enum { CHARS = 50, CHAR_DIM = 16, CNN = 2048, HIGHWAY = 2, PROJ = 512, CELL = 4096, LAYERS = 2 };
#define CNN_CHUNK 32 /* tokens per convolution GEMM, as lib/architectures/elmo.h */

static void put(elmo_gemm *out, size_t *n, size_t m, size_t cols, size_t k, size_t count)
{
    if (m && count && *n < ELMO_BENCH_MAX_GEMMS)
        out[(*n)++] = (elmo_gemm){m, cols, k, count};
}

size_t cli_bench_elmo_gemms(size_t batch, size_t words, elmo_gemm *out)
{
    size_t steps = words + 2, pos = batch * steps, n = 0;
    for (size_t f = 0; f < sizeof widths / sizeof *widths; f++) {
        size_t npos = CHARS - widths[f] + 1, k = widths[f] * CHAR_DIM;
        put(out, &n, CNN_CHUNK * npos, nums[f], k, pos / CNN_CHUNK);
        put(out, &n, pos % CNN_CHUNK * npos, nums[f], k, 1);
    }
    put(out, &n, pos, CNN, CNN, 2 * HIGHWAY);                /* carry and transform gates */
    put(out, &n, pos, PROJ, CNN, 1);                         /* CNN_proj */
    put(out, &n, pos, 4 * CELL, PROJ, 2 * LAYERS);           /* input to gates, all steps */
    put(out, &n, batch, 4 * CELL, PROJ, 2 * LAYERS * steps); /* h to gates, per step */
    put(out, &n, batch, PROJ, CELL, 2 * LAYERS * steps);     /* W_P_0, per step */
    return n;
}

double cli_bench_elmo_flops(const elmo_gemm *g, size_t n)
{
    double f = 0;
    for (size_t i = 0; i < n; i++)
        f += 2.0 * (double)g[i].m * (double)g[i].n * (double)g[i].k * (double)g[i].count;
    return f;
}

#if CE_HAVE_BLIS
#include <blis.h>

static double time_one(const elmo_gemm *g, float *a, float *b, float *c, rntm_t *rntm,
                       double *times, int samples)
{
    float one = 1.0f, zero = 0.0f;
    for (int r = -1; r < samples; r++) {
        double t0 = cli_bench_now();
        bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)g->m, (dim_t)g->n, (dim_t)g->k,
                     &one, a, (inc_t)g->k, 1, b, (inc_t)g->n, 1, &zero, c, (inc_t)g->n, 1, NULL,
                     rntm);
        if (r >= 0)
            times[r] = cli_bench_now() - t0;
    }
    return cli_bench_median(times, (size_t)samples);
}

static float *filled(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (float)((i * 7919u) % 2001u) * 1e-3f - 1.0f;
    return v;
}

double cli_bench_elmo_sgemm_gflops(const elmo_gemm *g, size_t n, int threads, int samples)
{
    size_t sa = 0, sb = 0, sc = 0;
    for (size_t i = 0; i < n; i++) {
        sa = g[i].m * g[i].k > sa ? g[i].m * g[i].k : sa;
        sb = g[i].k * g[i].n > sb ? g[i].k * g[i].n : sb;
        sc = g[i].m * g[i].n > sc ? g[i].m * g[i].n : sc;
    }
    float *a = filled(sa), *b = filled(sb), *c = filled(sc);
    double *times = malloc((size_t)(samples > 0 ? samples : 1) * sizeof *times), total = 0;
    if (!a || !b || !c || !times || samples < 1) {
        total = -1;
    } else {
        rntm_t sup = BLIS_RNTM_INITIALIZER, packed;
        bli_rntm_set_num_threads(threads, &sup);
        packed = sup;
        bli_rntm_disable_l3_sup(&packed);
        for (size_t i = 0; i < n; i++) {
            double ts = time_one(&g[i], a, b, c, &sup, times, samples);
            double tp = time_one(&g[i], a, b, c, &packed, times, samples);
            total += (double)g[i].count * (ts < tp ? ts : tp);
        }
    }
    free(a);
    free(b);
    free(c);
    free(times);
    return total > 0 ? cli_bench_elmo_flops(g, n) / total * 1e-9 : -1;
}

#else

double cli_bench_elmo_sgemm_gflops(const elmo_gemm *g, size_t n, int threads, int samples)
{
    (void)g, (void)n, (void)threads, (void)samples;
    return -1;
}

#endif
