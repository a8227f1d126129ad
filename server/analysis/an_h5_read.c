/* Reader of activation recordings (an_h5.h): opens and validates a file (format, version,
 * completeness, index, dataset shapes), lists its layers and variables with their attributes,
 * and reads row ranges as float32. Also the error-stack helpers the writer shares. */
#include "an_h5.h"
#include "an_h5_int.h"

#include "ag_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t fits AnH5File.file_id");

/* ---- shared with the writer ---- */

#define REASON_MAX 1024

void an_h5_init(void) {
    H5dont_atexit(); /* refused, harmlessly, once the library is running */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    /* walking downward, the last message is the innermost (the actual cause) */
    if (e->desc && e->desc[0]) {
        snprintf(data, REASON_MAX, "%s", e->desc);
    }
    return 0;
}

void an_h5_reason(char *out, size_t out_sz) {
    char desc[REASON_MAX] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, innermost, desc);
    H5Eclear2(H5E_DEFAULT);
    /* a system call's failure ("..., errno = 28, error message = '...', ...") has its own text */
    const char *key = "error message = '", *text = desc, *sys = strstr(desc, key);
    int len = (int)strlen(desc);
    if (sys) {
        text = sys + strlen(key);
        const char *end = strchr(text, '\'');
        len = end ? (int)(end - text) : (int)strlen(text);
    }
    if (out && out_sz) {
        snprintf(out, out_sz, "%s%.*s", len ? ": " : "", len, text);
    }
}

hid_t an_h5_string_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* ---- attributes ---- */

/* a string attribute (variable or fixed length) as a malloc'd string; "" when absent.
 * Returns 0, AG_ENOMEM, or AG_EFORMAT when it exists but is not a string. */
