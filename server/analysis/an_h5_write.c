/* Writer of activation recordings (an_h5.h): NAME.part with the root attributes, datasets grown
 * a chunk at a time (chunked, shuffled, deflated; each holds one chunk of rows until it is
 * full), and a finish that writes what is held back, checks the row counts, marks the file
 * complete and renames it to NAME.
 *
 * DESIGN
 * - HDF5 clears its error stack at the start of every call, so its reason for a failure is
 *   noted right after the failing call (note_reason), before any clean-up call, and goes into
 *   the message of the failure.
 * - Every close (finish or abort) closes the datasets before the file, even after a failure,
 *   so the file's close never waits on a dataset left open. The file keeps HDF5's default close
 *   degree: a reader in the same process (an_h5_open of NAME.part) must open it with the same
 *   one. */
#include "an_h5.h"
#include "an_h5_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFLATE_LEVEL    4
#define VALUE_BYTES      4 /* float32 and int32 */
#define DATASET_PATH_MAX (AN_H5_NAME_MAX + 16)

struct AnH5Series {
    AnH5Writer *w;
    hid_t dset;
    hid_t mem_type;              /* H5T_NATIVE_FLOAT, or H5T_NATIVE_INT32 for the index */
    int rank;                    /* 2: [N, cols]; 1: [N] (the index; cols is 1) */
    int64_t cols;                /* values per row */
    int64_t chunk_rows;          /* rows of a chunk, and of buf */
    int64_t written;             /* rows in the file */
    int64_t pending;             /* rows in buf, after those */
    unsigned char *buf;          /* [chunk_rows, cols] values */
    char path[DATASET_PATH_MAX]; /* "/layers/<name>" */
    AnH5Series *next;
};

struct AnH5Writer {
    hid_t file;
    AnH5Series *episode, *step; /* the index (also in series) */
    int64_t index_rows;
    int32_t last_episode, last_step;
    char *path, *part;
    char reason[512];   /* HDF5's reason for the last failure, not yet in a message */
    AnH5Series *series; /* every dataset, newest first */
};

/* ---- failures ---- */

/* keeps HDF5's reason for a failure that just happened (the first since the last message) */
static void note_reason(AnH5Writer *w) {
    if (!w->reason[0]) {
        an_h5_reason(w->reason, sizeof w->reason);
    }
}

/* "NAME.part: cannot <what> [<object>]: <HDF5's reason>" */
static int fail_h5(AnH5Writer *w, char *err, size_t err_sz, int code, const char *what,
                   const char *object) {
    note_reason(w);
    int rc = ag_errorf(err, err_sz, code, "%s: cannot %s%s%s%s", w->part, what, object ? " " : "",
                       object ? object : "", w->reason);
    w->reason[0] = '\0';
    return rc;
}

/* ---- attributes ---- */

/* writes (or replaces) an attribute of loc; -1 with the reason noted on failure */
static int attr_write(AnH5Writer *w, hid_t loc, const char *name, hid_t file_type, hid_t mem_type,
                      hid_t space, const void *value) {
    hid_t a = -1;
    int rc = -1;
    if (space >= 0 && file_type >= 0 && (H5Aexists(loc, name) <= 0 || H5Adelete(loc, name) >= 0) &&
        (a = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, mem_type, value) >= 0) {
        rc = 0;
    } else {
        note_reason(w);
    }
    if (a >= 0) {
        H5Aclose(a);
    }
    return rc;
}

static int attr_scalar(AnH5Writer *w, hid_t loc, const char *name, hid_t file_type, hid_t mem_type,
                       const void *value) {
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = attr_write(w, loc, name, file_type, mem_type, space, value);
    H5Sclose(space);
    return rc;
}

static int attr_string(AnH5Writer *w, hid_t loc, const char *name, const char *value) {
    const char *v = value ? value : "";
    hid_t t = an_h5_string_type();
    int rc = attr_scalar(w, loc, name, t, t, &v);
    H5Tclose(t);
    return rc;
}

