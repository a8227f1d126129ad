/* Offscreen rendering of MuJoCo scenes to float images with OSMesa (software OpenGL), for the
 * `pixels` vision of the hand tasks and for recording.
 *
 * DESIGN
 * - libOSMesa is opened at run time (dlopen, RTLD_GLOBAL so that MuJoCo's GL loader finds its
 *   symbols); a build or machine without it reports AG_EUNSUPPORTED instead of failing to link.
 * - One renderer (OSMesa context + mjvScene + mjrContext) per task, used by the environments of
 *   one thread one after another; each render makes its context current first.
 * - Many environments per call: the offscreen buffer is a grid of tiles, one image each; a
 *   batch draws every scene into its own tile (scissored viewports: each tile is cleared and
 *   drawn alone) and reads the buffer back once. Software rendering pays a fixed cost per
 *   read-back (the renderer flushes and finishes all queued drawing) that one read for the
 *   whole grid shares. A tile shows the same pixels as a single render of its scene
 *   (tests/unit/envs/test_mj_render.c).
 * - Detail: at policy image sizes the cost of a software-rendered frame is the primitives'
 *   triangles (a capsule at the model's 28 slices x 16 stacks is ~1,800), not the pixels; a
 *   renderer for small images tessellates them only as finely as the pixels can show.
 * - Images are (3, H, W) floats in [0, 1], rows top to bottom.
 */
#ifndef MJ_RENDER_H
#define MJ_RENDER_H

#include <mujoco/mujoco.h>
#include <stddef.h>

typedef struct EnvMjRenderer EnvMjRenderer;

/* the most tiles a renderer holds, and the largest side of its grid in pixels */
#define ENV_MJ_RENDER_MAX_TILES 1024
#define ENV_MJ_RENDER_MAX_SIDE  1024

typedef struct EnvMjRenderOptions {
    int tiles; /* images per pass, 1..ENV_MJ_RENDER_MAX_TILES (fewer when they would not fit in
                * ENV_MJ_RENDER_MAX_SIDE pixels on a side) */
    /* the model's tessellation of spheres, capsules, cylinders and boxes (videos); 0 = as
     * coarse as the image size allows (env_mj_render_detail), which at 64x64 is most of the
     * saving of a software-rendered frame */
    int full_detail;
    /* geom groups left out of the picture, bit g for group g (0: what MuJoCo draws by default,
     * groups 0-2); a camera that is a sensation leaves out the markers only observers need */
    unsigned hidden_geom_groups;
} EnvMjRenderOptions;

/* a renderer for images of width x height from the named camera of m; camera NULL means the
 * model's default free camera (the whole model in view); options NULL means one image per pass
 * at full detail */
int env_mj_renderer_create(mjModel *m, const char *camera, int width, int height,
                           const EnvMjRenderOptions *options, EnvMjRenderer **out, char *err,
                           size_t err_sz);
/* lowers vis->quality's slices, stacks and quads to what images of width x height can show
 * (never raises them) */
void env_mj_render_detail(mjVisual *vis, int width, int height);
/* images one pass draws (the tile grid's size) */
int env_mj_renderer_tiles(const EnvMjRenderer *r);
void env_mj_renderer_destroy(EnvMjRenderer *r);
/* renders d as seen by the camera into img (3 * height * width floats); 0 or AG_ESIM */
int env_mj_render(EnvMjRenderer *r, mjModel *m, mjData *d, float *img);
/* renders n scenes of the same model, d[i] into img[i] (3 * height * width floats each), with
 * one read-back per env_mj_renderer_tiles(r) of them; 0 or AG_ESIM */
int env_mj_render_batch(EnvMjRenderer *r, mjModel *m, mjData *const *d, int n, float *const *img);
/* the same as 8-bit RGB rows top to bottom (height * width * 3 bytes), for video frames */
int env_mj_render_rgb(EnvMjRenderer *r, mjModel *m, mjData *d, unsigned char *rgb);

#endif
