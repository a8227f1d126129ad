/* The HDF5 writer of activation recordings (see train_h5.h).
 *
 * DESIGN
 * - Each dataset keeps one chunk's worth of rows in memory and writes it with one H5Dwrite when
 *   full, so every chunk is compressed once and the chunk cache is not needed (it is switched
 *   off: a write failure then shows at the call that caused it, not at close).
 * - HDF5 prints nothing: its error stack is read into the message instead, keeping the
 *   innermost reason (the system's "error message = '...'" when there is one).
 * - Files are opened with the strong close degree, so closing the file after a failure also
 *   closes whatever was left open.
 * - HDF5 1.10 keeps a file whose close failed (a full disk) half-destroyed in its tables and
 *   crashes on it when it shuts itself down at exit (HDFGroup/hdf5 PR 2291). The writer asks it
 *   not to (H5dont_atexit, before its first call): the process's end frees what it holds. */
#include "train_h5.h"

#include "ag_error.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct TrainH5Set {
    TrainH5 *f;
    hid_t id;
    TrainH5Type type;
    int rank; /* 1: [N], 2: [N, cols] */
    int cols; /* values per row (1 when rank 1) */
    size_t chunk_rows;
    size_t pending;     /* rows in buf */
    int64_t rows;       /* rows in the file */
    unsigned char *buf; /* chunk_rows * cols values */
    char *name;         /* group/name, for messages */
};

struct TrainH5 {
    hid_t file, root;
    char *path, *part;
    char reason[256]; /* HDF5's reason for the first failure since the last message */
    int nsets, cap;
    TrainH5Set **sets;
};

/* ---- errors ---- */

static herr_t h5_innermost(unsigned n, const H5E_error2_t *e, void *data) {
    char *out = data;
    if (n == 0 && e->desc) {
        /* a system call's failure carries its own text */
        const char *sys = strstr(e->desc, "error message = '");
        if (sys) {
            sys += strlen("error message = '");
            const char *end = strchr(sys, '\'');
            int len = end ? (int)(end - sys) : (int)strlen(sys);
            snprintf(out, 256, "%.*s", len, sys);
        } else {
            snprintf(out, 256, "%s", e->desc);
        }
    }
    return 0;
}

/* keeps HDF5's reason for a failure; called right after the failed call, as the next call
 * clears HDF5's error stack */
static void h5_note(TrainH5 *f) {
    if (!f->reason[0]) {
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_innermost, f->reason);
    }
}

/* the message of a failure: what was being done and HDF5's reason noted for it */
static int h5_fail(TrainH5 *f, char *err, size_t err_sz, int code, const char *what) {
    int rc = ag_errorf(err, err_sz, code, "%s: %s%s%s", f->part, what, f->reason[0] ? ": " : "",
                       f->reason);
    f->reason[0] = '\0';
    return rc;
}

/* ---- the file ---- */