static int attr_i32(AnH5Writer *w, hid_t loc, const char *name, int32_t value) {
    return attr_scalar(w, loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

/* a 1-D attribute of n values (int32 when strings is NULL, else variable-length strings) */
static int attr_array(AnH5Writer *w, hid_t loc, const char *name, const int32_t *ints,
                      const char *const *strings, int n) {
    hsize_t dim = (hsize_t)n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    int rc;
    if (strings) {
        hid_t t = an_h5_string_type();
        rc = attr_write(w, loc, name, t, t, space, strings);
        H5Tclose(t);
    } else {
        rc = attr_write(w, loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, space, ints);
    }
    H5Sclose(space);
    return rc;
}

/* ---- datasets ---- */

/* an empty dataset of rank 1 ([0]) or 2 ([0, cols]), extendible along rows, chunked, shuffled
 * and deflated, without a chunk cache (whole chunks are written: see an_h5.h) */
static hid_t dataset_create(AnH5Writer *w, const char *path, hid_t type, int rank, int64_t cols,
                            int64_t chunk_rows) {
    hsize_t dims[2] = {0, (hsize_t)cols}, maxdims[2] = {H5S_UNLIMITED, (hsize_t)cols};
    hsize_t chunk[2] = {(hsize_t)chunk_rows, (hsize_t)cols};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    hid_t d = -1;
    if (space >= 0 && dcpl >= 0 && dapl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0 &&
        H5Pset_chunk_cache(dapl, 0, 0, 1.0) >= 0) {
        d = H5Dcreate2(w->file, path, type, space, H5P_DEFAULT, dcpl, dapl);
    }
    if (d < 0) {
        note_reason(w);
    }
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

/* a dataset of no rows at path, added to w's list */
static int series_create(AnH5Writer *w, const char *path, hid_t file_type, hid_t mem_type, int rank,
                         int64_t cols, AnH5Series **out, char *err, size_t err_sz) {
    *out = NULL;
    int64_t chunk_rows = AN_H5_CHUNK_BYTES / (cols * VALUE_BYTES);
    chunk_rows = chunk_rows < 1 ? 1 : chunk_rows > AN_H5_CHUNK_ROWS ? AN_H5_CHUNK_ROWS : chunk_rows;
    AnH5Series *s = calloc(1, sizeof *s);
    if (!s || !(s->buf = malloc((size_t)(chunk_rows * cols) * VALUE_BYTES))) {
        free(s);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory for %s", w->part, path);
    }
    s->w = w;
    s->mem_type = mem_type;
    s->rank = rank;
    s->cols = cols;
    s->chunk_rows = chunk_rows;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->dset = dataset_create(w, path, file_type, rank, cols, chunk_rows);
    if (s->dset < 0) {
        free(s->buf);
        free(s);
        return fail_h5(w, err, err_sz, AG_EIO, "create the dataset", path);
    }
    s->next = w->series;
    w->series = s;
    *out = s;
    return 0;
}

/* writes n rows after the file's rows of s */
static int series_write(AnH5Series *s, const void *rows, int64_t n, char *err, size_t err_sz) {
    hsize_t size[2] = {(hsize_t)(s->written + n), (hsize_t)s->cols};
    hsize_t start[2] = {(hsize_t)s->written, 0}, count[2] = {(hsize_t)n, (hsize_t)s->cols};
    hid_t fspace = -1, mspace = -1;
    int ok = H5Dset_extent(s->dset, size) >= 0 && (fspace = H5Dget_space(s->dset)) >= 0 &&
             (mspace = H5Screate_simple(s->rank, count, NULL)) >= 0 &&
             H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Dwrite(s->dset, s->mem_type, mspace, fspace, H5P_DEFAULT, rows) >= 0;
    if (!ok) {
        note_reason(s->w);
    }
    if (mspace >= 0) {
        H5Sclose(mspace);
    }
    if (fspace >= 0) {
        H5Sclose(fspace);
    }
    if (!ok) {
        return fail_h5(s->w, err, err_sz, AG_EIO, "write", s->path);
    }
    s->written += n;
    return 0;
}

/* writes the rows held back */
static int series_flush(AnH5Series *s, char *err, size_t err_sz) {
    int rc = s->pending > 0 ? series_write(s, s->buf, s->pending, err, err_sz) : 0;
    s->pending = rc ? s->pending : 0;
    return rc;
}

/* appends n rows: whole chunks straight from rows when nothing is held back, the rest through
 * the chunk buffer */
static int series_put(AnH5Series *s, const void *rows, int64_t n, char *err, size_t err_sz) {
    const unsigned char *p = rows;
    size_t row_bytes = (size_t)s->cols * VALUE_BYTES;
    int rc = 0;
    while (n > 0 && !rc) {
        int64_t k;
        if (s->pending == 0 && n >= s->chunk_rows) {
            k = n - n % s->chunk_rows;
            rc = series_write(s, p, k, err, err_sz);
        } else {
            k = s->chunk_rows - s->pending < n ? s->chunk_rows - s->pending : n;
            memcpy(s->buf + (size_t)s->pending * row_bytes, p, (size_t)k * row_bytes);
            s->pending += k;
            rc = s->pending == s->chunk_rows ? series_flush(s, err, err_sz) : 0;
        }
        p += (size_t)k * row_bytes;
        n -= k;
    }
    return rc;
}

static int64_t series_rows(const AnH5Series *s) {
    return s->written + s->pending;
}

/* ---- writer ---- */

static void writer_free(AnH5Writer *w) {
    AnH5Series *s = w->series;
    while (s) {
        AnH5Series *next = s->next;
        if (s->dset >= 0) {
            H5Dclose(s->dset);
        }
        free(s->buf);
        free(s);
        s = next;
    }
    free(w->path);
    free(w->part);
    free(w);
}

static int write_root(AnH5Writer *w, const AnH5Meta *m) {
    char now[32];
    const char *created = m->created ? m->created : ag_time_iso8601(ag_time_wall(), now, 32);
    uint64_t seed = m->seed;
    int32_t det = m->deterministic ? 1 : 0;
    hid_t f = w->file;
    return attr_string(w, f, "format", AN_H5_FORMAT) ||
           attr_i32(w, f, "format_version", AN_H5_FORMAT_VERSION) ||
           attr_string(w, f, "spec", m->spec) || attr_string(w, f, "model", m->model) ||
           attr_string(w, f, "task", m->task) || attr_string(w, f, "checkpoint", m->checkpoint) ||
           attr_string(w, f, "checkpoint_sha256", m->checkpoint_sha256) ||
           attr_string(w, f, "created", created) || attr_i32(w, f, "deterministic", det) ||
           attr_scalar(w, f, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &seed);
}

/* NAME.part, once the filters are known to be there */
static int file_create(AnH5Writer *w, char *err, size_t err_sz) {
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0 || H5Zfilter_avail(H5Z_FILTER_SHUFFLE) <= 0) {
        an_h5_reason(NULL, 0);
        return ag_errorf(err, err_sz, AG_EUNSUPPORTED,
                         "%s: this HDF5 library has no deflate or shuffle filter", w->part);
    }
    w->file = H5Fcreate(w->part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    return w->file < 0 ? fail_h5(w, err, err_sz, AG_EIO, "create the file", NULL) : 0;
}

int an_h5_writer_create(AnH5Writer **out, const char *path, const AnH5Meta *meta, char *err,
                        size_t err_sz) {
    *out = NULL;
    an_h5_init();
    AnH5Writer *w = calloc(1, sizeof *w);
    size_t len = strlen(path);
    if (!w) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    w->file = -1;
    w->last_episode = -1;
    w->path = strdup(path);
    w->part = malloc(len + sizeof AN_H5_PART_SUFFIX);
    if (!w->path || !w->part) {
        writer_free(w);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    memcpy(w->part, path, len);
    memcpy(w->part + len, AN_H5_PART_SUFFIX, sizeof AN_H5_PART_SUFFIX);
    int rc = file_create(w, err, err_sz);
    if (rc) {
        writer_free(w);
        return rc;
    }
    const AnH5Meta none = {0};
    if (write_root(w, meta ? meta : &none)) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "write the root attributes", NULL);
        goto out;
    }
    const char *groups[] = {AN_H5_GROUP_INDEX, AN_H5_GROUP_LAYERS, AN_H5_GROUP_VARIABLES};
    for (int i = 0; i < 3; i++) {
        hid_t g = H5Gcreate2(w->file, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            rc = fail_h5(w, err, err_sz, AG_EIO, "create the group", groups[i]);
            goto out;
        }
        H5Gclose(g);
    }
    rc = series_create(w, AN_H5_INDEX_EPISODE, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, 1, &w->episode,
                       err, err_sz);
    rc = rc ? rc
            : series_create(w, AN_H5_INDEX_STEP, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, 1, &w->step,
                            err, err_sz);
out:
    if (rc) {
        an_h5_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

static int add_series(AnH5Writer *w, const char *group, const char *name, int64_t cols,
                      AnH5Series **series, char *err, size_t err_sz) {
    *series = NULL;
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len >= AN_H5_NAME_MAX || strchr(name, '/') || strcmp(name, ".") == 0) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "%s: dataset name '%s' must have 1 to %d characters and no '/'", w->part,
                         name ? name : "", AN_H5_NAME_MAX - 1);
    }
    if (cols < 1 || cols > (int64_t)1 << 30) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: %s/%s needs 1 to 2^30 columns, got %lld",
                         w->part, group, name, (long long)cols);
    }
    char path[DATASET_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", group, name);
    if (H5Lexists(w->file, path, H5P_DEFAULT) > 0) {
        return ag_errorf(err, err_sz, AG_EEXISTS, "%s: %s already exists", w->part, name);
    }
    return series_create(w, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, cols, series, err, err_sz);
}

