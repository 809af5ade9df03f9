/* contextembed bench: the plain BLIS sgemm baseline on the model's Linear shapes,
 * with B transposed as Linear weights [out, in] are used. */
#include <stdlib.h>

#include "bench.h"
#include "ce_config.h"

#if CE_HAVE_BLIS
#include <blis.h>

static void run_layer(const bench_gemm *g, const float *a, const float *w, float *c,
                      rntm_t *rntm)
{
    float one = 1.0f, zero = 0.0f;
    for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++)
        for (size_t r = 0; r < g[i].count; r++)
            bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, (dim_t)g[i].m, (dim_t)g[i].n,
                         (dim_t)g[i].k, &one, (float *)a, (inc_t)g[i].k, 1, (float *)w,
                         (inc_t)g[i].k, 1, &zero, c, (inc_t)g[i].n, 1, NULL, rntm);
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

/* A warm-up, then @p samples timings of one layer's calls on @p threads threads. */
static void time_layers(const bench_gemm *g, const float *a, const float *w, float *c,
                        int threads, double *times, size_t samples)
{
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(threads, &rntm);
    run_layer(g, a, w, c, &rntm);
    for (size_t r = 0; r < samples; r++) {
        double t0 = cli_bench_now();
        run_layer(g, a, w, c, &rntm);
        times[r] = cli_bench_now() - t0;
    }
}

double cli_bench_sgemm_gflops(const bench_dims *d, int threads, int runs)
{
    bench_gemm g[BENCH_LAYER_GEMMS];
    cli_bench_layer_gemms(d, g);
    size_t a_size = 0, w_size = 0, c_size = 0;
    for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++) {
        a_size = max_size(a_size, g[i].m * g[i].k);
        w_size = max_size(w_size, g[i].n * g[i].k);
        c_size = max_size(c_size, g[i].m * g[i].n);
    }
    float *a = filled(a_size), *w = filled(w_size), *c = filled(c_size);
    /* One sample per layer's worth of calls, as many as the forward passes timed ran. */
    size_t samples = (size_t)(runs > 0 ? runs : 1) * (d->layers ? d->layers : 1);
    double *times = malloc(samples * sizeof *times), flops = 0;
    double result = -1;
    if (a && w && c && times && runs > 0) {
        time_layers(g, a, w, c, threads, times, samples);
        for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++)
            flops += 2.0 * (double)g[i].m * (double)g[i].n * (double)g[i].k * (double)g[i].count;
        result = flops / cli_bench_median(times, samples) * 1e-9;
    }
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