static int attr_get_string(hid_t loc, const char *name, char **out) {
    *out = NULL;
    if (H5Aexists(loc, name) <= 0) {
        *out = strdup("");
        return *out ? 0 : AG_ENOMEM;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    int rc = AG_EFORMAT;
    if (a >= 0 && ft >= 0 && H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            /* read as stored: HDF5 converts no string between ASCII and UTF-8 */
            hid_t mt = H5Tcopy(ft);
            char *v = NULL;
            if (H5Aread(a, mt, &v) >= 0) {
                *out = strdup(v ? v : "");
                rc = *out ? 0 : AG_ENOMEM;
                H5free_memory(v);
            }
            H5Tclose(mt);
        } else {
            size_t n = H5Tget_size(ft);
            char *v = calloc(1, n + 1);
            hid_t mt = H5Tcopy(ft);
            if (v && H5Aread(a, mt, v) >= 0) {
                /* a space-padded string (Fortran style) loses its padding */
                for (size_t k = n;
                     k > 0 && H5Tget_strpad(ft) == H5T_STR_SPACEPAD && v[k - 1] == ' '; k--) {
                    v[k - 1] = '\0';
                }
                *out = v;
                v = NULL;
                rc = 0;
            }
            free(v);
            H5Tclose(mt);
        }
    }
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

static void attr_copy_string(hid_t loc, const char *name, char *dst, size_t dst_sz) {
    char *v;
    dst[0] = '\0';
    if (attr_get_string(loc, name, &v) == 0) {
        snprintf(dst, dst_sz, "%s", v);
    }
    free(v);
}

/* an integer attribute of any integer type (HDF5 converts); 1 found, 0 absent, -1 not an
 * integer scalar */
static int attr_get_int(hid_t loc, const char *name, hid_t mem_type, void *out) {
    if (H5Aexists(loc, name) <= 0) {
        return 0;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a), space = H5Aget_space(a);
    int rc = -1;
    if (a >= 0 && H5Tget_class(ft) == H5T_INTEGER && H5Sget_simple_extent_npoints(space) == 1 &&
        H5Aread(a, mem_type, out) >= 0) {
        rc = 1;
    }
    H5Sclose(space);
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* a layer's 1-D integer shape attribute (`shape`, `map_shape`) of at most AN_H5_SHAPE_MAX
 * values; rank 0 when absent or of another kind */
static void attr_get_shape(hid_t loc, const char *name, int32_t shape[AN_H5_SHAPE_MAX], int *rank) {
    *rank = 0;
    if (H5Aexists(loc, name) <= 0) {
        return;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (H5Tget_class(ft) == H5T_INTEGER && n >= 1 && n <= AN_H5_SHAPE_MAX &&
        H5Aread(a, H5T_NATIVE_INT32, shape) >= 0) {
        *rank = (int)n;
    }
    H5Sclose(space);
    H5Tclose(ft);
    H5Aclose(a);
}

/* the `dim_names` string array of a variable (absent or unreadable: none) */
static int attr_get_dim_names(hid_t loc, AnH5Dataset *d) {
    if (H5Aexists(loc, "dim_names") <= 0) {
        return 0;
    }
    hid_t a = H5Aopen(loc, "dim_names", H5P_DEFAULT);
    hid_t ft = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    int rc = 0;
    if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 && n == d->cols) {
        char **v = calloc((size_t)n, sizeof *v);
        d->dim_names = calloc((size_t)n, sizeof *d->dim_names);
        hid_t mt = H5Tcopy(ft);
        if (!v || !d->dim_names) {
            rc = AG_ENOMEM;
        } else if (H5Aread(a, mt, v) >= 0) {
            d->n_dim_names = (int)n;
            for (hssize_t i = 0; i < n; i++) {
                d->dim_names[i] = strdup(v[i] ? v[i] : "");
                rc = d->dim_names[i] ? rc : AG_ENOMEM;
                H5free_memory(v[i]);
            }
        }
        H5Tclose(mt);
        free(v);
    }
    H5Sclose(space);
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* ---- datasets ---- */

typedef struct NameList {
    char **names;
    int n, cap, bad; /* bad: a member that is not a dataset */
} NameList;

static herr_t collect_name(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    NameList *l = data;
    hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
    if (obj < 0 || H5Iget_type(obj) != H5I_DATASET) {
        l->bad = 1;
    }
    if (obj >= 0) {
        H5Oclose(obj);
    }
    (void)info;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **names = realloc(l->names, (size_t)cap * sizeof *names);
        if (!names) {
            return -1;
        }
        l->names = names;
        l->cap = cap;
    }
    l->names[l->n] = strdup(name);
    return l->names[l->n++] ? 0 : -1;
}

/* the shape of a dataset: rank and dims (up to 2); -1 when it cannot be read */
static int dataset_dims(hid_t d, hsize_t dims[2]) {
    hid_t space = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rank = -1;
    }
    H5Sclose(space);
    return rank;
}

/* a numeric (float or integer) dataset's class, else -1 */
static int dataset_numeric(hid_t d) {
    hid_t t = H5Dget_type(d);
    H5T_class_t c = H5Tget_class(t);
    H5Tclose(t);
    return c == H5T_FLOAT || c == H5T_INTEGER ? 0 : -1;
}

static int load_dataset(AnH5File *f, hid_t group, const char *gname, const char *name,
                        AnH5Kind kind, AnH5Dataset *out, char *err, size_t err_sz) {
    memset(out, 0, sizeof *out);
    if (strlen(name) >= AN_H5_NAME_MAX) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: %s/%s: name longer than %d characters",
                         f->path, gname, name, AN_H5_NAME_MAX - 1);
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    hsize_t dims[2] = {0, 0};
    int rank = d >= 0 ? dataset_dims(d, dims) : -1;
    int rc = 0;
    if (rank != 2 || dims[1] < 1 || dataset_numeric(d) != 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT,
                       "%s: %s/%s must be a 2-D numeric dataset [steps, columns >= 1]", f->path,
                       gname, name);
    } else if ((int64_t)dims[0] != f->steps) {
        rc = ag_errorf(err, err_sz, AG_EMISMATCH, "%s: %s/%s has %llu rows, the index %lld",
                       f->path, gname, name, (unsigned long long)dims[0], (long long)f->steps);
    } else {
        out->cols = (int64_t)dims[1];
        if (kind == AN_H5_LAYER) {
            attr_copy_string(d, "type", out->type, sizeof out->type);
            attr_copy_string(d, "net", out->net, sizeof out->net);
            attr_get_shape(d, "shape", out->shape, &out->shape_rank);
            attr_get_shape(d, "map_shape", out->map_shape, &out->map_shape_rank);
            int32_t pooled = 0;
            out->pooled = attr_get_int(d, "pooled", H5T_NATIVE_INT32, &pooled) == 1 && pooled;
        } else {
            attr_copy_string(d, "group", out->group, sizeof out->group);
            attr_copy_string(d, "units", out->units, sizeof out->units);
            attr_copy_string(d, "view", out->view, sizeof out->view);
            if (attr_get_dim_names(d, out)) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", f->path);
            }
        }
    }
    if (d >= 0) {
        H5Dclose(d);
    }
    an_h5_reason(NULL, 0);
    return rc;
}

