/* Writer of activation recordings (an_h5.h): NAME.part with the root attributes, datasets grown
 * row by row (chunked, shuffled, deflated), and a finish that checks the row counts, marks the
 * file complete and renames it to NAME. */
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

#define CHUNK_ROWS_MAX   4096
#define CHUNK_BYTES      (1 << 20)
#define DEFLATE_LEVEL    4
#define DATASET_PATH_MAX (AN_H5_NAME_MAX + 16)

struct AnH5Series {
    hid_t dset;
    int64_t cols, rows;
    char path[DATASET_PATH_MAX]; /* "/layers/<name>" */
    AnH5Series *next;
};

struct AnH5Writer {
    hid_t file;
    hid_t episode, step; /* /index datasets */
    int64_t index_rows;
    int32_t last_episode, last_step;
    char *path, *part;
    AnH5Series *series; /* newest first */
};

/* ---- attributes ---- */

static int attr_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, hid_t space,
                      const void *value) {
    hid_t a = H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        return -1;
    }
    herr_t rc = H5Awrite(a, mem_type, value);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

static int attr_scalar(hid_t loc, const char *name, hid_t file_type, hid_t mem_type,
                       const void *value) {
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = attr_write(loc, name, file_type, mem_type, space, value);
    H5Sclose(space);
    return rc;
}

static int attr_string(hid_t loc, const char *name, const char *value) {
    const char *v = value ? value : "";
    hid_t t = an_h5_string_type();
    int rc = attr_scalar(loc, name, t, t, &v);
    H5Tclose(t);
    return rc;
}

