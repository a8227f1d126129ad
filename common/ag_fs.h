/* Files and directories: bounded reads, atomic writes (temp file + fsync + rename), mkdir -p,
 * and where the installed data (MJCF models, web files, migrations) lives. */
#ifndef AG_FS_H
#define AG_FS_H

#include <stddef.h>

/* reads a whole file of at most max_bytes into a NUL-terminated malloc'd buffer */
int ag_fs_read_file(const char *path, size_t max_bytes, char **data, size_t *len, char *err,
                    size_t err_sz);
/* writes path atomically: a reader sees the old content or the new one, never a mix; a crash
 * leaves at most a stray "path.tmp.PID" */
int ag_fs_write_atomic(const char *path, const void *data, size_t len, char *err, size_t err_sz);
/* creates a directory and its parents (mode 0755 unless given); existing ones are fine */
int ag_fs_mkdir_p(const char *path, int mode, char *err, size_t err_sz);
int ag_fs_exists(const char *path);
int ag_fs_is_dir(const char *path);

/* The data directory: $ANGORA_DATA_DIR if set, else <exe dir>/../share/angora if it exists,
 * else the install prefix compiled in, else the build tree's staging folder (build/share/angora,
 * links into the source tree). Holds models/, web/ and migrations/. Never NULL. */
const char *ag_fs_data_dir(void);
/* joins the data dir and a relative path into out; returns AG_ETOOBIG if it does not fit */
int ag_fs_data_path(const char *relative, char *out, size_t out_sz);

#endif
