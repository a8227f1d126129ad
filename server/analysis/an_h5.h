/* Activation recordings in HDF5 (format "angora-activations", version 1; docs/analysis.md, "The
 * HDF5 layout"): the one writer (angora-train --record-activations writes through it, and the
 * tests), and the reader of angora-analyze. Against libhdf5 1.10 (Debian's libhdf5-dev).
 *
 * DESIGN
 * - One file per recording. Rows are steps, in episode order then step order; every dataset
 *   under /layers and /variables is float32 [N, D] and /index/episode, /index/step are int32
 *   [N]. The writer grows datasets by appending rows, so a recorder never holds a whole
 *   recording in memory.
 * - The writer works on NAME.part. an_h5_writer_finish checks that every dataset has the rows
 *   of the index, writes `episodes`, `steps` and last of all `complete` = 1, closes the file and
 *   renames it to NAME. A reader therefore never sees a half-written file under NAME, and a
 *   file without `complete` = 1 is refused.
 * - Datasets are chunked along rows (at most AN_H5_CHUNK_ROWS rows and AN_H5_CHUNK_BYTES per
 *   chunk, one row when a row is larger), deflated at level 4 after byte shuffling; HDF5
 *   filters them on write and read, so any HDF5 reader (h5py, MATLAB) opens the file.
 * - Each dataset keeps one chunk of rows in memory and writes it whole when full (the rest at
 *   finish): every chunk is compressed once, an append of one row costs a copy, and HDF5's
 *   chunk cache is off, so a failed write (a full disk) shows at the append that caused it.
 * - HDF5 1.10 keeps a file whose close failed (a full disk) half-destroyed in its tables and
 *   crashes on it in its exit handler (HDFGroup/hdf5 PR 2291). The first call into this library
 *   in a process turns that handler off (H5dont_atexit): the process's end frees what HDF5
 *   holds, and the writer closes its files itself.
 * - The reader validates on open: format, version, completeness, the index (episodes numbered
 *   0..E-1 in order, steps 0.. within each), and that every dataset is 2-D with N rows. Every
 *   refusal names the file and what is wrong; HDF5's own reason is appended when it has one.
 *
 * Functions return 0 or a negative AG_E* code with a message in err that names the file (the
 * writer's NAME.part) and, for HDF5's failures, the reason it gives (the system's own words,
 * "No space left on device", when a system call failed). */
#ifndef AN_H5_H
#define AN_H5_H

#include <stddef.h>
#include <stdint.h>

#define AN_H5_FORMAT         "angora-activations"
#define AN_H5_FORMAT_VERSION 1
#define AN_H5_PART_SUFFIX    ".part"
#define AN_H5_NAME_MAX       256       /* dataset names, with the NUL */
#define AN_H5_SHAPE_MAX      8         /* rank of a layer's per-step shape */
#define AN_H5_CHUNK_ROWS     4096      /* the most rows of a chunk */
#define AN_H5_CHUNK_BYTES    (1 << 20) /* the most bytes of a chunk, unless one row is more */

/* ---- writer ---- */

/* Root attributes given at creation; NULL strings are written as "". `created` NULL means now
 * (ISO 8601 UTC). `episodes`, `steps` and `complete` are written by an_h5_writer_finish. */
typedef struct AnH5Meta {
    const char *spec;  /* the resolved experiment spec, JSON text */
    const char *model; /* the expanded model description, JSON text */
    const char *task, *checkpoint, *checkpoint_sha256, *created;
    int deterministic; /* 0/1 */
    uint64_t seed;     /* the evaluation seed */
} AnH5Meta;

/* attributes of a /layers dataset; shape NULL (rank 0) means [cols] */
typedef struct AnH5LayerInfo {
    const char *type; /* dense, tanh, relu, lstm_h, lstm_c, lstm_gate, gru_h, conv2d, ... */
    const char *net;  /* policy | value | shared */
    const int32_t *shape;
    int shape_rank;
    int pooled; /* 0/1 */
    /* a pooled feature map: the map's own shape [C, H, W] (shape is then [C]); NULL for none */
    const int32_t *map_shape;
    int map_shape_rank;
} AnH5LayerInfo;

/* attributes of a /variables dataset; dim_names NULL (or n_dim_names 0) writes none */
typedef struct AnH5VariableInfo {
    const char *group; /* sensation | action | agent | task */
    const char *units; /* "rad", "m", "m/s", "" */
    const char *const *dim_names;
    int n_dim_names; /* 0, or the dataset's cols */
} AnH5VariableInfo;

typedef struct AnH5Writer AnH5Writer;
typedef struct AnH5Series AnH5Series; /* one growing dataset, owned by its writer */

/* creates path + ".part" (replacing a stale one) with the root attributes, the groups and the
 * empty index */
int an_h5_writer_create(AnH5Writer **w, const char *path, const AnH5Meta *meta, char *err,
                        size_t err_sz);
