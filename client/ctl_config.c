/* Where angoractl finds angorad and its token: flags, environment, the client config file, and
 * the data directory of a local daemon (its token and port files), first found wins. A config
 * file that holds a token must be private to its owner (mode 0600), as ssh asks of its keys. */
#include "ctl.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CTL_CONFIG_MAX      (64u << 10)
#define CTL_TOKEN_FILE_MAX  4096
#define CTL_DEFAULT_PORT    7878
#define CTL_DEFAULT_TIMEOUT 30.0

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int ctl_config_default_path(char *out, size_t out_sz) {
    const char *xdg = env("XDG_CONFIG_HOME"), *home = env("HOME");
    int n;
    if (xdg) {
        n = snprintf(out, out_sz, "%s/angora/client.json", xdg);
    } else if (home) {
        n = snprintf(out, out_sz, "%s/.config/angora/client.json", home);
    } else {
        return AG_ENOTFOUND;
    }
    return n < 0 || (size_t)n >= out_sz ? AG_ETOOBIG : 0;
}

int ctl_config_daemon_data_dir(char *out, size_t out_sz) {
    const char *xdg = env("XDG_DATA_HOME"), *home = env("HOME");
    int n;
    if (xdg) {
        n = snprintf(out, out_sz, "%s/angora", xdg);
    } else {
        n = snprintf(out, out_sz, "%s/.local/share/angora", home ? home : "/tmp");
    }
    return n < 0 || (size_t)n >= out_sz ? AG_ETOOBIG : 0;
}

int ctl_url_normalize(const char *in, char *out, size_t out_sz, char *err, size_t err_sz) {
    size_t len = strlen(in);
    const char *host;
    if (!strncmp(in, "http://", 7)) {
        host = in + 7;
    } else if (!strncmp(in, "https://", 8)) {
        host = in + 8;
    } else {
        return ag_errorf(err, err_sz, AG_EINVAL, "URL \"%s\" must start with http:// or https://",
                         in);
    }
    if (!*host || *host == '/' || strpbrk(in, "?# \t\r\n")) {
        return ag_errorf(err, err_sz, AG_EINVAL, "URL \"%s\" needs a host and no query or spaces",
                         in);
    }
    while (len > 0 && in[len - 1] == '/') {
        len--;
    }
    if (len >= out_sz) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "URL too long");
    }
    memcpy(out, in, len);
    out[len] = '\0';
    return 0;
}

/* the first line of a small file, trimmed; AG_ENOTFOUND when the file does not exist */
static int read_first_line(const char *path, char *out, size_t out_sz, char *err, size_t err_sz) {
    char *data = NULL, msg[256];
    size_t len = 0, n;
    int rc;
    if (!ag_fs_exists(path)) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "%s does not exist", path);
    }
    rc = ag_fs_read_file(path, CTL_TOKEN_FILE_MAX, &data, &len, msg, sizeof(msg));
    if (rc) {
        return ag_errorf(err, err_sz, rc, "%s", msg);
    }
    n = strcspn(data, "\r\n");
    while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == '\t')) {
        n--;
    }
    if (n == 0 || n >= out_sz) {
        free(data);
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: expected one line of at most %zu bytes",
                         path, out_sz - 1);
    }
    memcpy(out, data, n);
    out[n] = '\0';
    free(data);
    return 0;
}

int ctl_config_check_private(const char *path, char *err, size_t err_sz) {
    struct stat st;
    if (stat(path, &st) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "config %s: %s", path, strerror(errno));
    }
    if (st.st_mode & 077) {
        return ag_errorf(err, err_sz, AG_EFORBIDDEN,
                         "config %s holds a token but other users can read it (mode %04o); "
                         "refusing to use it: run chmod 600 %s",
                         path, (unsigned)(st.st_mode & 07777), path);
    }
    return 0;
}

typedef struct FileConf {
    char url[CTL_URL_MAX];
    char token[CTL_TOKEN_MAX];
    char token_file[CTL_PATH_MAX];
    char data_dir[CTL_PATH_MAX];
    double timeout;
    int has_timeout;
} FileConf;

static int file_conf_load(const char *path, FileConf *fc, char *err, size_t err_sz) {
    static const char *const keys[] = {"url", "token", "token_file", "data_dir", "timeout", NULL};
    AgJsonErr je = {0};
    char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX + 8];
    json_t *doc = ag_json_load_file(path, CTL_CONFIG_MAX, msg, sizeof(msg));
    int rc = 0;
    if (!doc) {
        return ag_errorf(err, err_sz, AG_EJSON, "config %s: %s", path, msg);
    }
    if (ag_json_expect_object(doc, "", &je) || ag_json_check_keys(doc, "", keys, &je) ||
        ag_json_get_string(doc, "", "url", "", fc->url, sizeof(fc->url), &je) ||
        ag_json_get_string(doc, "", "token", "", fc->token, sizeof(fc->token), &je) ||
        ag_json_get_string(doc, "", "token_file", "", fc->token_file, sizeof(fc->token_file),
                           &je) ||
        ag_json_get_string(doc, "", "data_dir", "", fc->data_dir, sizeof(fc->data_dir), &je) ||
        ag_json_get_double(doc, "", "timeout", CTL_DEFAULT_TIMEOUT, 0, 86400, &fc->timeout, &je)) {
        ag_json_err_format(&je, msg, sizeof(msg));
        rc = ag_errorf(err, err_sz, AG_EJSON, "config %s: %s", path, msg);
    }
    fc->has_timeout = rc == 0 && json_object_get(doc, "timeout") != NULL;
    json_decref(doc);
    if (rc == 0 && fc->token[0]) {
        rc = ctl_config_check_private(path, err, err_sz);
    }
    return rc;
}

