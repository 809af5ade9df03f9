/* contextembed bench: FLOP counts and timing helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "json_writer.h"

void cli_bench_layer_gemms(const bench_dims *d, bench_gemm out[BENCH_LAYER_GEMMS])
{
    size_t m = d->batch * d->seq;
    out[0] = (bench_gemm){m, d->hidden, d->hidden, 3}; /* query, key, value */
    out[1] = (bench_gemm){m, d->hidden, d->hidden, 1}; /* attention output */
    out[2] = (bench_gemm){m, d->ffn, d->hidden, 1};    /* intermediate */
    out[3] = (bench_gemm){m, d->hidden, d->ffn, 1};    /* output */
}

double cli_bench_forward_flops(const bench_dims *d)
{
    bench_gemm g[BENCH_LAYER_GEMMS];
    cli_bench_layer_gemms(d, g);
    double layer = 0;
    for (size_t i = 0; i < BENCH_LAYER_GEMMS; i++)
        layer += 2.0 * (double)g[i].m * (double)g[i].n * (double)g[i].k * (double)g[i].count;
    /* Scores Q K^T [seq, seq] and context P V [seq, head_dim] for each head:
     * over all heads each is 2 * seq * seq * hidden per sequence. */
    double s = (double)d->seq;
    layer += 2.0 * 2.0 * s * s * (double)d->hidden * (double)d->batch;
    return layer * (double)d->layers;
}

double cli_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cli_bench_median(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void cli_bench_json_number(const char *key, double v, int *first)
{
    cli_json_key(stdout, key, first);
    if (v >= 0)
        printf("%.4g", v);
    else
        fputs("null", stdout);
}