int train_h5_create(TrainH5 **out, const char *path, char *err, size_t err_sz) {
    *out = NULL;
    H5dont_atexit(); /* refused, harmlessly, once the library is running */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!H5Zfilter_avail(H5Z_FILTER_DEFLATE) || !H5Zfilter_avail(H5Z_FILTER_SHUFFLE)) {
        return ag_errorf(err, err_sz, AG_EUNSUPPORTED,
                         "this HDF5 library has no deflate or shuffle filter");
    }
    TrainH5 *f = calloc(1, sizeof *f);
    size_t len = strlen(path);
    if (f) {
        f->file = f->root = H5I_INVALID_HID;
    }
    if (!f || !(f->path = strdup(path)) || !(f->part = malloc(len + 6))) {
        if (f) {
            free(f->path);
            free(f);
        }
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    snprintf(f->part, len + 6, "%s.part", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) {
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
        f->file = H5Fcreate(f->part, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (f->file < 0) {
            h5_note(f);
        }
        H5Pclose(fapl);
    }
    if (f->file < 0) {
        int rc = h5_fail(f, err, err_sz, AG_EIO, "cannot create the file");
        free(f->path);
        free(f->part);
        free(f);
        return rc;
    }
    f->root = H5Gopen2(f->file, "/", H5P_DEFAULT);
    if (f->root < 0) {
        h5_note(f);
        int rc = h5_fail(f, err, err_sz, AG_EIO, "cannot open the root group");
        train_h5_abort(f);
        return rc;
    }
    *out = f;
    return 0;
}

static void set_free(TrainH5Set *d) {
    if (d) {
        if (d->id >= 0) {
            H5Dclose(d->id);
        }
        free(d->buf);
        free(d->name);
        free(d);
    }
}

void train_h5_abort(TrainH5 *f) {
    if (!f) {
        return;
    }
    for (int i = 0; i < f->nsets; i++) {
        set_free(f->sets[i]);
    }
    if (f->root >= 0) {
        H5Gclose(f->root);
    }
    if (f->file >= 0) {
        H5Fclose(f->file);
        H5Eclear2(H5E_DEFAULT);
    }
    if (f->part) {
        unlink(f->part);
    }
    free(f->sets);
    free(f->path);
    free(f->part);
    free(f);
}

/* ---- datasets ---- */

static hid_t group_open(TrainH5 *f, const char *group) {
    hid_t g = H5I_INVALID_HID;
    if (H5Lexists(f->root, group, H5P_DEFAULT) > 0) {
        g = H5Gopen2(f->root, group, H5P_DEFAULT);
    } else {
        hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0) {
            g = H5Gcreate2(f->root, group, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        }
        if (g < 0) {
            h5_note(f);
        }
        if (lcpl >= 0) {
            H5Pclose(lcpl);
        }
    }
    if (g < 0) {
        h5_note(f);
    }
    return g;
}

/* a dataset of no rows, extendible along rows, chunked, shuffled and deflated */
static hid_t set_make(TrainH5 *f, hid_t g, const char *name, TrainH5Type type, int rank, int cols,
                      hsize_t chunk_rows) {
    hsize_t dims[2] = {0, (hsize_t)cols}, maxdims[2] = {H5S_UNLIMITED, (hsize_t)cols};
    hsize_t chunk[2] = {chunk_rows, (hsize_t)cols};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    hid_t id = H5I_INVALID_HID;
    if (space >= 0 && dcpl >= 0 && dapl >= 0 && H5Pset_chunk(dcpl, rank, chunk) >= 0 &&
        H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, 4) >= 0 &&
        H5Pset_chunk_cache(dapl, 0, 0, 1.0) >= 0) {
        id = H5Dcreate2(g, name, type == TRAIN_H5_F32 ? H5T_IEEE_F32LE : H5T_STD_I32LE, space,
                        H5P_DEFAULT, dcpl, dapl);
    }
    if (id < 0) {
        h5_note(f);
    }
    if (space >= 0) {
        H5Sclose(space);
    }
    if (dcpl >= 0) {
        H5Pclose(dcpl);
    }
    if (dapl >= 0) {
        H5Pclose(dapl);
    }
    return id;
}

int train_h5_dataset(TrainH5 *f, const char *group, const char *name, TrainH5Type type, int cols,
                     TrainH5Set **out, char *err, size_t err_sz) {
    *out = NULL;
    if (cols < 0 || !name[0]) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: dataset %s/%s of %d columns", f->part, group,
                         name, cols);
    }
    int rank = cols ? 2 : 1;
    cols = cols ? cols : 1;
    size_t row_bytes = (size_t)cols * 4;
    size_t rows = TRAIN_H5_CHUNK_BYTES / row_bytes;
    rows = rows < 1 ? 1 : (rows > TRAIN_H5_CHUNK_ROWS ? TRAIN_H5_CHUNK_ROWS : rows);
    if (f->nsets == f->cap) {
        int cap = f->cap ? 2 * f->cap : 32;
        TrainH5Set **sets = realloc(f->sets, (size_t)cap * sizeof *sets);
        if (!sets) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", f->part);
        }
        f->sets = sets;
        f->cap = cap;
    }
    TrainH5Set *d = calloc(1, sizeof *d);
    size_t nlen = strlen(group) + strlen(name) + 2;
    if (!d || !(d->buf = malloc(rows * row_bytes)) || !(d->name = malloc(nlen))) {
        if (d) {
            d->id = H5I_INVALID_HID;
        }
        set_free(d);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory for %s", f->part, name);
    }
    snprintf(d->name, nlen, "%s/%s", group, name);
    d->f = f;
    d->type = type;
    d->rank = rank;
    d->cols = cols;
    d->chunk_rows = rows;
    hid_t g = group_open(f, group);
    d->id = g >= 0 ? set_make(f, g, name, type, rank, cols, rows) : H5I_INVALID_HID;
    if (g >= 0) {
        H5Gclose(g);
    }
    if (d->id < 0) {
        char what[512];
        snprintf(what, sizeof what, "cannot create the dataset %.400s", d->name);
        int rc = h5_fail(f, err, err_sz, AG_EIO, what);
        set_free(d);
        return rc;
    }
    f->sets[f->nsets++] = d;
    *out = d;
    return 0;
}