static int attr_i32(hid_t loc, const char *name, int32_t value) {
    return attr_scalar(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

/* a 1-D attribute of n values (int32 when strings is NULL, else variable-length strings) */
static int attr_array(hid_t loc, const char *name, const int32_t *ints, const char *const *strings,
                      int n) {
    hsize_t dim = (hsize_t)n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    int rc;
    if (strings) {
        hid_t t = an_h5_string_type();
        rc = attr_write(loc, name, t, t, space, strings);
        H5Tclose(t);
    } else {
        rc = attr_write(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, space, ints);
    }
    H5Sclose(space);
    return rc;
}

/* ---- datasets ---- */

/* an empty extendible dataset of rank 1 ([0]) or 2 ([0, cols]) */
static hid_t dataset_create(hid_t file, const char *path, hid_t type, int rank, int64_t cols,
                            size_t elem_size) {
    hsize_t dims[2] = {0, (hsize_t)cols}, maxdims[2] = {H5S_UNLIMITED, (hsize_t)cols};
    int64_t row_bytes = (rank == 2 ? cols : 1) * (int64_t)elem_size;
    int64_t chunk_rows = CHUNK_BYTES / row_bytes;
    chunk_rows = chunk_rows < 1 ? 1 : chunk_rows > CHUNK_ROWS_MAX ? CHUNK_ROWS_MAX : chunk_rows;
    hsize_t chunk[2] = {(hsize_t)chunk_rows, (hsize_t)cols};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0) {
        d = H5Dcreate2(file, path, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    }
    H5Pclose(dcpl);
    H5Sclose(space);
    return d;
}

/* appends n rows of cols values (cols 0: a 1-D dataset) at row `at` */
static int dataset_append(hid_t d, hid_t mem_type, int64_t at, int64_t n, int64_t cols,
                          const void *data) {
    int rank = cols > 0 ? 2 : 1;
    hsize_t size[2] = {(hsize_t)(at + n), (hsize_t)cols};
    hsize_t start[2] = {(hsize_t)at, 0}, count[2] = {(hsize_t)n, (hsize_t)cols};
    if (H5Dset_extent(d, size) < 0) {
        return -1;
    }
    hid_t fspace = H5Dget_space(d);
    hid_t mspace = H5Screate_simple(rank, count, NULL);
    int rc = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dwrite(d, mem_type, mspace, fspace, H5P_DEFAULT, data) >= 0) {
        rc = 0;
    }
    H5Sclose(mspace);
    H5Sclose(fspace);
    return rc;
}

static int fail_h5(AnH5Writer *w, char *err, size_t err_sz, int code, const char *what) {
    char reason[512];
    an_h5_reason(reason, sizeof reason);
    return ag_errorf(err, err_sz, code, "%s: cannot %s%s", w->part, what, reason);
}

/* ---- writer ---- */

static void writer_free(AnH5Writer *w) {
    AnH5Series *s = w->series;
    while (s) {
        AnH5Series *next = s->next;
        if (s->dset >= 0) {
            H5Dclose(s->dset);
        }
        free(s);
        s = next;
    }
    if (w->episode >= 0) {
        H5Dclose(w->episode);
    }
    if (w->step >= 0) {
        H5Dclose(w->step);
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
    return attr_string(w->file, "format", AN_H5_FORMAT) ||
           attr_i32(w->file, "format_version", AN_H5_FORMAT_VERSION) ||
           attr_string(w->file, "spec", m->spec) || attr_string(w->file, "model", m->model) ||
           attr_string(w->file, "task", m->task) ||
           attr_string(w->file, "checkpoint", m->checkpoint) ||
           attr_string(w->file, "checkpoint_sha256", m->checkpoint_sha256) ||
           attr_string(w->file, "created", created) || attr_i32(w->file, "deterministic", det) ||
           attr_scalar(w->file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &seed);
}

int an_h5_writer_create(AnH5Writer **out, const char *path, const AnH5Meta *meta, char *err,
                        size_t err_sz) {
    *out = NULL;
    an_h5_quiet();
    AnH5Writer *w = calloc(1, sizeof *w);
    size_t len = strlen(path);
    if (!w) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    w->file = w->episode = w->step = -1;
    w->last_episode = -1;
    w->path = strdup(path);
    w->part = malloc(len + sizeof AN_H5_PART_SUFFIX);
    if (!w->path || !w->part) {
        writer_free(w);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    memcpy(w->part, path, len);
    memcpy(w->part + len, AN_H5_PART_SUFFIX, sizeof AN_H5_PART_SUFFIX);
    w->file = H5Fcreate(w->part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        int rc = fail_h5(w, err, err_sz, AG_EIO, "create the file");
        writer_free(w);
        return rc;
    }
    const AnH5Meta none = {0};
    int rc = 0;
    if (write_root(w, meta ? meta : &none)) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "write the root attributes");
        goto out;
    }
    const char *groups[] = {AN_H5_GROUP_INDEX, AN_H5_GROUP_LAYERS, AN_H5_GROUP_VARIABLES};
    for (int i = 0; i < 3; i++) {
        hid_t g = H5Gcreate2(w->file, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) {
            rc = fail_h5(w, err, err_sz, AG_EIO, "create the groups");
            goto out;
        }
        H5Gclose(g);
    }
    w->episode = dataset_create(w->file, AN_H5_INDEX_EPISODE, H5T_STD_I32LE, 1, 0, 4);
    w->step = dataset_create(w->file, AN_H5_INDEX_STEP, H5T_STD_I32LE, 1, 0, 4);
    if (w->episode < 0 || w->step < 0) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "create the index");
    }
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
    AnH5Series *s = calloc(1, sizeof *s);
    if (!s) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", w->part);
    }
    snprintf(s->path, sizeof s->path, "%s/%s", group, name);
    if (H5Lexists(w->file, s->path, H5P_DEFAULT) > 0) {
        free(s);
        return ag_errorf(err, err_sz, AG_EEXISTS, "%s: %s already exists", w->part, name);
    }
    s->cols = cols;
    s->dset = dataset_create(w->file, s->path, H5T_IEEE_F32LE, 2, cols, 4);
    if (s->dset < 0) {
        free(s);
        return fail_h5(w, err, err_sz, AG_EIO, "create a dataset");
    }
    s->next = w->series;
    w->series = s;
    *series = s;
    return 0;
}

int an_h5_writer_add_layer(AnH5Writer *w, const char *name, int64_t cols, const AnH5LayerInfo *info,
                           AnH5Series **series, char *err, size_t err_sz) {
    int rc = add_series(w, AN_H5_GROUP_LAYERS, name, cols, series, err, err_sz);
    if (rc) {
        return rc;
    }
    const AnH5LayerInfo none = {0};
    const AnH5LayerInfo *a = info ? info : &none;
    int32_t flat = (int32_t)cols;
    int rank = a->shape && a->shape_rank > 0 ? a->shape_rank : 1;
    if (rank > AN_H5_SHAPE_MAX) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: the shape of %s has rank %d, at most %d",
                         w->part, name, rank, AN_H5_SHAPE_MAX);
    }
    hid_t d = (*series)->dset;
    if (attr_string(d, "type", a->type) || attr_string(d, "net", a->net) ||
        attr_array(d, "shape", a->shape && a->shape_rank > 0 ? a->shape : &flat, NULL, rank) ||
        attr_i32(d, "pooled", a->pooled ? 1 : 0)) {
        return fail_h5(w, err, err_sz, AG_EIO, "write a layer's attributes");
    }
    return 0;
}

