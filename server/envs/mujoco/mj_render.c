/* Offscreen rendering with OSMesa loaded at run time, one scene or many tiled into one
 * framebuffer (see mj_render.h). */
#include "mj_render.h"

#include "mj_runtime.h"

#include "ag_error.h"

#include <GL/osmesa.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef OSMesaContext (*EnvMjOsCreate)(GLenum, GLint, GLint, GLint, OSMesaContext);
typedef GLboolean (*EnvMjOsMakeCurrent)(OSMesaContext, void *, GLenum, GLsizei, GLsizei);
typedef void (*EnvMjOsDestroy)(OSMesaContext);

static struct {
    pthread_once_t once;
    void *lib;
    EnvMjOsCreate create;
    EnvMjOsMakeCurrent make_current;
    EnvMjOsDestroy destroy;
    char error[256];
} env_mj_osmesa = {.once = PTHREAD_ONCE_INIT};

struct EnvMjRenderer {
    OSMesaContext ctx;
    unsigned char *gl_buffer; /* the context's own colour buffer (unused: we draw offscreen) */
    int width, height;
    int cols, rows;  /* the tile grid of the offscreen buffer: cols * rows scenes per pass */
    int full_detail; /* the model's own tessellation */
    mjvScene scene;
    mjvCamera camera;
    mjvOption option;
    mjrContext con;
    int have_scene, have_con;
    unsigned char *rgb; /* (rows * height) * (cols * width) * 3, as read (bottom row first) */
};

#define ENV_MJ_GL_SIZE 64 /* the window buffer is not drawn to; keep it small */

