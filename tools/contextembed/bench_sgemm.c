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

static float *filled(size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = (float)((i * 7919u) % 2001u) * 1e-3f - 1.0f;
    return v;
}

double cli_bench_sgemm_gflops(const bench_dims *d, int threads, int runs)
{
    bench_gemm g[BENCH_LAYER_GEMMS];
    cli_bench_layer_gemms(d, g);
    size_t width = d->ffn > d->hidden ? d->ffn : d->hidden, m = g[0].m;
    float *a = filled(m * width), *w = filled(width * width), *c = filled(m * width);
    double *times = malloc((size_t)(runs > 0 ? runs : 1) * sizeof *times), flops = 0;
    double result = -1;
    if (a && w && c && times && runs > 0) {
        rntm_t rntm = BLIS_RNTM_INITIALIZER;
        bli_rntm_set_num_threads(threads, &rntm);
        run_layer(g, a, w, c, &rntm);
        for (int r = 0; r < runs; r++) {
            double t0 = cli_bench_now();
            run_layer(g, a, w, c, &rntm);
            times[r] = cli_bench_now() - t0;
        }
        for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++)
            flops += 2.0 * (double)g[i].m * (double)g[i].n * (double)g[i].k * (double)g[i].count;
        result = flops / cli_bench_median(times, (size_t)runs) * 1e-9;
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