/* every dataset of a group (absent group: none), in name order */
static int load_group(AnH5File *f, const char *gname, AnH5Kind kind, AnH5Dataset **out, int *n,
                      char *err, size_t err_sz) {
    *out = NULL;
    *n = 0;
    hid_t file = (hid_t)f->file_id;
    if (H5Lexists(file, gname, H5P_DEFAULT) <= 0) {
        an_h5_reason(NULL, 0);
        return 0;
    }
    hid_t g = H5Gopen2(file, gname, H5P_DEFAULT);
    NameList l = {0};
    int rc = 0;
    if (g < 0 || H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &l) < 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: cannot list %s", f->path, gname);
    } else if (l.bad) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: %s holds something other than datasets",
                       f->path, gname);
    } else if (l.n > 0 && !(*out = calloc((size_t)l.n, sizeof **out))) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", f->path);
    }
    for (int i = 0; i < l.n && rc == 0; i++) {
        rc = load_dataset(f, g, gname, l.names[i], kind, &(*out)[i], err, err_sz);
        *n = i + 1;
    }
    for (int i = 0; i < l.n; i++) {
        free(l.names[i]);
    }
    free(l.names);
    if (g >= 0) {
        H5Gclose(g);
    }
    return rc;
}

/* reads a 1-D int32 index dataset of f->steps rows */
static int read_index(AnH5File *f, const char *name, int32_t **out, char *err, size_t err_sz) {
    hid_t file = (hid_t)f->file_id;
    *out = NULL;
    if (H5Lexists(file, AN_H5_GROUP_INDEX, H5P_DEFAULT) <= 0 ||
        H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        an_h5_reason(NULL, 0);
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: %s is missing", f->path, name);
    }
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hsize_t dims[2] = {0, 0};
    int rank = d >= 0 ? dataset_dims(d, dims) : -1;
    int rc = 0;
    if (rank != 1 || dataset_numeric(d) != 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: %s must be a 1-D integer dataset", f->path,
                       name);
    } else if ((int64_t)dims[0] != f->steps) {
        rc = ag_errorf(err, err_sz, AG_EMISMATCH,
                       "%s: %s has %llu rows but the file says steps = %lld", f->path, name,
                       (unsigned long long)dims[0], (long long)f->steps);
    } else if (!(*out = malloc((size_t)(f->steps > 0 ? f->steps : 1) * sizeof **out))) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", f->path);
    } else if (f->steps > 0 &&
               H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        char reason[512];
        an_h5_reason(reason, sizeof reason);
        rc = ag_errorf(err, err_sz, AG_ETRUNCATED, "%s: cannot read %s%s", f->path, name, reason);
    }
    if (d >= 0) {
        H5Dclose(d);
    }
    return rc;
}

/* checks the index (episodes 0..E-1 in order, steps 0.. within each) and builds the episode
 * table */
static int load_index(AnH5File *f, char *err, size_t err_sz) {
    int32_t *episode = NULL, *step = NULL;
    int rc = read_index(f, AN_H5_INDEX_EPISODE, &episode, err, err_sz);
    rc = rc ? rc : read_index(f, AN_H5_INDEX_STEP, &step, err, err_sz);
    int32_t e = -1;
    for (int64_t i = 0; i < f->steps && rc == 0; i++) {
        int ok = (episode[i] == e + 1 && step[i] == 0) ||
                 (e >= 0 && episode[i] == e && step[i] == step[i - 1] + 1);
        if (!ok) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT,
                           "%s: index row %lld (episode %d, step %d) breaks the order: episodes "
                           "0, 1, ... and steps 0, 1, ... within each",
                           f->path, (long long)i, episode[i], step[i]);
        }
        e = episode[i];
    }
    if (rc == 0 && e + 1 != f->episodes) {
        rc = ag_errorf(err, err_sz, AG_EMISMATCH,
                       "%s: the index holds %d episodes but the file says episodes = %d", f->path,
                       e + 1, f->episodes);
    }
    if (rc == 0 && f->episodes > 0) {
        f->episode_start = calloc((size_t)f->episodes, sizeof *f->episode_start);
        f->episode_len = calloc((size_t)f->episodes, sizeof *f->episode_len);
        if (!f->episode_start || !f->episode_len) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", f->path);
        }
        for (int64_t i = 0; i < f->steps && rc == 0; i++) {
            if (step[i] == 0) {
                f->episode_start[episode[i]] = i;
            }
            f->episode_len[episode[i]]++;
        }
    }
    free(episode);
    free(step);
    return rc;
}