/* writes the buffered rows after the file's */
static int set_flush(TrainH5Set *d, char *err, size_t err_sz) {
    if (d->pending == 0) {
        return 0;
    }
    hsize_t dims[2] = {(hsize_t)d->rows + d->pending, (hsize_t)d->cols};
    hsize_t start[2] = {(hsize_t)d->rows, 0}, count[2] = {d->pending, (hsize_t)d->cols};
    herr_t st = H5Dset_extent(d->id, dims);
    hid_t fspace = st >= 0 ? H5Dget_space(d->id) : H5I_INVALID_HID;
    hid_t mspace = H5Screate_simple(d->rank, count, NULL);
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0) {
        st = H5Dwrite(d->id, d->type == TRAIN_H5_F32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32, mspace,
                      fspace, H5P_DEFAULT, d->buf);
    } else {
        st = -1;
    }
    if (st < 0) {
        h5_note(d->f);
    }
    if (fspace >= 0) {
        H5Sclose(fspace);
    }
    if (mspace >= 0) {
        H5Sclose(mspace);
    }
    if (st < 0) {
        char what[512];
        snprintf(what, sizeof what, "cannot write %.400s", d->name);
        return h5_fail(d->f, err, err_sz, AG_EIO, what);
    }
    d->rows += (int64_t)d->pending;
    d->pending = 0;
    return 0;
}

