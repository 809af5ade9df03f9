/* Internal: a model's named tensors, from one safetensors file or from the
 * shards of a model.safetensors.index.json, memory-mapped.
 *
 * The architectures ask for each tensor by name with the shape they expect and
 * get float32 data back, zero-copy whenever the file's dtype and alignment
 * allow. Nothing here is exported from the shared library. */
#ifndef CE_IO_WEIGHTS_H
#define CE_IO_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contextembed/common.h"

#define CE_TENSOR_MAX_DIMS 8

typedef enum ce_dtype {
    CE_DTYPE_F32,
    CE_DTYPE_F16,
    CE_DTYPE_BF16,
    CE_DTYPE_F64,
    CE_DTYPE_I64,
    CE_DTYPE_I32,
    CE_DTYPE_I16,
    CE_DTYPE_I8,
    CE_DTYPE_U8,
    CE_DTYPE_BOOL,
} ce_dtype;

typedef struct ce_tensor_info {
    const char *name;
    ce_dtype dtype;
    int ndim;                          /* 0 for a scalar */
    int64_t shape[CE_TENSOR_MAX_DIMS]; /* entries past ndim are 0 */
    const void *data;                  /* inside the mapping, little-endian, any alignment */
    size_t nbytes;                     /* product(shape) * ce_dtype_size(dtype) */
    const char *file;                  /* path of the file holding it */
} ce_tensor_info;

typedef struct ce_weights ce_weights;

/* Bytes per element (BOOL is one byte). */
size_t ce_dtype_size(ce_dtype dtype);
/* The safetensors spelling ("F32", "BF16", ...), static; "?" for a bad value. */
const char *ce_dtype_name(ce_dtype dtype);
/* Parse a safetensors dtype string; false when it is not one of the ten above. */
bool ce_dtype_from_name(const char *name, ce_dtype *out);
/* F32, F16, BF16 or F64. */
bool ce_dtype_is_float(ce_dtype dtype);

/* Open the weights of a model directory: model.safetensors, else
 * model.safetensors.index.json and every shard it names (each one validated,
 * and each tensor the index lists must be in the shard it names). A directory
 * holding only PyTorch pickles (pytorch_model.bin, *.bin, *.pt, *.pth, *.ckpt)
 * gives CE_ERR_UNSUPPORTED with a message saying how to convert them; one
 * without any weights gives CE_ERR_NOT_FOUND; a path that is not a directory
 * CE_ERR_IO. Duplicate tensor names (within or across files) are CE_ERR_FORMAT.
 * On success *out is owned by the caller (ce_weights_close); untouched on
 * failure. */
ce_status ce_weights_open_dir(const char *dir, ce_weights **out);

/* Open one .safetensors file. Ownership as for ce_weights_open_dir. */
ce_status ce_weights_open_file(const char *path, ce_weights **out);

/* Unmap the files and free every conversion buffer. Accepts NULL. */
void ce_weights_close(ce_weights *w);

/* Number of tensors, and the i-th in file order (shards in name order);
 * NULL when i is out of range. Borrowed until ce_weights_close. */
size_t ce_weights_count(const ce_weights *w);
const ce_tensor_info *ce_weights_at(const ce_weights *w, size_t i);

/* Hash lookup by exact name; NULL when absent. Borrowed until ce_weights_close. */
const ce_tensor_info *ce_weights_find(const ce_weights *w, const char *name);

/* Float32 view of tensor @p name, which must have exactly @p ndim dims of
 * @p shape (shape may be NULL when ndim is 0).
 *
 * F32 data that is 4-byte aligned in the mapping is returned in place (zero
 * copy); F16, BF16, F64 or misaligned F32 are converted once into a buffer
 * owned by @p w (freed by ce_weights_close); asking twice returns the same
 * pointer. Errors name the file, the tensor and what was expected vs found:
 * missing -> CE_ERR_NOT_FOUND, wrong ndim/shape -> CE_ERR_FORMAT, integer or
 * bool dtype -> CE_ERR_FORMAT. *out is untouched on failure. Not thread-safe
 * (called while a model is being opened). */
ce_status ce_weights_get_f32(ce_weights *w, const char *name, int ndim, const int64_t *shape,
                             const float **out);

/* The float32 view of tensor @p t of @p w (found by ce_weights_find and
 * checked by the caller), as ce_weights_get_f32 gives it. */
ce_status ce_weights_f32_of(ce_weights *w, const ce_tensor_info *t, const float **out);

/* Whether ce_weights_get_f32_deferred defers conversions (default: no). A
 * model whose linear weights are prepared below float32 asks for it: each
 * weight is then converted just before it is prepared and freed right after,
 * so that the float32 copies of all of them are never held at once. */
void ce_weights_defer_conversions(ce_weights *w, bool defer);

/* ce_weights_get_f32 (same checks and errors), except that when conversions
 * are deferred and the tensor would need one, *out is set to NULL and
 * *deferred to the tensor (valid while @p w is open): the caller converts it
 * later with ce_weights_f32_of;
 * otherwise *deferred is set to NULL. Both untouched on failure. */
ce_status ce_weights_get_f32_deferred(ce_weights *w, const char *name, int ndim,
                                      const int64_t *shape, const float **out,
                                      const ce_tensor_info **deferred);

/* Drop the resident pages of [p, p + bytes) when it lies in one of the
 * mapped files (a backend keeps its own copy of the tensor): the data stays
 * valid and is read again from the file if anyone touches it. Conversion
 * buffers and heap copies are left alone. */
void ce_weights_drop_resident(const ce_weights *w, const void *p, size_t bytes);

/* Free the conversion buffer that is exactly [p, p + bytes) (a backend keeps
 * its own copy of the tensor in another precision and nothing else reads the
 * float32 one); anything else is left alone. The caller must not read p
 * again; ce_weights_get_f32 would convert the tensor anew. Returns whether
 * it freed. */
bool ce_weights_release_converted(ce_weights *w, const void *p, size_t bytes);

/* Bytes held in conversion buffers, for reporting memory use. */
size_t ce_weights_bytes_converted(const ce_weights *w);

/* The most bytes ever held in conversion buffers at once. */
size_t ce_weights_bytes_converted_peak(const ce_weights *w);

/* Bytes of tensor data the weights map (sum of every tensor's nbytes). */
size_t ce_weights_bytes_mapped(const ce_weights *w);

#endif
