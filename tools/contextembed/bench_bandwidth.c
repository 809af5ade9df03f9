/* Memory copy bandwidth with plain pthreads: the bound a decoder that reads
 * all of its weights for every token cannot beat. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_gpt2.h"

typedef struct copy_job {
    char *dst;
    const char *src;
    size_t n;
} copy_job;

static void *copy_slice(void *arg)
{
    copy_job *j = arg;
    memcpy(j->dst, j->src, j->n);
    return NULL;
}

/* One pass: slices copied at once, the first on the calling thread. */
static double copy_pass(char *dst, const char *src, size_t bytes, int threads)
{
    copy_job jobs[64];
    pthread_t tids[64];
    size_t slice = (bytes / (size_t)threads) & ~(size_t)63;
    for (int t = 0; t < threads; t++) {
        size_t off = (size_t)t * slice;
        jobs[t] = (copy_job){dst + off, src + off, t + 1 == threads ? bytes - off : slice};
    }
    double t0 = cli_bench_now();
    int started = 1;
    for (int t = 1; t < threads; t++, started++)
        if (pthread_create(&tids[t], NULL, copy_slice, &jobs[t]) != 0)
            break;
    copy_slice(&jobs[0]);
    for (int t = 1; t < started; t++)
        pthread_join(tids[t], NULL);
    double dt = cli_bench_now() - t0;
    return started == threads ? dt : -1;
}

double cli_bench_copy_gbps(size_t bytes, int threads, int reps)
{
    if (threads < 1 || threads > 64 || reps < 1)
        return -1;
    char *src = malloc(bytes), *dst = malloc(bytes);
    double best = -1;
    if (src && dst) {
        /* Touch every page first: a first-touch page fault is no bandwidth. */
        memset(src, 1, bytes);
        memset(dst, 0, bytes);
        for (int r = 0; r < reps; r++) {
            double dt = copy_pass(dst, src, bytes, threads);
            if (dt <= 0) {
                best = -1;
                break;
            }
            double gbps = 2.0 * (double)bytes / dt * 1e-9;
            best = gbps > best ? gbps : best;
        }
    }
    free(src);
    free(dst);
    return best;
}
