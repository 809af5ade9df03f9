/* Internal: IEEE half (binary16) and bfloat16 to float32, exactly.
 *
 * Every 16-bit value of either format is representable in float32, so the
 * conversion is exact: subnormals, signed zeros, infinities and NaN payloads
 * (shifted into the float's mantissa) are all kept, whatever the FPU's
 * denormal flush mode. */
#ifndef CE_IO_HALF_H
#define CE_IO_HALF_H

#include <stddef.h>
#include <stdint.h>

float ce_half_to_f32(uint16_t h);
float ce_bf16_to_f32(uint16_t b);

/* Convert @p n values stored little-endian at @p src (any alignment) into @p dst. */
void ce_half_to_f32_array(const void *src, float *dst, size_t n);
void ce_bf16_to_f32_array(const void *src, float *dst, size_t n);

#endif
