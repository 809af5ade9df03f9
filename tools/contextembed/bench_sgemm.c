/* contextembed bench: the plain BLIS sgemm baseline on the model's Linear shapes,
 * with B transposed as Linear weights [out, in] are used.
 *
 * BLIS picks between its "sup" (small/unpacked) and packed GEMM paths by a
 * heuristic that, on BERT's m = 128 projections, picks the slower one (see
 * lib/backends/blis/blis_gemm.c). A baseline a model can beat that way says
 * little, so each shape is timed on both paths and the faster one counts. */
#include <stdlib.h>

#include "bench.h"
#include "ce_config.h"

#if CE_HAVE_BLIS
#include <blis.h>

static void run_gemm(const bench_gemm *g, const float *a, const float *w, float *c,
                     rntm_t *rntm)
{
    float one = 1.0f, zero = 0.0f;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, (dim_t)g->m, (dim_t)g->n, (dim_t)g->k, &one,
                 (float *)a, (inc_t)g->k, 1, (float *)w, (inc_t)g->k, 1, &zero, c, (inc_t)g->n, 1,
                 NULL, rntm);
}

/* Median seconds of one call after a warm-up, over @p samples calls. */
static double time_gemm(const bench_gemm *g, const float *a, const float *w, float *c,
                        rntm_t *rntm, double *times, size_t samples)
{
    run_gemm(g, a, w, c, rntm);
    for (size_t r = 0; r < samples; r++) {
        double t0 = cli_bench_now();
        run_gemm(g, a, w, c, rntm);
        times[r] = cli_bench_now() - t0;
    }
    return cli_bench_median(times, samples);
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

static float *filled(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (float)((i * 7919u) % 2001u) * 1e-3f - 1.0f;
    return v;
}

/* Seconds of one layer's calls, each shape on its faster path. */
static double time_layer(const bench_gemm *g, const float *a, const float *w, float *c,
                         int threads, double *times, size_t samples)
{
    rntm_t sup = BLIS_RNTM_INITIALIZER, packed;
    bli_rntm_set_num_threads(threads, &sup);
    packed = sup;
    bli_rntm_disable_l3_sup(&packed);
    double total = 0;
    for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++) {
        double t_sup = time_gemm(&g[i], a, w, c, &sup, times, samples);
        double t_packed = time_gemm(&g[i], a, w, c, &packed, times, samples);
        total += (double)g[i].count * (t_sup < t_packed ? t_sup : t_packed);
    }
    return total;
}

double cli_bench_sgemm_gflops(const bench_dims *d, int threads, int runs)
{
    bench_gemm g[BENCH_LAYER_GEMMS];
    cli_bench_layer_gemms(d, g);
    size_t a_size = 0, w_size = 0, c_size = 0, samples = 3 * (size_t)(runs > 0 ? runs : 1);
    double flops = 0, result = -1;
    for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++) {
        a_size = max_size(a_size, g[i].m * g[i].k);
        w_size = max_size(w_size, g[i].n * g[i].k);
        c_size = max_size(c_size, g[i].m * g[i].n);
        flops += 2.0 * (double)g[i].m * (double)g[i].n * (double)g[i].k * (double)g[i].count;
    }
    float *a = filled(a_size), *w = filled(w_size), *c = filled(c_size);
    double *times = malloc(samples * sizeof *times);
    if (a && w && c && times)
        result = flops / time_layer(g, a, w, c, threads, times, samples) * 1e-9;
    free(a);
    free(w);
    free(c);
    free(times);
    return result;
}

#else

double cli_bench_sgemm_gflops(const bench_dims *d, int threads, int runs)
{
    (void)d;
    (void)threads;
    (void)runs;
    return -1;
}

#endif
