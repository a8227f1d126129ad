/* A small HDF5 writer for activation recordings (angora-train --record-activations, layout in
 * docs/recording.md): a file written under NAME.part, 2-D datasets whose rows are appended and
 * written a chunk at a time (deflate level 4 with shuffle), attributes on the root and on
 * datasets, and a finish that marks the file complete and renames it to NAME. Against libhdf5
 * 1.10 (Debian's libhdf5-dev).
 *
 * DESIGN: the recorder (train_activations.c) sees only this interface, so a shared writer can
 * take its place. Every call returns 0 or a negative AG_E* code with a message naming the file
 * and, for HDF5 failures, the system's reason ("No space left on device"). Nothing named NAME
 * exists until train_h5_finish succeeds; train_h5_abort removes NAME.part. */
#ifndef TRAIN_H5_H
#define TRAIN_H5_H

#include <stddef.h>
#include <stdint.h>

#define TRAIN_H5_CHUNK_ROWS  4096      /* rows per chunk, fewer for wide datasets */
#define TRAIN_H5_CHUNK_BYTES (1 << 20) /* the most bytes of one chunk (unless one row is more) */

typedef struct TrainH5 TrainH5;
typedef struct TrainH5Set TrainH5Set; /* one dataset, owned by its file */

typedef enum TrainH5Type { TRAIN_H5_F32 = 0, TRAIN_H5_I32 } TrainH5Type;

/* creates path + ".part" (replacing a stale one) */
int train_h5_create(TrainH5 **out, const char *path, char *err, size_t err_sz);

/* a dataset group/name (the group is made when missing) of no rows yet: [N, cols], or [N] when
 * cols is 0 (a row is then one value) */
int train_h5_dataset(TrainH5 *f, const char *group, const char *name, TrainH5Type type, int cols,
                     TrainH5Set **out, char *err, size_t err_sz);
/* appends n rows of cols values (float or int32 as the dataset's type) */
int train_h5_append(TrainH5Set *d, const void *rows, size_t n, char *err, size_t err_sz);
/* rows appended so far */
int64_t train_h5_rows(const TrainH5Set *d);

/* attributes of a dataset, or of the root when d is NULL: a variable-length UTF-8 string, a
 * string array, scalar integers, an int32 array */
int train_h5_attr_str(TrainH5 *f, TrainH5Set *d, const char *name, const char *value, char *err,
                      size_t err_sz);
int train_h5_attr_strs(TrainH5 *f, TrainH5Set *d, const char *name, const char *const *values,
                       int n, char *err, size_t err_sz);
int train_h5_attr_i32(TrainH5 *f, TrainH5Set *d, const char *name, int32_t value, char *err,
                      size_t err_sz);
int train_h5_attr_i64(TrainH5 *f, TrainH5Set *d, const char *name, int64_t value, char *err,
                      size_t err_sz);
int train_h5_attr_u64(TrainH5 *f, TrainH5Set *d, const char *name, uint64_t value, char *err,
                      size_t err_sz);
int train_h5_attr_i32s(TrainH5 *f, TrainH5Set *d, const char *name, const int32_t *values, int n,
                       char *err, size_t err_sz);

/* writes what is buffered, checks every dataset has the same rows (AG_ESTATE otherwise), sets
 * the root attribute complete = 1, closes and renames NAME.part to NAME; frees f either way
 * (removing NAME.part after a failure) */
int train_h5_finish(TrainH5 *f, char *err, size_t err_sz);
/* closes f and removes NAME.part; f may be NULL */
void train_h5_abort(TrainH5 *f);

#endif