static void env_mj_osmesa_open(void) {
    static const char *const names[] = {"libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so"};
    /* small images rendered once per step: llvmpipe's worker threads cost more than they save
     * and would compete with the other ranks; an explicit setting is left alone */
    setenv("LP_NUM_THREADS", "0", 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && env_mj_osmesa.lib == NULL; i++) {
        env_mj_osmesa.lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (env_mj_osmesa.lib == NULL) {
        snprintf(env_mj_osmesa.error, sizeof(env_mj_osmesa.error),
                 "offscreen rendering needs libOSMesa (Debian: libosmesa6)");
        return;
    }
    env_mj_osmesa.create = (EnvMjOsCreate)dlsym(env_mj_osmesa.lib, "OSMesaCreateContextExt");
    env_mj_osmesa.make_current = (EnvMjOsMakeCurrent)dlsym(env_mj_osmesa.lib, "OSMesaMakeCurrent");
    env_mj_osmesa.destroy = (EnvMjOsDestroy)dlsym(env_mj_osmesa.lib, "OSMesaDestroyContext");
    if (!env_mj_osmesa.create || !env_mj_osmesa.make_current || !env_mj_osmesa.destroy) {
        snprintf(env_mj_osmesa.error, sizeof(env_mj_osmesa.error),
                 "libOSMesa lacks the context functions");
    }
}

static int env_mj_renderer_current(EnvMjRenderer *r) {
    return env_mj_osmesa.make_current(r->ctx, r->gl_buffer, GL_UNSIGNED_BYTE, ENV_MJ_GL_SIZE,
                                      ENV_MJ_GL_SIZE)
               ? 0
               : AG_ESIM;
}

/* mjr_makeContext raises MuJoCo errors on GL failures; run it under the runtime's guard */
typedef struct EnvMjMakeArgs {
    mjModel *m;
    EnvMjRenderer *r;
} EnvMjMakeArgs;

static void env_mj_make_context(void *arg) {
    EnvMjMakeArgs *a = arg;
    mjr_makeContext(a->m, &a->r->con, mjFONTSCALE_100);
    a->r->have_con = 1;
    mjr_setBuffer(mjFB_OFFSCREEN, &a->r->con);
}

/* v within [lo, hi], and never above hi: a model asking for less detail keeps it */
static int env_mj_clamp(int v, int lo, int hi) {
    return v > hi ? hi : (v < lo ? (lo < hi ? lo : hi) : v);
}

void env_mj_render_detail(mjVisual *vis, int width, int height) {
    /* a primitive spans a fraction of the image: at 64 pixels a capsule of the hand is 4-6
     * pixels wide, and 8 slices around it are as round as the pixels can show */
    int side = width > height ? width : height;
    vis->quality.numslices = env_mj_clamp(side / 8, 8, vis->quality.numslices);
    vis->quality.numstacks = env_mj_clamp(side / 16, 4, vis->quality.numstacks);
    vis->quality.numquads = env_mj_clamp(side / 64, 1, vis->quality.numquads);
}

/* the grid for `tiles` scenes of width x height: as square in pixels as it can be, within
 * ENV_MJ_RENDER_MAX_SIDE on both sides (fewer tiles when they do not fit) */
static void env_mj_tile_grid(int width, int height, int tiles, int *cols, int *rows) {
    int max_cols = ENV_MJ_RENDER_MAX_SIDE / width, max_rows = ENV_MJ_RENDER_MAX_SIDE / height;
    max_cols = max_cols < 1 ? 1 : max_cols;
    max_rows = max_rows < 1 ? 1 : max_rows;
    int c = 1;
    while (c < max_cols && c * width < ((tiles + c - 1) / c) * height) {
        c++;
    }
    int r = (tiles + c - 1) / c;
    *cols = c;
    *rows = r < max_rows ? r : max_rows;
}

int env_mj_renderer_create(mjModel *m, const char *camera, int width, int height,
                           const EnvMjRenderOptions *options, EnvMjRenderer **out, char *err,
                           size_t err_sz) {
    int rc = 0;
    EnvMjRenderOptions defaults = {.tiles = 1, .full_detail = 1};
    if (options == NULL) {
        options = &defaults;
    }
    int tiles = options->tiles;
    EnvMjRenderer *r = NULL;
    *out = NULL;
    pthread_once(&env_mj_osmesa.once, env_mj_osmesa_open);
    if (env_mj_osmesa.error[0] != '\0') {
        return ag_errorf(err, err_sz, AG_EUNSUPPORTED, "%s", env_mj_osmesa.error);
    }
    int cam = camera != NULL ? env_mj_id(m, mjOBJ_CAMERA, camera) : -1;
    if (camera != NULL && cam < 0) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "model has no camera %s", camera);
    }
    if (width < 8 || height < 8 || width > m->vis.global.offwidth ||
        height > m->vis.global.offheight) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "image size %dx%d outside 8x8..%dx%d (the model's offscreen buffer)",
                         width, height, m->vis.global.offwidth, m->vis.global.offheight);
    }
    if (tiles < 1 || tiles > ENV_MJ_RENDER_MAX_TILES) {
        return ag_errorf(err, err_sz, AG_ERANGE, "tiles %d outside 1..%d", tiles,
                         ENV_MJ_RENDER_MAX_TILES);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    r->width = width;
    r->height = height;
    r->full_detail = options->full_detail;
    env_mj_tile_grid(width, height, tiles, &r->cols, &r->rows);
    r->gl_buffer = calloc(ENV_MJ_GL_SIZE * ENV_MJ_GL_SIZE, 4);
    r->rgb = malloc((size_t)r->cols * (size_t)width * (size_t)r->rows * (size_t)height * 3);
    if (r->gl_buffer == NULL || r->rgb == NULL) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        goto out;
    }
    r->ctx = env_mj_osmesa.create(OSMESA_RGBA, 24, 8, 0, NULL);
    if (r->ctx == NULL || env_mj_renderer_current(r) != 0) {
        rc = ag_errorf(err, err_sz, AG_EUNSUPPORTED, "cannot create an OSMesa context");
        goto out;
    }
    mjv_defaultScene(&r->scene);
    mjv_defaultCamera(&r->camera);
    mjv_defaultOption(&r->option);
    for (int g = 0; g < mjNGROUP; g++) {
        if (options->hidden_geom_groups >> g & 1u) {
            r->option.geomgroup[g] = 0;
        }
    }
    mjr_defaultContext(&r->con);
    mjv_makeScene(m, &r->scene, 1000);
    r->have_scene = 1;
    /* shadows (a 4096-pixel shadow map by default), reflections and the skybox cost most of a
     * software-rendered frame and tell a policy nothing */
    r->scene.flags[mjRND_SHADOW] = 0;
    r->scene.flags[mjRND_REFLECTION] = 0;
    r->scene.flags[mjRND_SKYBOX] = 0;
    if (cam >= 0) {
        r->camera.type = mjCAMERA_FIXED;
        r->camera.fixedcamid = cam;
    } else {
        mjv_defaultFreeCamera(m, &r->camera);
    }
    /* the offscreen buffer holds the tile grid, and the primitives' tessellation is what the
     * image size needs; the model's own settings are put back at once (a failed make included)
     * so that the model reads the same to everyone else */
    mjVisual saved = m->vis;
    m->vis.global.offwidth = r->cols * r->width;
    m->vis.global.offheight = r->rows * r->height;
    if (!r->full_detail) {
        env_mj_render_detail(&m->vis, width, height);
    }
    EnvMjMakeArgs args = {m, r};
    int made = env_mj_guarded(env_mj_make_context, &args);
    m->vis = saved;
    if (made != 0) {
        rc = ag_errorf(err, err_sz, AG_EUNSUPPORTED, "MuJoCo cannot render with OSMesa here");
        goto out;
    }
    *out = r;
    r = NULL;
