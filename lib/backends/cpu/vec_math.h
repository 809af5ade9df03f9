/* Internal: branch-free float approximations of exp, erf, tanh and sigmoid.
 *
 * Written as static inline scalar code without library calls or branches, so
 * that a loop calling them auto-vectorises. A choice between two computed
 * values goes through ce_vm_select(): with -ftrapping-math (the default) GCC
 * turns `c ? a * b : d`, or a clamp whose condition a later choice repeats,
 * into branches it then refuses to vectorise. No fmaf():
 * without hardware FMA it is a slow library call, and with the build's ISO C
 * mode (-ffp-contract=off) every ISA clone computes the same bits.
 *
 * Accuracy, checked on dense grids by test-backend-parity:
 *   ce_vm_exp      relative error <= 1e-6 on [CE_VM_EXP_LO, CE_VM_EXP_HI]; 0 below,
 *                  +inf above (the true value is < 1.2e-38 or > 2.4e38 there)
 *   ce_vm_erf      absolute error <= 1e-6 everywhere (Abramowitz & Stegun 7.1.26)
 *   ce_vm_tanh     relative error <= 1e-6
 *   ce_vm_sigmoid  relative error <= 1e-6 where the result is a normal float
 * NaN in gives NaN out. */
#ifndef CE_BACKENDS_CPU_VEC_MATH_H
#define CE_BACKENDS_CPU_VEC_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp is accurate where 2^n (n = round(x / ln 2)) is a normal float. */
#define CE_VM_EXP_HI 88.37f  /* n <= 127 */
#define CE_VM_EXP_LO -87.33f /* n >= -126 */

static inline uint32_t ce_vm_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float ce_vm_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* c ? a : b, as bit operations. */
static inline float ce_vm_select(int c, float a, float b)
{
    uint32_t mask = 0u - (uint32_t)(c != 0);
    return ce_vm_float((ce_vm_bits(a) & mask) | (ce_vm_bits(b) & ~mask));
}

/* exp(x) = 2^n exp(r), |r| <= ln2/2, with ln 2 split in two (Cody & Waite) so
 * that n * CE_VM_LN2_HI is exact; exp(r) by its Taylor series to degree 7
 * (truncation < 5e-9, the rest is float rounding). The steps are macros so
 * that a vector version (cpu_attention_kernel.h) computes the same. */
#define CE_VM_ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: adding it rounds to an integer */
#define CE_VM_LOG2E 1.44269504088896341f
#define CE_VM_LN2_HI 0.693359375f /* 9 significant bits */
#define CE_VM_LN2_LO -2.12194440e-4f
/* Horner's scheme, coefficients 1/7!, 1/6!, ..., 1/1!, 1/0! */
#define CE_VM_EXP_TAYLOR(r)                                                                    \
    ((((((((1.0f / 5040.0f) * (r) + 1.0f / 720.0f) * (r) + 1.0f / 120.0f) * (r) +             \
          1.0f / 24.0f) * (r) + 1.0f / 6.0f) * (r) + 0.5f) * (r) + 1.0f) * (r) + 1.0f)
static inline float ce_vm_exp(float x)
{
    float xc = ce_vm_select(x > CE_VM_EXP_HI, CE_VM_EXP_HI, x);
    xc = ce_vm_select(xc < CE_VM_EXP_LO, CE_VM_EXP_LO, xc);
    float t = xc * CE_VM_LOG2E + CE_VM_ROUND_MAGIC;
    float n = t - CE_VM_ROUND_MAGIC;
    int32_t ni = (int32_t)(ce_vm_bits(t) - ce_vm_bits(CE_VM_ROUND_MAGIC));
    float r = xc - n * CE_VM_LN2_HI;
    r = r - n * CE_VM_LN2_LO;
    float y = CE_VM_EXP_TAYLOR(r) * ce_vm_float((uint32_t)(ni + 127) << 23);
    y = ce_vm_select(x > CE_VM_EXP_HI, INFINITY, y);
    return ce_vm_select(x < CE_VM_EXP_LO, 0.0f, y);
}

/* erfc(z) for z >= 0 as t P(t) exp(-z^2), t = 1 / (1 + p z): Abramowitz &
 * Stegun 7.1.26, absolute error <= 1.5e-7. */
static inline float ce_vm_erfc_pos(float z)
{
    float t = 1.0f / (1.0f + 0.3275911f * z);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    return p * t * ce_vm_exp(-z * z);
}

static inline float ce_vm_erf(float x)
{
    return copysignf(1.0f - ce_vm_erfc_pos(fabsf(x)), x);
}

/* 0.5 x (1 + erf(x / sqrt 2)), with 1 + erf(-z) taken as erfc(z) directly so
 * that negative inputs do not lose digits to cancellation. */
static inline float ce_vm_gelu_erf(float x)
{
    float q = ce_vm_erfc_pos(fabsf(x) * 0.70710678118654752f);
    float one_plus_erf = ce_vm_select(x >= 0.0f, 2.0f - q, q);
    return 0.5f * x * one_plus_erf;
}

static inline float ce_vm_sigmoid(float x)
{
    return 1.0f / (1.0f + ce_vm_exp(-x));
}

/* tanh: an odd polynomial below 0.55 (fitted for relative error, 4e-8), above
 * it 1 - 2 / (exp(2|x|) + 1), which loses no digits there. */
static inline float ce_vm_tanh(float x)
{
    float a = fabsf(x);
    float u = a * a;
    float p = 1.645877998e-02f;
    p = p * u - 5.268415636e-02f;
    p = p * u + 1.332094213e-01f;
    p = p * u - 3.333295751e-01f;
    float small = a + a * (u * p);
    float large = 1.0f - 2.0f / (ce_vm_exp(2.0f * a) + 1.0f);
    return copysignf(ce_vm_select(a < 0.55f, small, large), x);
}

/* 0.5 x (1 + tanh(u)) == x * sigmoid(2u): no cancellation for negative x. */
static inline float ce_vm_gelu_tanh(float x)
{
    const float k = 0.7978845608028654f; /* sqrt(2 / pi) */
    float u = k * (x + 0.044715f * x * x * x);
    return x / (1.0f + ce_vm_exp(-2.0f * u));
}

#endif
