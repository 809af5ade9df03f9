/* Internal: the AMX tile instructions for the onednn backend's own kernels
 * (onednn_amx.c, onednn_amx_attention.c), where CE_AMX_X86 is 1. */
#ifndef CE_BACKENDS_ONEDNN_ONEDNN_AMX_TILES_H
#define CE_BACKENDS_ONEDNN_ONEDNN_AMX_TILES_H

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target)
#define CE_AMX_X86 1
#endif
#endif
#ifndef CE_AMX_X86
#define CE_AMX_X86 0
#endif

#if CE_AMX_X86
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Whether Linux lets this process use the tile data (asked once, 5.16 on;
 * oneDNN asks too, but it need not have run yet). Thread-safe. */
int ce_amx_tiles_permitted(void);

/* The instructions by hand: GCC's intrinsics need -mamx-tile for the whole
 * file, and the assembler knows them either way. */
#define TILE_LOAD(t, base, stride)                                                        \
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"((const void *)(base)),       \
                     "r"((long)(stride))                                                  \
                     : "memory")
#define TILE_STORE(t, base, stride)                                                       \
    __asm__ volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"((void *)(base)),          \
                     "r"((long)(stride))                                                  \
                     : "memory")
#define TILE_ZERO(t) __asm__ volatile("tilezero %%tmm" #t ::)
/* c += a b, AT&T order (b, a, c) */
#define TDP(c, a, b) __asm__ volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)

typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Every tile used is 16 rows of 64 bytes. */
static inline void tiles_on(void)
{
    _Alignas(64) tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    __asm__ volatile("ldtilecfg %0" ::"m"(cfg));
}

static inline void tiles_off(void)
{
    __asm__ volatile("tilerelease" ::);
}

#endif

#endif