out:
    env_mj_renderer_destroy(r);
    return rc;
}

void env_mj_renderer_destroy(EnvMjRenderer *r) {
    if (r == NULL) {
        return;
    }
    if (r->ctx != NULL) {
        env_mj_renderer_current(r);
    }
    if (r->have_con) {
        mjr_freeContext(&r->con);
    }
    if (r->have_scene) {
        mjv_freeScene(&r->scene);
    }
    if (r->ctx != NULL) {
        /* unbind first: a context destroyed while current leaves Mesa's bindings behind */
        env_mj_osmesa.make_current(NULL, NULL, 0, 0, 0);
        env_mj_osmesa.destroy(r->ctx);
    }
    free(r->gl_buffer);
    free(r->rgb);
    free(r);
}

int env_mj_renderer_tiles(const EnvMjRenderer *r) {
    return r->cols * r->rows;
}

/* draws scenes d[0..n) into tiles 0..n) (n <= cols * rows) and reads back the rows of tiles
 * in use: tile i is at column i % cols, row i / cols counted from the bottom */
static int env_mj_render_tiles(EnvMjRenderer *r, mjModel *m, mjData *const *d, int n) {
    if (env_mj_renderer_current(r) != 0) {
        return AG_ESIM;
    }
    mjr_setBuffer(mjFB_OFFSCREEN, &r->con);
    for (int i = 0; i < n; i++) {
        mjrRect tile = {(i % r->cols) * r->width, (i / r->cols) * r->height, r->width, r->height};
        mjv_updateScene(m, d[i], &r->option, NULL, &r->camera, mjCAT_ALL, &r->scene);
        mjr_render(tile, &r->scene, &r->con);
    }
    int used_rows = (n + r->cols - 1) / r->cols;
    mjrRect all = {0, 0, (n < r->cols ? n : r->cols) * r->width, used_rows * r->height};
    mjr_readPixels(r->rgb, NULL, all, &r->con);
    return 0;
}

/* tile i of the last read as (3, H, W) floats, rows top to bottom; `read_width` is the width in
 * pixels of what was read */
static void env_mj_tile_to_floats(const EnvMjRenderer *r, int i, int read_width, float *img) {
    int w = r->width, h = r->height;
    size_t plane = (size_t)w * (size_t)h;
    int x0 = (i % r->cols) * w, y0 = (i / r->cols) * h;
    for (int y = 0; y < h; y++) {
        const unsigned char *row =
            r->rgb + ((size_t)(y0 + h - 1 - y) * (size_t)read_width + (size_t)x0) * 3;
        for (int x = 0; x < w; x++) {
            for (int c = 0; c < 3; c++) {
                img[(size_t)c * plane + (size_t)y * (size_t)w + (size_t)x] =
                    (float)row[3 * x + c] * (1.0f / 255.0f);
            }
        }
    }
}

int env_mj_render_batch(EnvMjRenderer *r, mjModel *m, mjData *const *d, int n, float *const *img) {
    int per_pass = r->cols * r->rows;
    for (int first = 0; first < n; first += per_pass) {
        int count = n - first < per_pass ? n - first : per_pass;
        int rc = env_mj_render_tiles(r, m, d + first, count);
        if (rc != 0) {
            return rc;
        }
        int read_width = (count < r->cols ? count : r->cols) * r->width;
        for (int i = 0; i < count; i++) {
            env_mj_tile_to_floats(r, i, read_width, img[first + i]);
        }
    }
    return 0;
}

int env_mj_render(EnvMjRenderer *r, mjModel *m, mjData *d, float *img) {
    return env_mj_render_batch(r, m, &d, 1, &img);
}

int env_mj_render_rgb(EnvMjRenderer *r, mjModel *m, mjData *d, unsigned char *rgb) {
    int rc = env_mj_render_tiles(r, m, &d, 1);
    if (rc != 0) {
        return rc;
    }
    size_t row = (size_t)r->width * 3;
    for (int y = 0; y < r->height; y++) {
        memcpy(rgb + (size_t)y * row, r->rgb + (size_t)(r->height - 1 - y) * row, row);
    }
    return 0;
}
