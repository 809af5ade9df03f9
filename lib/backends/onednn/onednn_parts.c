/* The sum of a product's parts (onednn_parts.h). Split by rows, each thread
 * writes whole rows of y, as the products after it read them. */
#include "backends/onednn/onednn_parts.h"

#include "backends/cpu/cpu_parallel.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include "backends/cpu/vec_math_avx512.h"

__attribute__((target("avx512f"))) static void add_rows(const void *args, size_t begin, size_t end)
{
    const ce_dnnl_parts *s = args;
    for (size_t r = begin; r < end; r++) {
        float *yr = s->y + r * s->ldy;
        for (size_t j = 0; j < s->out; j += 16) {
            size_t n = s->out - j < 16 ? s->out - j : 16;
            __mmask16 m = (__mmask16)((1u << n) - 1u);
            __m512 sum = _mm512_maskz_loadu_ps(m, s->p[0] + r * s->out + j);
            for (size_t i = 1; i < s->parts; i++)
                sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(m, s->p[i] + r * s->out + j));
            __m512 b = s->bias ? _mm512_maskz_loadu_ps(m, s->bias + j) : _mm512_setzero_ps();
            ce_vm16_store_sums(yr + j, m, sum, b, s->accumulate, s->act);
        }
        ce_vm_activate_row(s->act, yr, s->out);
    }
}

void ce_dnnl_add_parts(void *ctx, const ce_dnnl_parts *s)
{
    ce_cpu_parallel_for(ctx, s->rows, 1, 1, add_rows, s);
}

#else

void ce_dnnl_add_parts(void *ctx, const ce_dnnl_parts *s)
{
    (void)ctx, (void)s;
}

#endif