int an_h5_writer_add_layer(AnH5Writer *w, const char *name, int64_t cols, const AnH5LayerInfo *info,
                           AnH5Series **series, char *err, size_t err_sz) {
    const AnH5LayerInfo none = {0};
    const AnH5LayerInfo *a = info ? info : &none;
    int32_t flat = (int32_t)cols;
    int rank = a->shape && a->shape_rank > 0 ? a->shape_rank : 1;
    int map_rank = a->map_shape ? a->map_shape_rank : 0;
    *series = NULL;
    if (rank > AN_H5_SHAPE_MAX || map_rank < 0 || map_rank > AN_H5_SHAPE_MAX) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "%s: the shapes of %s have ranks %d and %d, 1 to %d each", w->part,
                         name ? name : "", rank, map_rank, AN_H5_SHAPE_MAX);
    }
    int rc = add_series(w, AN_H5_GROUP_LAYERS, name, cols, series, err, err_sz);
    if (rc) {
        return rc;
    }
    hid_t d = (*series)->dset;
    if (attr_string(w, d, "type", a->type) || attr_string(w, d, "net", a->net) ||
        attr_array(w, d, "shape", a->shape && a->shape_rank > 0 ? a->shape : &flat, NULL, rank) ||
        attr_i32(w, d, "pooled", a->pooled ? 1 : 0) ||
        (map_rank > 0 && attr_array(w, d, "map_shape", a->map_shape, NULL, map_rank))) {
        return fail_h5(w, err, err_sz, AG_EIO, "write the attributes of", (*series)->path);
    }
    return 0;
}

