/**
 * @file common.h
 * @brief Status codes, error messages, logging and version queries.
 *
 * Every fallible call of libcontextembed returns a ::ce_status. On failure the
 * call leaves its output parameters untouched and stores a detailed message in
 * a thread-local slot read with ce_last_error().
 */
#ifndef CONTEXTEMBED_COMMON_H
#define CONTEXTEMBED_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(CE_BUILDING_LIBRARY)
#    define CE_API __declspec(dllexport)
#  else
#    define CE_API
#  endif
#elif defined(__GNUC__)
#  define CE_API __attribute__((visibility("default")))
#else
#  define CE_API
#endif

/** Result of every fallible call. 0 is success; values never change meaning. */
typedef enum ce_status {
    CE_OK = 0,                   /**< success */
    CE_ERR_INVALID_ARGUMENT = 1, /**< NULL where a value is required, bad enum, bad option value */
    CE_ERR_OUT_OF_MEMORY = 2,    /**< an allocation failed */
    CE_ERR_IO = 3,               /**< a file could not be opened, mapped or read */
    CE_ERR_FORMAT = 4,           /**< a file is corrupt, truncated or inconsistent */
    CE_ERR_UNSUPPORTED = 5,      /**< valid input this library does not handle (e.g. pytorch_model.bin) */
    CE_ERR_INVALID_UTF8 = 6,     /**< text is not valid UTF-8 */
    CE_ERR_TOO_LONG = 7,         /**< a sequence exceeds the model's maximum length */
    CE_ERR_BUFFER_TOO_SMALL = 8, /**< a caller buffer's capacity is below what is needed */
    CE_ERR_OUT_OF_RANGE = 9,     /**< an index (token id, layer, sequence) is out of range */
    CE_ERR_NOT_FOUND = 10,       /**< a named thing (backend, tensor, file) does not exist */
    CE_ERR_BACKEND = 11,         /**< a compute backend failed or was refused */
    CE_ERR_STATE = 12,           /**< the call is not valid in the object's current state */
} ce_status;

/**
 * @brief Static English description of a status code.
 * @return a string with static lifetime, never NULL (unknown codes give "unknown status").
 * Thread-safe.
 */
CE_API const char *ce_status_str(ce_status status);

/**
 * @brief Detailed message of the last failed call on this thread.
 *
 * Names the file, tensor or argument and what was expected. Never NULL; "" when
 * nothing failed yet. Borrowed: valid until the next libcontextembed call on the
 * same thread. Thread-safe (the slot is thread-local).
 */
CE_API const char *ce_last_error(void);

/** Severity of a log message passed to a ::ce_log_fn. */
typedef enum ce_log_level {
    CE_LOG_DEBUG = 0,
    CE_LOG_INFO = 1,
    CE_LOG_WARNING = 2,
    CE_LOG_ERROR = 3,
} ce_log_level;

/**
 * @brief Log callback (see ce_set_log_callback()).
 *
 * Called synchronously, on the thread whose library call produced the message;
 * calls on several threads may run at the same time, so the callback and what
 * @p user_data points to must be safe to use from several threads at once.
 * @p message is borrowed for the duration of the call.
 */
typedef void (*ce_log_fn)(void *user_data, ce_log_level level, const char *message);

/**
 * @brief Install (or with NULL remove) the process-wide log callback.
 *
 * The library never prints; without a callback messages are dropped. There is
 * one callback for the whole process: every thread, model and session (and
 * every other user of the library loaded in the process) logs through it.
 *
 * @param callback  called with @p user_data for each message at or above
 *                  @p min_level; NULL removes the current callback
 * @param user_data passed unchanged to @p callback; the library never frees it
 * @param min_level messages below it are not delivered
 *
 * How long @p user_data must live: the library keeps the pointer, not a copy
 * of what it points to. It must stay valid until this callback is replaced by
 * another call of ce_set_log_callback() or cleared with NULL, and, at that
 * moment, no library call may be running on another thread: a call that read
 * the previous callback just before the swap still delivers its message to
 * the previous callback with the previous @p user_data after the swap
 * returns. Replace or clear the callback while no other thread is inside the
 * library (or wait until every call running then has returned); after that,
 * the old @p user_data may be freed.
 *
 * Thread-safe: the callback, its user data and the level are swapped together
 * under a mutex and read together under it, so a message never reaches a
 * callback with another callback's user data; the callback itself is called
 * outside the lock (see ::ce_log_fn).
 */
CE_API void ce_set_log_callback(ce_log_fn callback, void *user_data, ce_log_level min_level);

/**
 * @brief Version string "MAJOR.MINOR.PATCH" of the loaded library (static).
 * Thread-safe.
 */
CE_API const char *ce_version(void);

/**
 * @brief ABI version of the loaded library (::CE_ABI_VERSION it was built with).
 * Bindings compare it with the version they were written for. Thread-safe.
 */
CE_API uint32_t ce_abi_version(void);

/**
 * Numeric precision of a model's weight products (::CE_OPT_PRECISION,
 * ::CE_INFO_PRECISION, and ::ce_linear_desc for backend writers). Values never
 * change; new ones are appended.
 */
typedef enum ce_precision {
    CE_PRECISION_F32 = 0,  /**< float32 weights and products (the default) */
    CE_PRECISION_BF16 = 1, /**< bfloat16 products, float32 accumulation (AVX512-BF16 / AMX-BF16) */
    CE_PRECISION_INT8 = 2, /**< weight-only int8 (symmetric, per group of inputs), float32 activations */
} ce_precision;

/**
 * @brief The option spelling of a precision ("f32", "bf16", "int8"); NULL when
 * unknown. Static. Thread-safe.
 */
CE_API const char *ce_precision_name(ce_precision precision);

/** Bits of ce_cpu_features(). New bits are appended; test bits, never compare the whole value. */
typedef enum ce_cpu_feature {
    CE_CPU_AVX2 = 1u << 0,        /**< AVX2 with FMA (the library's packed f32 and int8 kernels) */
    CE_CPU_AVX512 = 1u << 1,      /**< AVX-512 F, BW, VL, DQ, usable (the OS saves its state) */
    CE_CPU_AVX512_BF16 = 1u << 2, /**< AVX512-BF16 (vdpbf16ps) */
    CE_CPU_AMX_BF16 = 1u << 3,    /**< AMX tiles with BF16, usable */
    CE_CPU_VNNI = 1u << 4,        /**< AVX512-VNNI or AVX-VNNI (int8 dot products) */
    CE_CPU_AMX_INT8 = 1u << 5,    /**< AMX tiles with INT8, usable */
} ce_cpu_feature;

/**
 * @brief What the CPU the process runs on offers (a bitmask of ::ce_cpu_feature),
 * read once with cpuid and checked against what the OS enables (XGETBV).
 * 0 on CPUs other than x86-64. Thread-safe.
 */
CE_API uint32_t ce_cpu_features(void);

#ifdef __cplusplus
}
#endif

#endif /* CONTEXTEMBED_COMMON_H */