int an_h5_writer_add_variable(AnH5Writer *w, const char *name, int64_t cols,
                              const AnH5VariableInfo *info, AnH5Series **series, char *err,
                              size_t err_sz) {
    const AnH5VariableInfo none = {0};
    const AnH5VariableInfo *a = info ? info : &none;
    if (a->dim_names && a->n_dim_names > 0 && a->n_dim_names != cols) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: %s has %lld columns but %d dim_names",
                         w->part, name ? name : "", (long long)cols, a->n_dim_names);
    }
    int rc = add_series(w, AN_H5_GROUP_VARIABLES, name, cols, series, err, err_sz);
    if (rc) {
        return rc;
    }
    hid_t d = (*series)->dset;
    if (attr_string(d, "group", a->group) || attr_string(d, "units", a->units) ||
        (a->dim_names && a->n_dim_names > 0 &&
         attr_array(d, "dim_names", NULL, a->dim_names, a->n_dim_names))) {
        return fail_h5(w, err, err_sz, AG_EIO, "write a variable's attributes");
    }
    return 0;
}

int an_h5_series_append(AnH5Series *s, const float *rows, int64_t n, char *err, size_t err_sz) {
    if (n < 0 || (n > 0 && !rows)) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: bad rows to append", s->path);
    }
    if (n == 0) {
        return 0;
    }
    if (dataset_append(s->dset, H5T_NATIVE_FLOAT, s->rows, n, s->cols, rows)) {
        char reason[512];
        an_h5_reason(reason, sizeof reason);
        return ag_errorf(err, err_sz, AG_EIO, "%s: cannot append %lld rows%s", s->path,
                         (long long)n, reason);
    }
    s->rows += n;
    return 0;
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
    if (n > 0 && (dataset_append(w->episode, H5T_NATIVE_INT32, w->index_rows, n, 0, episode) ||
                  dataset_append(w->step, H5T_NATIVE_INT32, w->index_rows, n, 0, step))) {
        return fail_h5(w, err, err_sz, AG_EIO, "append to the index");
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

/* closes every handle and the file; 0 when HDF5 wrote everything */
static int writer_close(AnH5Writer *w) {
    int rc = 0;
    for (AnH5Series *s = w->series; s; s = s->next) {
        rc |= H5Dclose(s->dset) < 0;
        s->dset = -1;
    }
    rc |= w->episode >= 0 && H5Dclose(w->episode) < 0;
    rc |= w->step >= 0 && H5Dclose(w->step) < 0;
    w->episode = w->step = -1;
    rc |= w->file >= 0 && H5Fclose(w->file) < 0;
    w->file = -1;
    return rc ? -1 : 0;
}

int an_h5_writer_finish(AnH5Writer *w, char *err, size_t err_sz) {
    int rc = 0;
    for (AnH5Series *s = w->series; s; s = s->next) {
        if (s->rows != w->index_rows) {
            rc = ag_errorf(err, err_sz, AG_EMISMATCH, "%s: %s has %lld rows, the index %lld",
                           w->part, s->path, (long long)s->rows, (long long)w->index_rows);
            goto out;
        }
    }
    int64_t steps = w->index_rows;
    if (attr_i32(w->file, "episodes", w->last_episode + 1) ||
        attr_scalar(w->file, "steps", H5T_STD_I64LE, H5T_NATIVE_INT64, &steps) ||
        H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0 || attr_i32(w->file, "complete", 1)) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "write the closing attributes");
        goto out;
    }
    if (writer_close(w)) {
        rc = fail_h5(w, err, err_sz, AG_EIO, "close the file");
        goto out;
    }
    /* the data on disk before the name: a crash leaves NAME.part, never a damaged NAME */
    int fd = open(w->part, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0 || rename(w->part, w->path) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s: cannot move to %s: %s", w->part, w->path,
                       strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
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