/* the root attributes: format, version and completeness first, as they decide everything */
static int load_root(AnH5File *f, char *err, size_t err_sz) {
    hid_t file = (hid_t)f->file_id;
    char *format = NULL;
    int rc = attr_get_string(file, "format", &format);
    if (rc == AG_ENOMEM) {
        return ag_errorf(err, err_sz, rc, "%s: out of memory", f->path);
    }
    if (rc || strcmp(format, AN_H5_FORMAT) != 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT,
                       "%s: not an activation recording (root attribute format is '%s', expected "
                       "'%s')",
                       f->path, format ? format : "?", AN_H5_FORMAT);
        free(format);
        return rc;
    }
    free(format);
    int32_t complete = 0;
    if (attr_get_int(file, "format_version", H5T_NATIVE_INT32, &f->format_version) != 1) {
        return ag_errorf(err, err_sz, AG_EFORMAT,
                         "%s: the integer attribute format_version is "
                         "missing",
                         f->path);
    }
    if (f->format_version != AN_H5_FORMAT_VERSION) {
        return ag_errorf(err, err_sz, AG_EVERSION,
                         "%s: format_version %d, but this reader reads version %d", f->path,
                         f->format_version, AN_H5_FORMAT_VERSION);
    }
    if (attr_get_int(file, "complete", H5T_NATIVE_INT32, &complete) != 1 || complete != 1) {
        return ag_errorf(err, err_sz, AG_ETRUNCATED,
                         "%s: incomplete recording (no complete = 1: the recorder did not finish "
                         "it)",
                         f->path);
    }
    if (attr_get_int(file, "steps", H5T_NATIVE_INT64, &f->steps) != 1 || f->steps < 0 ||
        attr_get_int(file, "episodes", H5T_NATIVE_INT32, &f->episodes) != 1 || f->episodes < 0) {
        return ag_errorf(err, err_sz, AG_EFORMAT,
                         "%s: the root attributes steps and episodes must be integers >= 0",
                         f->path);
    }
    int32_t det = 0;
    f->deterministic = attr_get_int(file, "deterministic", H5T_NATIVE_INT32, &det) == 1 && det;
    if (attr_get_int(file, "seed", H5T_NATIVE_UINT64, &f->seed) != 1) {
        f->seed = 0;
    }
    struct {
        const char *name;
        char **dst;
    } strings[] = {{"spec", &f->spec},
                   {"model", &f->model},
                   {"task", &f->task},
                   {"checkpoint", &f->checkpoint},
                   {"checkpoint_sha256", &f->checkpoint_sha256},
                   {"created", &f->created}};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        rc = attr_get_string(file, strings[i].name, strings[i].dst);
        if (rc) {
            return ag_errorf(err, err_sz, rc, "%s: the root attribute %s %s", f->path,
                             strings[i].name, rc == AG_ENOMEM ? "is too large" : "is no string");
        }
    }
    return 0;
}

/* ---- the file ---- */

