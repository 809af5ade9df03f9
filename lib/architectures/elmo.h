/* Internal: ELMo (bilm-tf / AllenNLP), a character-CNN token encoder under a
 * bidirectional LSTM language model, as bilm-tf computes it (test/gen/gen_elmo.py
 * has the same algorithm in a page of numpy). The files:
 *   elmo_config.c   options.json -> elmo_config, every value checked
 *   elmo_weights.c  bind (or draw) the tensors, named as in the HDF5 file
 *   elmo_tokens.c   characters -> CNN -> highway -> projection (token embeddings)
 *   elmo_lstm.c     the biLSTM over packed sentences, with per-row carried state
 *   elmo.c          the family's ops table, session scratch, words -> outputs */
#ifndef CE_ARCH_ELMO_H
#define CE_ARCH_ELMO_H

#include "architectures/arch.h"

extern const ce_arch_ops ce_arch_elmo;

typedef struct elmo_filter {
    int64_t width, num;
} elmo_filter;

typedef struct elmo_config {
    int64_t max_chars;    /* char_cnn.max_characters_per_token */
    int64_t char_dim;     /* char_cnn.embedding.dim */
    elmo_filter *filters; /* owned, n_filters of them */
    size_t n_filters;
    int64_t cnn_width; /* sum of the filters' num: the CNN output width */
    int64_t max_width; /* widest filter */
    int64_t max_num;   /* most filters of one width */
    int64_t n_highway;
    int tanh;         /* char_cnn.activation: 1 tanh, 0 relu */
    int64_t lstm_dim; /* lstm.dim: cell width */
    int64_t proj_dim; /* lstm.projection_dim: token embedding and LSTM output width */
    int64_t n_layers;
    float cell_clip, proj_clip; /* 0: no clipping */
    int skip;                   /* lstm.use_skip_connections */
    int cnn_proj;               /* cnn_width != proj_dim: CNN_proj exists */
    int lstm_proj;              /* proj_dim < lstm_dim: W_P_0 exists */
} elmo_config;

/* Rows of char_embed: character ids 1..261 (0 is padding and embeds to zero). */
#define ELMO_CHAR_ROWS 261

typedef struct elmo_highway {
    const float *w_carry, *b_carry, *w_transform, *b_transform;
    ce_lin carry, transform; /* with sigmoid and relu */
} elmo_highway;

typedef struct elmo_cell {
    /* W_0 [proj_dim + proj_dim, 4 * lstm_dim]: rows input then h, gates i, j, f, o */
    const float *w;
    const float *b;   /* B [4 * lstm_dim] */
    const float *w_p; /* W_P_0 [lstm_dim, proj_dim], NULL without projection */
    /* The h rows of W_0 transposed, [4 * lstm_dim, proj_dim], gates reordered
     * i, f, j, o as the backend's lstm_cell wants them (see elmo_weights.c). */
    const float *w_h_t;
    ce_lin input;     /* the input rows of W_0 with B, gates in TF's order */
    ce_lin recurrent; /* w_h_t, no bias, accumulated onto the input part */
    ce_lin project;   /* W_P_0 (listed only with a projection) */
} elmo_cell;

typedef struct elmo_model {
    elmo_config cfg;
    const float *char_embed;
    const float **cnn_w, **cnn_b; /* per filter: [width * char_dim, num], [num] */
    elmo_highway *highway;
    const float *proj_w, *proj_b; /* NULL without CNN_proj */
    elmo_cell *cells;             /* [direction * n_layers + layer] */
    float *owned;                 /* random weights, else NULL */
    float *recurrent;             /* every cell's w_h_t */
    ce_lin *cnn;                  /* per filter, over the im2col rows */
    ce_lin proj;                  /* CNN_proj, listed only when present */
    ce_lin_list lins;
} elmo_model;

/* options.json (or a random model's config) -> cfg; cfg->filters is malloc'd. */
ce_status ce_elmo_parse_config(const ce_json *config, const char *source, elmo_config *cfg);
void ce_elmo_config_free(elmo_config *cfg);

/* Bind every tensor the config implies (errors name the tensor); refuse
 * tensors the config does not use. With w == NULL draw them from @p seed. */
ce_status ce_elmo_bind_weights(elmo_model *m, ce_weights *w, uint64_t seed);

/* Fill every cell's w_h_t (after binding). */
ce_status ce_elmo_prepare_recurrent(elmo_model *m);

/* Describe every bound weight as a ce_lin and list it (after binding). */
ce_status ce_elmo_list_linears(elmo_model *m);

/* Number of weights the config implies. */
int64_t ce_elmo_parameter_count(const elmo_config *c);

/* ---- forward pieces (scratch is the caller's) ---- */

/* Token-encoder scratch for a chunk of at most ELMO_CNN_CHUNK tokens. */
#define ELMO_CNN_CHUNK 32
size_t ce_elmo_cnn_scratch_floats(const elmo_config *c);

/* Token embeddings of @p n tokens given as char ids [n, max_chars] (ids
 * already shifted, 0..261). Writes e [n, proj_dim] with row stride @p lde.
 * @p act is scratch [n, cnn_width] x 3; @p scratch holds
 * ce_elmo_cnn_scratch_floats() floats. */
void ce_elmo_token_embeddings(const elmo_model *m, ce_backend *be, size_t n, const int32_t *ids,
                              float *act, float *scratch, float *e, size_t lde);

/* Packed sentences as the LSTM sees them: sentence s occupies positions
 * [start[s], start[s] + len[s]) (boundaries included); order[] lists the
 * sentences by decreasing length (ties by index), so the sentences still
 * running at step t are a prefix of it. */
typedef struct elmo_seqs {
    size_t n;
    const size_t *start, *len, *order;
    size_t max_len, positions;
} elmo_seqs;

/* LSTM scratch, all sized for @p rows sentences and the run's positions. */
typedef struct elmo_lstm_scratch {
    float *xw;    /* [positions, 4 * lstm_dim] */
    float *gates; /* [rows, 4 * lstm_dim] */
    float *cell;  /* [rows, lstm_dim] pre-projection output */
    float *c, *h; /* [rows, lstm_dim], [rows, proj_dim] running state in order[] order */
} elmo_lstm_scratch;

/* Run direction @p dir (0 forward, 1 backward) of layer @p layer. @p layers
 * is [n_layers + 1][positions][2 * proj_dim]: plane @p layer holds the input
 * (columns dir * proj_dim ..), plane layer + 1 receives the output there.
 * @p keep_c / @p keep_h: carried state of this (dir, layer) by batch row
 * ([rows, lstm_dim], [rows, proj_dim]); NULL to start from zero and keep
 * nothing. */
void ce_elmo_lstm_run(const elmo_model *m, ce_backend *be, const elmo_seqs *q, int dir,
                      int64_t layer, float *layers, const elmo_lstm_scratch *s, float *keep_c,
                      float *keep_h);

/* Every layer of every position of the last run of a session state
 * ([n_layers + 1][positions][2 * proj_dim], boundaries included), for tests.
 * NULL before a run. */
const float *ce_elmo_state_positions(const void *state, size_t *positions);

#endif
