/* Offscreen rendering with OSMesa loaded at run time (see mj_render.h). */
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
    mjvScene scene;
    mjvCamera camera;
    mjvOption option;
    mjrContext con;
    int have_scene, have_con;
    unsigned char *rgb; /* height * width * 3, as read (bottom row first) */
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

int env_mj_renderer_create(mjModel *m, const char *camera, int width, int height,
                           EnvMjRenderer **out, char *err, size_t err_sz) {
    int rc = 0;
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
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    r->width = width;
    r->height = height;
    r->gl_buffer = calloc(ENV_MJ_GL_SIZE * ENV_MJ_GL_SIZE, 4);
    r->rgb = malloc((size_t)width * (size_t)height * 3);
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
    EnvMjMakeArgs args = {m, r};
    if (env_mj_guarded(env_mj_make_context, &args) != 0) {
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

static int env_mj_render_raw(EnvMjRenderer *r, mjModel *m, mjData *d) {
    if (env_mj_renderer_current(r) != 0) {
        return AG_ESIM;
    }
    mjrRect viewport = {0, 0, r->width, r->height};
    mjv_updateScene(m, d, &r->option, NULL, &r->camera, mjCAT_ALL, &r->scene);
    mjr_setBuffer(mjFB_OFFSCREEN, &r->con);
    mjr_render(viewport, &r->scene, &r->con);
    mjr_readPixels(r->rgb, NULL, viewport, &r->con);
    return 0;
}

int env_mj_render(EnvMjRenderer *r, mjModel *m, mjData *d, float *img) {
    int rc = env_mj_render_raw(r, m, d);
    if (rc != 0) {
        return rc;
    }
    int w = r->width, h = r->height;
    size_t plane = (size_t)w * (size_t)h;
    for (int y = 0; y < h; y++) {
        const unsigned char *row = r->rgb + (size_t)(h - 1 - y) * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            for (int c = 0; c < 3; c++) {
                img[(size_t)c * plane + (size_t)y * (size_t)w + (size_t)x] =
                    (float)row[3 * x + c] * (1.0f / 255.0f);
            }
        }
    }
    return 0;
}

int env_mj_render_rgb(EnvMjRenderer *r, mjModel *m, mjData *d, unsigned char *rgb) {
    int rc = env_mj_render_raw(r, m, d);
    if (rc != 0) {
        return rc;
    }
    size_t row = (size_t)r->width * 3;
    for (int y = 0; y < r->height; y++) {
        memcpy(rgb + (size_t)y * row, r->rgb + (size_t)(r->height - 1 - y) * row, row);
    }
    return 0;
}