int an_h5_writer_add_variable(AnH5Writer *w, const char *name, int64_t cols,
                              const AnH5VariableInfo *info, AnH5Series **series, char *err,
                              size_t err_sz) {
    const AnH5VariableInfo none = {0};
    const AnH5VariableInfo *a = info ? info : &none;
    *series = NULL;
    if (a->dim_names && a->n_dim_names > 0 && a->n_dim_names != cols) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: %s has %lld columns but %d dim_names",
                         w->part, name ? name : "", (long long)cols, a->n_dim_names);
    }
    int rc = add_series(w, AN_H5_GROUP_VARIABLES, name, cols, series, err, err_sz);
    if (rc) {
        return rc;
    }
    hid_t d = (*series)->dset;
    if (attr_string(w, d, "group", a->group) || attr_string(w, d, "units", a->units) ||
        (a->dim_names && a->n_dim_names > 0 &&
         attr_array(w, d, "dim_names", NULL, a->dim_names, a->n_dim_names))) {
        return fail_h5(w, err, err_sz, AG_EIO, "write the attributes of", (*series)->path);
    }
    return 0;
}

int an_h5_series_append(AnH5Series *s, const float *rows, int64_t n, char *err, size_t err_sz) {
    if (n < 0 || (n > 0 && !rows)) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: bad rows to append to %s", s->w->part,
                         s->path);
    }
    return series_put(s, rows, n, err, err_sz);
}

int an_h5_series_attr_string(AnH5Series *s, const char *name, const char *value, char *err,
                             size_t err_sz) {
    return attr_string(s->w, s->dset, name, value)
               ? fail_h5(s->w, err, err_sz, AG_EIO, "write the attributes of", s->path)
               : 0;
}

int an_h5_series_attr_int(AnH5Series *s, const char *name, int32_t value, char *err,
                          size_t err_sz) {
    return attr_i32(s->w, s->dset, name, value)
               ? fail_h5(s->w, err, err_sz, AG_EIO, "write the attributes of", s->path)
               : 0;
}

int an_h5_series_attr_ints(AnH5Series *s, const char *name, const int32_t *values, int n, char *err,
                           size_t err_sz) {
    if (n < 1 || !values) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: the attribute %s of %s needs values",
                         s->w->part, name, s->path);
    }
    return attr_array(s->w, s->dset, name, values, NULL, n)
               ? fail_h5(s->w, err, err_sz, AG_EIO, "write the attributes of", s->path)
               : 0;
}

