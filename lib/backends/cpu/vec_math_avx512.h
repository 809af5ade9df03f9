/* Internal: the two GELUs on 16 floats at once, with AVX-512F intrinsics.
 *
 * For epilogues that run while matrix units wait (onednn_amx.c): there the
 * scalar ce_vm_gelu_erf, vectorised by the compiler, cost a fifth of BERT's
 * forward in bf16, mostly in its division (a 16-lane vdivps issues once per
 * 16 cycles) and in the separate multiplies and adds of a build without
 * contraction. Here the reciprocal is rcp14 and one Newton step (relative
 * error below 1e-7), exp's reduction and polynomial use FMA, and 2^n is
 * vscalefps. GELU with tanh takes vec_math.h's formula, GELU with erf a
 * table of polynomials (below); both within 1e-6 * max(1, |x|) of libm's
 * (checked on the dense grids of test-backend-parity). NaN in gives NaN out.
 *
 * Include only where AVX-512F may be used: every function here must be
 * inlined into one compiled for it (target("avx512f")). */
#ifndef CE_BACKENDS_CPU_VEC_MATH_AVX512_H
#define CE_BACKENDS_CPU_VEC_MATH_AVX512_H

#include <immintrin.h>

#include "backends/cpu/vec_gelu_table.h"
#include "backends/cpu/vec_math.h"
#include "contextembed/backend.h"

#define CE_VM16 __attribute__((target("avx512f"), always_inline)) static inline

/* 1 / d for d >= 1 (both uses): rcp14 (14 bits) and one Newton step. */
CE_VM16 __m512 ce_vm16_recip(__m512 d)
{
    __m512 t = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
}

/* exp(w) for w <= 0: results below the normal range go to the subnormals
 * and zero with vscalefps, as they should; w < CE_VM_EXP_LO is clamped
 * there (its true value is below 1.2e-38 and only ever multiplies a
 * tail that is dropped anyway). */
CE_VM16 __m512 ce_vm16_exp_neg(__m512 w)
{
    w = _mm512_max_ps(w, _mm512_set1_ps(CE_VM_EXP_LO));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(w, _mm512_set1_ps(CE_VM_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CE_VM_LN2_HI), w);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CE_VM_LN2_LO), r);
    /* Taylor to degree 7, |r| <= ln2 / 2: truncation below 5e-9 */
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 0.5 x (1 + erf(x / sqrt 2)) = max(x, 0) - z Phi(-z), z = |x|, with Phi(-z)
 * a polynomial of degree 4 on each of 32 intervals of [0, 6) (coefficients
 * picked with vpermt2ps from vec_gelu_table.h) and 0 past 6, where z Phi(-z)
 * is below 1e-8: error within 8e-8 * max(1, |x|) (scripts/fit_gelu.py),
 * half the instructions of erfc by Abramowitz & Stegun 7.1.26 with exp and a
 * reciprocal (ce_vm_gelu_erf), which took a BERT-base GELU product at 128
 * rows in bf16 from 385 to 455 us. Infinities and NaN are not below 6: +inf
 * gives +inf, -inf 0, NaN NaN (max keeps its second operand's NaN). */
CE_VM16 __m512 ce_vm16_gelu_erf(__m512 x)
{
    const float(*c)[CE_VM_GELU_INTERVALS] = ce_vm_gelu_table;
    __m512 z = _mm512_abs_ps(x);
    __m512 s = _mm512_mul_ps(z, _mm512_set1_ps(CE_VM_GELU_INTERVALS / CE_VM_GELU_Z_MAX));
    s = _mm512_min_ps(s, _mm512_set1_ps(CE_VM_GELU_INTERVALS - 0x1p-19f)); /* k <= 31 */
    __m512i k = _mm512_cvttps_epi32(s);
    __m512 v = _mm512_sub_ps(s, _mm512_cvtepi32_ps(k));
    __m512 p = _mm512_permutex2var_ps(_mm512_load_ps(c[CE_VM_GELU_DEGREE]), k,
                                      _mm512_load_ps(c[CE_VM_GELU_DEGREE] + 16));
    for (int d = CE_VM_GELU_DEGREE - 1; d >= 0; d--)
        p = _mm512_fmadd_ps(p, v,
                            _mm512_permutex2var_ps(_mm512_load_ps(c[d]), k, _mm512_load_ps(c[d] + 16)));
    __mmask16 near = _mm512_cmp_ps_mask(z, _mm512_set1_ps(CE_VM_GELU_Z_MAX), _CMP_LT_OQ);
    __m512 relu = _mm512_max_ps(_mm512_setzero_ps(), x);
    return _mm512_mask_sub_ps(relu, near, relu, _mm512_mul_ps(z, p));
}

/* x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), as ce_vm_gelu_tanh:
 * exp(-2|u|) never overflows, and sigmoid(-v) = 1 - sigmoid(v) is taken as
 * e / (1 + e) with the same reciprocal. */
CE_VM16 __m512 ce_vm16_gelu_tanh(__m512 x)
{
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f),
                             _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x2), x, x));
    __m512 e = ce_vm16_exp_neg(_mm512_mul_ps(_mm512_set1_ps(-2.0f), _mm512_abs_ps(u)));
    __m512 s = ce_vm16_recip(_mm512_add_ps(_mm512_set1_ps(1.0f), e));
    __mmask16 pos = _mm512_cmp_ps_mask(u, _mm512_setzero_ps(), _CMP_GE_OQ);
    s = _mm512_mask_mul_ps(_mm512_mul_ps(e, s), pos, s, _mm512_set1_ps(1.0f));
    return _mm512_mul_ps(x, s);
}

/* A product's activation on 16 sums in registers: the GELUs here, ReLU;
 * the identity for the rest (sigmoid and tanh: ce_vm_activate_row after). */
CE_VM16 __m512 ce_vm16_activate(ce_backend_activation act, __m512 v)
{
    switch (act) {
    case CE_BACKEND_ACT_GELU_ERF: return ce_vm16_gelu_erf(v);
    case CE_BACKEND_ACT_GELU_TANH: return ce_vm16_gelu_tanh(v);
    case CE_BACKEND_ACT_RELU: return _mm512_max_ps(v, _mm512_setzero_ps());
    default: return v;
    }
}

/* The end of a product's 16 sums s (lanes m) into y: + b (the bias's 16
 * values, or zeros), + y itself when accumulating, the activation; in that
 * order everywhere, the residual last, so that no sum is rounded at its
 * scale. */
CE_VM16 void ce_vm16_store_sums(float *y, __mmask16 m, __m512 s, __m512 b, int accumulate,
                                ce_backend_activation act)
{
    s = _mm512_add_ps(s, b);
    if (accumulate)
        s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, y));
    _mm512_mask_storeu_ps(y, m, ce_vm16_activate(act, s));
}

/* In place over v[0, n): the activations ce_vm16_activate leaves, sigmoid
 * and tanh (scalar, vectorised by the compiler where this is inlined). */
CE_VM16 void ce_vm_activate_row(ce_backend_activation act, float *v, size_t n)
{
    if (act == CE_BACKEND_ACT_SIGMOID)
        for (size_t j = 0; j < n; j++)
            v[j] = ce_vm_sigmoid(v[j]);
    else if (act == CE_BACKEND_ACT_TANH)
        for (size_t j = 0; j < n; j++)
            v[j] = ce_vm_tanh(v[j]);
}

#endif
