/* Offscreen rendering of MuJoCo scenes to float images with OSMesa (software OpenGL), for the
 * `pixels` vision of the hand tasks and for recording.
 *
 * DESIGN
 * - libOSMesa is opened at run time (dlopen, RTLD_GLOBAL so that MuJoCo's GL loader finds its
 *   symbols); a build or machine without it reports AG_EUNSUPPORTED instead of failing to link.
 * - One renderer (OSMesa context + mjvScene + mjrContext) per task, used by the environments of
 *   one thread one after another; each render makes its context current first.
 * - Images are (3, H, W) floats in [0, 1], rows top to bottom.
 */
#ifndef MJ_RENDER_H
#define MJ_RENDER_H

#include <mujoco/mujoco.h>
#include <stddef.h>

typedef struct EnvMjRenderer EnvMjRenderer;

/* a renderer for images of width x height from the named camera of m; camera NULL means the
 * model's default free camera (the whole model in view) */
int env_mj_renderer_create(mjModel *m, const char *camera, int width, int height,
                           EnvMjRenderer **out, char *err, size_t err_sz);
void env_mj_renderer_destroy(EnvMjRenderer *r);
/* renders d as seen by the camera into img (3 * height * width floats); 0 or AG_ESIM */
int env_mj_render(EnvMjRenderer *r, mjModel *m, mjData *d, float *img);
/* the same as 8-bit RGB rows top to bottom (height * width * 3 bytes), for video frames */
int env_mj_render_rgb(EnvMjRenderer *r, mjModel *m, mjData *d, unsigned char *rgb);

#endif
