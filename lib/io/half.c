/* binary16 / bfloat16 -> binary32 by bit manipulation. */
#include "io/half.h"

#include <string.h>

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Branch-free so that converting a whole checkpoint runs at memory speed. */
static uint32_t half_bits(uint16_t h)
{
    uint32_t em = h & 0x7fffu; /* exponent and mantissa */
    /* Normal: rebias the exponent 15 -> 127 and widen the mantissa. */
    uint32_t bits = (em << 13) + (112u << 23);
    /* Inf / NaN: all-ones exponent; the NaN payload moves to the top of the mantissa. */
    bits += em >= 0x7c00u ? 112u << 23 : 0;
    /* Zero / subnormal: em * 2^-24 is exact in float, and its operands and result
     * are normal floats, so flush-to-zero modes cannot alter it. */
    float sub = (float)em * 0x1p-24f;
    uint32_t sub_bits;
    memcpy(&sub_bits, &sub, sizeof sub_bits);
    bits = em < 0x400u ? sub_bits : bits;
    return ((uint32_t)(h & 0x8000u) << 16) | bits;
}

float ce_half_to_f32(uint16_t h)
{
    return from_bits(half_bits(h));
}

/* bfloat16 is the top half of a float32, by definition. */
float ce_bf16_to_f32(uint16_t b)
{
    return from_bits((uint32_t)b << 16);
}

static uint16_t load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

void ce_half_to_f32_array(const void *src, float *dst, size_t n)
{
    const uint8_t *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = ce_half_to_f32(load_le16(p + 2 * i));
}

void ce_bf16_to_f32_array(const void *src, float *dst, size_t n)
{
    const uint8_t *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = ce_bf16_to_f32(load_le16(p + 2 * i));
}