static int parse_timeout(const char *v, double *out, char *err, size_t err_sz) {
    char *end;
    double x;
    errno = 0;
    x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= 0 && x <= 86400)) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "--timeout: expected seconds in [0, 86400], got \"%s\"", v);
    }
    *out = x;
    return 0;
}

int ctl_config_resolve(const CtlArgs *a, CtlConfig *c, char *err, size_t err_sz) {
    FileConf fc;
    char path[CTL_PATH_MAX], file[CTL_PATH_MAX + 16], msg[CTL_PATH_MAX + 128], port[32];
    const char *cfg_path = a->config ? a->config : env("ANGORA_CONFIG");
    const char *url = NULL, *v;
    int rc;
    memset(c, 0, sizeof(*c));
    memset(&fc, 0, sizeof(fc));
    /* the config file: an explicit one must exist, the default one may not */
    if (cfg_path) {
        rc = file_conf_load(cfg_path, &fc, err, err_sz);
        if (rc) {
            return rc;
        }
    } else if (ctl_config_default_path(path, sizeof(path)) == 0 && ag_fs_exists(path)) {
        rc = file_conf_load(path, &fc, err, err_sz);
        if (rc) {
            return rc;
        }
        cfg_path = path;
    }
    /* the local daemon's data directory */
    if (a->data_dir) {
        snprintf(c->data_dir, sizeof(c->data_dir), "%s", a->data_dir);
    } else if (fc.data_dir[0]) {
        snprintf(c->data_dir, sizeof(c->data_dir), "%s", fc.data_dir);
    } else {
        ctl_config_daemon_data_dir(c->data_dir, sizeof(c->data_dir));
    }
    if (a->data_dir && !ag_fs_is_dir(a->data_dir)) {
        return ag_errorf(err, err_sz, AG_EINVAL, "--data-dir %s is not a directory", a->data_dir);
    }
    /* address */
    if (a->url) {
        url = a->url;
        snprintf(c->url_source, sizeof(c->url_source), "--url");
    } else if ((v = env("ANGORA_URL")) != NULL) {
        url = v;
        snprintf(c->url_source, sizeof(c->url_source), "ANGORA_URL");
    } else if (fc.url[0]) {
        url = fc.url;
        snprintf(c->url_source, sizeof(c->url_source), "%s", cfg_path);
    } else {
        snprintf(file, sizeof(file), "%s/port", c->data_dir);
        if (read_first_line(file, port, sizeof(port), msg, sizeof(msg)) == 0 &&
            strspn(port, "0123456789") == strlen(port) && atoi(port) > 0 && atoi(port) < 65536) {
            snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d", atoi(port));
            snprintf(c->url_source, sizeof(c->url_source), "%s", file);
        } else {
            snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d", CTL_DEFAULT_PORT);
            snprintf(c->url_source, sizeof(c->url_source), "the default address");
        }
    }
    if (url) {
        rc = ctl_url_normalize(url, c->url, sizeof(c->url), msg, sizeof(msg));
        if (rc) {
            return ag_errorf(err, err_sz, AG_EINVAL, "%s (from %s)", msg, c->url_source);
        }
    }
    /* token */
    if (a->token) {
        snprintf(c->token, sizeof(c->token), "%s", a->token);
        snprintf(c->token_source, sizeof(c->token_source), "--token");
    } else if (!a->token_file && (v = env("ANGORA_TOKEN")) != NULL) {
        snprintf(c->token, sizeof(c->token), "%s", v);
        snprintf(c->token_source, sizeof(c->token_source), "ANGORA_TOKEN");
    } else if (a->token_file || fc.token[0] || fc.token_file[0]) {
        const char *tf = a->token_file ? a->token_file : fc.token[0] ? NULL : fc.token_file;
        if (tf) {
            rc = read_first_line(tf, c->token, sizeof(c->token), msg, sizeof(msg));
            if (rc) {
                return ag_errorf(err, err_sz, rc == AG_ENOTFOUND ? AG_EINVAL : rc, "token file: %s",
                                 msg);
            }
            snprintf(c->token_source, sizeof(c->token_source), "%s", tf);
        } else {
            snprintf(c->token, sizeof(c->token), "%s", fc.token);
            snprintf(c->token_source, sizeof(c->token_source), "%s", cfg_path);
        }
    } else {
        snprintf(file, sizeof(file), "%s/token", c->data_dir);
        rc = read_first_line(file, c->token, sizeof(c->token), msg, sizeof(msg));
        if (rc == 0) {
            snprintf(c->token_source, sizeof(c->token_source), "%s", file);
        } else if (rc != AG_ENOTFOUND && rc != AG_EIO) {
            return ag_errorf(err, err_sz, rc, "token file: %s", msg);
        } else {
            c->token[0] = '\0';
        }
    }
    if (strpbrk(c->token, "\r\n")) {
        return ag_errorf(err, err_sz, AG_EINVAL, "the token from %s has a line break",
                         c->token_source);
    }
    /* timeout */
    c->timeout_s = fc.has_timeout ? fc.timeout : CTL_DEFAULT_TIMEOUT;
    if (a->timeout) {
        rc = parse_timeout(a->timeout, &c->timeout_s, err, err_sz);
        if (rc) {
            return rc;
        }
    }
    return 0;
}