int an_h5_writer_append_index(AnH5Writer *w, const int32_t *episode, const int32_t *step, int64_t n,
                              char *err, size_t err_sz) {
    /* the reader's rules, checked here so that a recorder's mistake shows where it is made */
    int32_t e = w->last_episode, t = w->last_step;
    for (int64_t i = 0; i < n; i++) {
        int next_episode = episode[i] == e + 1 && step[i] == 0;
        int same_episode = e >= 0 && episode[i] == e && step[i] == t + 1;
        if (!next_episode && !same_episode) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "%s: index row %lld (episode %d, step %d) does not follow episode "
                             "%d, step %d",
                             w->part, (long long)(w->index_rows + i), episode[i], step[i], e, t);
        }
        e = episode[i];
        t = step[i];
    }
    int rc = series_put(w->episode, episode, n, err, err_sz);
    rc = rc ? rc : series_put(w->step, step, n, err, err_sz);
    if (rc) {
        return rc;
    }
    w->index_rows += n;
    w->last_episode = e;
    w->last_step = t;
    return 0;
}

int an_h5_writer_write_layer(AnH5Writer *w, const char *name, const float *data, int64_t n,
                             int64_t cols, const AnH5LayerInfo *info, char *err, size_t err_sz) {
    AnH5Series *s;
    int rc = an_h5_writer_add_layer(w, name, cols, info, &s, err, err_sz);
    return rc ? rc : an_h5_series_append(s, data, n, err, err_sz);
}

int an_h5_writer_write_variable(AnH5Writer *w, const char *name, const float *data, int64_t n,
                                int64_t cols, const AnH5VariableInfo *info, char *err,
                                size_t err_sz) {
    AnH5Series *s;
    int rc = an_h5_writer_add_variable(w, name, cols, info, &s, err, err_sz);
    return rc ? rc : an_h5_series_append(s, data, n, err, err_sz);
}

/* closes every handle and the file (whose close writes what HDF5 still holds, and may fail like
 * a write); 0 when HDF5 wrote everything */
static int writer_close(AnH5Writer *w) {
    int failed = 0;
    for (AnH5Series *s = w->series; s; s = s->next) {
        if (s->dset >= 0 && H5Dclose(s->dset) < 0) {
            note_reason(w);
            failed = 1;
        }
        s->dset = -1;
    }
    if (w->file >= 0 && H5Fclose(w->file) < 0) {
        note_reason(w);
        failed = 1;
    }
    w->file = -1;
    return failed ? -1 : 0;
}

/* the data on disk before the name: a crash leaves NAME.part, never a damaged NAME */
static int file_publish(AnH5Writer *w, char *err, size_t err_sz) {
    int fd = open(w->part, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s: cannot sync: %s", w->part, strerror(errno));
    } else if (rename(w->part, w->path) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s: cannot move to %s: %s", w->part, w->path,
                       strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

int an_h5_writer_finish(AnH5Writer *w, char *err, size_t err_sz) {
    int rc = 0;
    for (AnH5Series *s = w->series; s && !rc; s = s->next) {
        if (series_rows(s) != w->index_rows) {
            rc = ag_errorf(err, err_sz, AG_EMISMATCH, "%s: %s has %lld rows, the index %lld",
                           w->part, s->path, (long long)series_rows(s), (long long)w->index_rows);
        }
    }
    for (AnH5Series *s = w->series; s && !rc; s = s->next) {
        rc = series_flush(s, err, err_sz);
    }
    if (rc) {
        goto out;
    }
    int64_t steps = w->index_rows;
    if (attr_i32(w, w->file, "episodes", w->last_episode + 1) ||
        attr_scalar(w, w->file, "steps", H5T_STD_I64LE, H5T_NATIVE_INT64, &steps) ||
        H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 || attr_i32(w, w->file, "complete", 1)) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "write the closing attributes", NULL);
        goto out;
    }
    if (writer_close(w)) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "close the file", NULL);
        goto out;
    }
    rc = file_publish(w, err, err_sz);
out:
    if (rc) {
        an_h5_writer_abort(w);
        return rc;
    }
    writer_free(w);
    return 0;
}

void an_h5_writer_abort(AnH5Writer *w) {
    if (!w) {
        return;
    }
    writer_close(w);
    an_h5_reason(NULL, 0);
    unlink(w->part);
    writer_free(w);
}