int train_h5_append(TrainH5Set *d, const void *rows, size_t n, char *err, size_t err_sz) {
    const unsigned char *p = rows;
    size_t row_bytes = (size_t)d->cols * 4;
    while (n > 0) {
        size_t k = d->chunk_rows - d->pending;
        k = k < n ? k : n;
        memcpy(d->buf + d->pending * row_bytes, p, k * row_bytes);
        d->pending += k;
        p += k * row_bytes;
        n -= k;
        if (d->pending == d->chunk_rows) {
            int rc = set_flush(d, err, err_sz);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

int64_t train_h5_rows(const TrainH5Set *d) {
    return d->rows + (int64_t)d->pending;
}

/* ---- attributes ---- */

static int attr_write(TrainH5 *f, TrainH5Set *d, const char *name, hid_t type, hid_t space,
                      const void *value, char *err, size_t err_sz) {
    hid_t obj = d ? d->id : f->root;
    hid_t a = H5I_INVALID_HID;
    herr_t st = -1;
    if (type >= 0 && space >= 0) {
        if (H5Aexists(obj, name) > 0) {
            H5Adelete(obj, name);
        }
        a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        st = a >= 0 ? H5Awrite(a, type, value) : -1;
        if (st < 0) {
            h5_note(f);
        }
    }
    if (a >= 0) {
        H5Aclose(a);
    }
    if (space >= 0) {
        H5Sclose(space);
    }
    if (st < 0) {
        char what[512];
        snprintf(what, sizeof what, "cannot write the attribute %.100s of %.300s", name,
                 d ? d->name : "/");
        return h5_fail(f, err, err_sz, AG_EIO, what);
    }
    return 0;
}

static hid_t utf8_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

int train_h5_attr_str(TrainH5 *f, TrainH5Set *d, const char *name, const char *value, char *err,
                      size_t err_sz) {
    hid_t t = utf8_type();
    int rc = attr_write(f, d, name, t, H5Screate(H5S_SCALAR), &value, err, err_sz);
    if (t >= 0) {
        H5Tclose(t);
    }
    return rc;
}

int train_h5_attr_strs(TrainH5 *f, TrainH5Set *d, const char *name, const char *const *values,
                       int n, char *err, size_t err_sz) {
    hsize_t dim = (hsize_t)n;
    hid_t t = utf8_type();
    int rc = attr_write(f, d, name, t, H5Screate_simple(1, &dim, NULL), values, err, err_sz);
    if (t >= 0) {
        H5Tclose(t);
    }
    return rc;
}

int train_h5_attr_i32(TrainH5 *f, TrainH5Set *d, const char *name, int32_t value, char *err,
                      size_t err_sz) {
    return attr_write(f, d, name, H5T_NATIVE_INT32, H5Screate(H5S_SCALAR), &value, err, err_sz);
}

int train_h5_attr_i64(TrainH5 *f, TrainH5Set *d, const char *name, int64_t value, char *err,
                      size_t err_sz) {
    return attr_write(f, d, name, H5T_NATIVE_INT64, H5Screate(H5S_SCALAR), &value, err, err_sz);
}

int train_h5_attr_u64(TrainH5 *f, TrainH5Set *d, const char *name, uint64_t value, char *err,
                      size_t err_sz) {
    return attr_write(f, d, name, H5T_NATIVE_UINT64, H5Screate(H5S_SCALAR), &value, err, err_sz);
}

int train_h5_attr_i32s(TrainH5 *f, TrainH5Set *d, const char *name, const int32_t *values, int n,
                       char *err, size_t err_sz) {
    hsize_t dim = (hsize_t)n;
    return attr_write(f, d, name, H5T_NATIVE_INT32, H5Screate_simple(1, &dim, NULL), values, err,
                      err_sz);
}

/* ---- finishing ---- */

int train_h5_finish(TrainH5 *f, char *err, size_t err_sz) {
    int rc = 0;
    for (int i = 0; i < f->nsets && !rc; i++) {
        rc = set_flush(f->sets[i], err, err_sz);
    }
    for (int i = 1; i < f->nsets && !rc; i++) {
        if (f->sets[i]->rows != f->sets[0]->rows) {
            rc = ag_errorf(err, err_sz, AG_ESTATE, "%s: %s has %lld rows, %s has %lld", f->part,
                           f->sets[i]->name, (long long)f->sets[i]->rows, f->sets[0]->name,
                           (long long)f->sets[0]->rows);
        }
    }
    if (!rc) {
        rc = train_h5_attr_i32(f, NULL, "complete", 1, err, err_sz);
    }
    if (rc) {
        train_h5_abort(f);
        return rc;
    }
    /* close everything; the file's close writes its metadata and may fail like a write */
    for (int i = 0; i < f->nsets; i++) {
        herr_t st = H5Dclose(f->sets[i]->id);
        f->sets[i]->id = H5I_INVALID_HID;
        if (st < 0) {
            h5_note(f);
        }
        if (st < 0 && !rc) {
            rc = h5_fail(f, err, err_sz, AG_EIO, "cannot close a dataset");
        }
    }
    herr_t st = H5Gclose(f->root);
    f->root = H5I_INVALID_HID;
    if (st >= 0) {
        st = H5Fflush(f->file, H5F_SCOPE_GLOBAL);
    }
    if (st < 0) {
        h5_note(f);
    }
    if (!rc && st < 0) {
        rc = h5_fail(f, err, err_sz, AG_EIO, "cannot write the file");
    }
    st = H5Fclose(f->file);
    f->file = H5I_INVALID_HID;
    if (st < 0) {
        h5_note(f);
    }
    if (!rc && st < 0) {
        rc = h5_fail(f, err, err_sz, AG_EIO, "cannot close the file");
    }
    /* on the disk before it has its name */
    int fd = rc ? -1 : open(f->part, O_RDONLY);
    if (!rc && (fd < 0 || fsync(fd) != 0)) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s: cannot sync: %s", f->part, strerror(errno));
    }
    if (fd >= 0) {
        close(fd);
    }
    if (!rc && rename(f->part, f->path) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "cannot rename %s to %s: %s", f->part, f->path,
                       strerror(errno));
    }
    if (rc) {
        train_h5_abort(f);
        return rc;
    }
    free(f->part);
    f->part = NULL; /* renamed: nothing to remove */
    train_h5_abort(f);
    return 0;
}