/* a dataset /layers/<name> or /variables/<name> of cols columns and no rows yet; names are
 * unique per group and contain no '/' */
int an_h5_writer_add_layer(AnH5Writer *w, const char *name, int64_t cols, const AnH5LayerInfo *info,
                           AnH5Series **series, char *err, size_t err_sz);
int an_h5_writer_add_variable(AnH5Writer *w, const char *name, int64_t cols,
                              const AnH5VariableInfo *info, AnH5Series **series, char *err,
                              size_t err_sz);
/* appends n rows: rows is [n, cols] row-major */
int an_h5_series_append(AnH5Series *s, const float *rows, int64_t n, char *err, size_t err_sz);
/* more attributes of a dataset (replacing one of the same name): a string, an int32, a 1-D
 * int32 array of n values */
int an_h5_series_attr_string(AnH5Series *s, const char *name, const char *value, char *err,
                             size_t err_sz);
int an_h5_series_attr_int(AnH5Series *s, const char *name, int32_t value, char *err, size_t err_sz);
int an_h5_series_attr_ints(AnH5Series *s, const char *name, const int32_t *values, int n, char *err,
                           size_t err_sz);
/* appends n steps to the index: episode[i], step[i] (episodes 0.. in order, steps 0.. within) */
int an_h5_writer_append_index(AnH5Writer *w, const int32_t *episode, const int32_t *step, int64_t n,
                              char *err, size_t err_sz);
/* a whole dataset at once: add + append of data [n, cols] */
int an_h5_writer_write_layer(AnH5Writer *w, const char *name, const float *data, int64_t n,
                             int64_t cols, const AnH5LayerInfo *info, char *err, size_t err_sz);
int an_h5_writer_write_variable(AnH5Writer *w, const char *name, const float *data, int64_t n,
                                int64_t cols, const AnH5VariableInfo *info, char *err,
                                size_t err_sz);
/* writes the rows held back, checks row counts, writes episodes, steps and complete = 1, closes,
 * syncs, renames NAME.part to NAME and frees w. On failure the .part file is removed and w is
 * freed as well. */
int an_h5_writer_finish(AnH5Writer *w, char *err, size_t err_sz);
/* closes and removes the .part file; NULL is fine */
void an_h5_writer_abort(AnH5Writer *w);

/* ---- reader ---- */

typedef enum AnH5Kind { AN_H5_LAYER = 0, AN_H5_VARIABLE = 1 } AnH5Kind;

typedef struct AnH5Dataset {
    char name[AN_H5_NAME_MAX]; /* under /layers or /variables */
    int64_t cols;              /* D; every dataset has the file's N rows */
    /* layers ("" / 0 when the attribute is absent) */
    char type[64], net[32];
    int32_t shape[AN_H5_SHAPE_MAX];
    int shape_rank;
    int pooled;
    int32_t map_shape[AN_H5_SHAPE_MAX]; /* a pooled map's own shape; rank 0 when absent */
    int map_shape_rank;
    /* variables */
    char group[32], units[32];
    char view[64];    /* an image's camera, "" when the attribute is absent */
    char **dim_names; /* n_dim_names strings, or NULL */
    int n_dim_names;
} AnH5Dataset;

typedef struct AnH5File {
    char *path;
    int64_t file_id; /* the HDF5 file handle (hid_t) */
    /* root attributes; absent strings read as "" */
    char *spec, *model, *task, *checkpoint, *checkpoint_sha256, *created;
    int32_t format_version, deterministic;
    uint64_t seed;
    int64_t steps;    /* N */
    int32_t episodes; /* E */
    /* the index: episode e is rows [episode_start[e], episode_start[e] + episode_len[e]) */
    int64_t *episode_start, *episode_len;
    AnH5Dataset *layers, *variables; /* in name order */
    int n_layers, n_variables;
} AnH5File;

/* opens and validates a recording; *f is NULL on failure */
int an_h5_open(AnH5File **f, const char *path, char *err, size_t err_sz);
void an_h5_close(AnH5File *f);
/* index of a dataset by name, or -1 */
int an_h5_find(const AnH5File *f, AnH5Kind kind, const char *name);
/* reads rows [row0, row0 + n) of dataset index of kind into out [n, cols] (float32) */
int an_h5_read_rows(const AnH5File *f, AnH5Kind kind, int index, int64_t row0, int64_t n,
                    float *out, char *err, size_t err_sz);

/* ---- any HDF5 file ---- */

/* 1 when path is an HDF5 file (by its signature), else 0 */
int an_h5_is_hdf5(const char *path);
/* reads a 2-D numeric dataset of an HDF5 file as float64: *data malloc'd [rows, cols] */
int an_h5_read_matrix(double **data, int64_t *rows, int64_t *cols, const char *path,
                      const char *dataset, char *err, size_t err_sz);

#endif