int an_h5_open(AnH5File **out, const char *path, char *err, size_t err_sz) {
    *out = NULL;
    an_h5_init();
    struct stat st;
    if (stat(path, &st) != 0) {
        return ag_errorf(err, err_sz, errno == ENOENT ? AG_ENOTFOUND : AG_EIO, "%s: %s", path,
                         strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: not a regular file", path);
    }
    if (H5Fis_hdf5(path) <= 0) {
        an_h5_reason(NULL, 0);
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: not an HDF5 file", path);
    }
    AnH5File *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    f->file_id = -1;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rc = 0;
    if (file < 0) {
        char reason[512];
        an_h5_reason(reason, sizeof reason);
        rc = ag_errorf(err, err_sz, strstr(reason, "truncated") ? AG_ETRUNCATED : AG_EFORMAT,
                       "%s: cannot open as HDF5 (truncated or damaged)%s", path, reason);
        goto out;
    }
    f->file_id = (int64_t)file;
    rc = load_root(f, err, err_sz);
    rc = rc ? rc : load_index(f, err, err_sz);
    rc = rc ? rc
            : load_group(f, AN_H5_GROUP_LAYERS, AN_H5_LAYER, &f->layers, &f->n_layers, err, err_sz);
    rc = rc ? rc
            : load_group(f, AN_H5_GROUP_VARIABLES, AN_H5_VARIABLE, &f->variables, &f->n_variables,
                         err, err_sz);
out:
    an_h5_reason(NULL, 0);
    if (rc) {
        an_h5_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

static void free_datasets(AnH5Dataset *d, int n) {
    for (int i = 0; d && i < n; i++) {
        for (int j = 0; j < d[i].n_dim_names; j++) {
            free(d[i].dim_names[j]);
        }
        free(d[i].dim_names);
    }
    free(d);
}

void an_h5_close(AnH5File *f) {
    if (!f) {
        return;
    }
    if (f->file_id >= 0) {
        H5Fclose((hid_t)f->file_id);
    }
    free_datasets(f->layers, f->n_layers);
    free_datasets(f->variables, f->n_variables);
    free(f->episode_start);
    free(f->episode_len);
    free(f->spec);
    free(f->model);
    free(f->task);
    free(f->checkpoint);
    free(f->checkpoint_sha256);
    free(f->created);
    free(f->path);
    free(f);
}

int an_h5_find(const AnH5File *f, AnH5Kind kind, const char *name) {
    const AnH5Dataset *d = kind == AN_H5_LAYER ? f->layers : f->variables;
    int n = kind == AN_H5_LAYER ? f->n_layers : f->n_variables;
    for (int i = 0; i < n; i++) {
        if (strcmp(d[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

int an_h5_read_rows(const AnH5File *f, AnH5Kind kind, int index, int64_t row0, int64_t n,
                    float *out, char *err, size_t err_sz) {
    const AnH5Dataset *d = kind == AN_H5_LAYER ? f->layers : f->variables;
    int count = kind == AN_H5_LAYER ? f->n_layers : f->n_variables;
    const char *gname = kind == AN_H5_LAYER ? AN_H5_GROUP_LAYERS : AN_H5_GROUP_VARIABLES;
    if (index < 0 || index >= count || row0 < 0 || n < 0 || row0 + n > f->steps) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "%s: rows %lld..%lld of dataset %d are out of "
                         "range",
                         f->path, (long long)row0, (long long)(row0 + n), index);
    }
    if (n == 0) {
        return 0;
    }
    char path[AN_H5_NAME_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", gname, d[index].name);
    hid_t ds = H5Dopen2((hid_t)f->file_id, path, H5P_DEFAULT);
    hid_t fspace = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t start[2] = {(hsize_t)row0, 0}, cnt[2] = {(hsize_t)n, (hsize_t)d[index].cols};
    hid_t mspace = H5Screate_simple(2, cnt, NULL);
    int rc = 0;
    if (fspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
        H5Dread(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out) < 0) {
        char reason[512];
        an_h5_reason(reason, sizeof reason);
        rc = ag_errorf(err, err_sz, AG_ETRUNCATED, "%s: cannot read %s%s", f->path, path, reason);
    }
    H5Sclose(mspace);
    if (fspace >= 0) {
        H5Sclose(fspace);
    }
    if (ds >= 0) {
        H5Dclose(ds);
    }
    return rc;
}

/* ---- any HDF5 file ---- */

int an_h5_is_hdf5(const char *path) {
    an_h5_init();
    int rc = H5Fis_hdf5(path) > 0;
    an_h5_reason(NULL, 0);
    return rc;
}

int an_h5_read_matrix(double **data, int64_t *rows, int64_t *cols, const char *path,
                      const char *dataset, char *err, size_t err_sz) {
    *data = NULL;
    *rows = *cols = 0;
    an_h5_init();
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        char reason[512];
        an_h5_reason(reason, sizeof reason);
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: cannot open as HDF5%s", path, reason);
    }
    int rc = 0;
    hid_t d = -1;
    hsize_t dims[2] = {0, 0};
    if (H5Lexists(file, dataset, H5P_DEFAULT) <= 0) {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "%s: no dataset %s", path, dataset);
    } else if ((d = H5Dopen2(file, dataset, H5P_DEFAULT)) < 0 || dataset_dims(d, dims) != 2 ||
               dataset_numeric(d) != 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: %s must be a 2-D numeric dataset", path,
                       dataset);
    } else if (dims[0] * dims[1] > ((hsize_t)1 << 28) ||
               !(*data = malloc((size_t)(dims[0] * dims[1] + 1) * sizeof **data))) {
        rc = ag_errorf(err, err_sz, AG_ETOOBIG, "%s: %s is too large", path, dataset);
    } else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) < 0) {
        char reason[512];
        an_h5_reason(reason, sizeof reason);
        rc = ag_errorf(err, err_sz, AG_ETRUNCATED, "%s: cannot read %s%s", path, dataset, reason);
    }
    if (rc) {
        free(*data);
        *data = NULL;
    } else {
        *rows = (int64_t)dims[0];
        *cols = (int64_t)dims[1];
    }
    if (d >= 0) {
        H5Dclose(d);
    }
    H5Fclose(file);
    an_h5_reason(NULL, 0);
    return rc;
}
