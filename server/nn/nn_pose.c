/* The pose-regression loss of vision pretraining (nn_pose.h). */
#include "nn_pose.h"

#include <math.h>
#include <stddef.h>

#define POSE_MIN_NORM 1e-8

int nn_pose_output_dim(NnPoseRotation rot) {
    return rot == NN_POSE_6D ? 9 : 7;
}

/* |r| and s = <q, r / |r|>; 0 when r has no direction */
static double quat_cos(const float *q, const float *r, double *norm) {
    double n2 = 0, dot = 0;
    for (int k = 0; k < 4; k++) {
        n2 += (double)r[k] * r[k];
        dot += (double)q[k] * r[k];
    }
    *norm = sqrt(n2);
    return *norm < POSE_MIN_NORM ? 0.0 : dot / *norm;
}

/* the rotation matrix of unit quaternion q (w x y z), column j at g[3 j .. 3 j + 2] */
static void quat_columns(const float *q, double g[9]) {
    double w = q[0], x = q[1], y = q[2], z = q[3];
    g[0] = 1 - 2 * (y * y + z * z), g[1] = 2 * (x * y + w * z), g[2] = 2 * (x * z - w * y);
    g[3] = 2 * (x * y - w * z), g[4] = 1 - 2 * (x * x + z * z), g[5] = 2 * (y * z + w * x);
    g[6] = 2 * (x * z + w * y), g[7] = 2 * (y * z - w * x), g[8] = 1 - 2 * (x * x + y * y);
}

static double dot3(const double *a, const double *b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double *a, const double *b, double *out) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Gram-Schmidt of the 6D form r = (a1, a2) into columns b (b1, b2, b3); the norms of a1 and of
 * c = a2 - <b1, a2> b1 in n1, n2. 0 when either is too short to give a direction. */
static int six_d_columns(const float *r, double b[9], double *n1, double *n2) {
    double a1[3] = {r[0], r[1], r[2]}, a2[3] = {r[3], r[4], r[5]}, c[3];
    *n1 = sqrt(dot3(a1, a1));
    if (*n1 < POSE_MIN_NORM) {
        return 0;
    }
    for (int k = 0; k < 3; k++) {
        b[k] = a1[k] / *n1;
    }
    double p = dot3(b, a2);
    for (int k = 0; k < 3; k++) {
        c[k] = a2[k] - p * b[k];
    }
    *n2 = sqrt(dot3(c, c));
    if (*n2 < POSE_MIN_NORM) {
        return 0;
    }
    for (int k = 0; k < 3; k++) {
        b[3 + k] = c[k] / *n2;
    }
    cross3(b, b + 3, b + 6);
    return 1;
}

/* the 6D rotation distance (1 - cos angle) / 2 = |B - G|^2 / 8 and, when dr is not NULL, its
 * gradient times scale with respect to r (a1, a2), by the chain rule through b3 = b1 x b2,
 * b2 = c / |c| and b1 = a1 / |a1| */
static double six_d_distance(const float *q, const float *r, float *dr, double scale) {
    double b[9], g[9], n1, n2;
    if (!six_d_columns(r, b, &n1, &n2)) {
        for (int k = 0; k < 6 && dr; k++) {
            dr[k] = 0.0f;
        }
        return 1.0;
    }
    quat_columns(q, g);
    double dist = 0;
    for (int k = 0; k < 9; k++) {
        dist += (b[k] - g[k]) * (b[k] - g[k]);
    }
    dist /= 8.0;
    if (!dr) {
        return dist;
    }
    double db[9], t[3], dc[3], da1[3], da2[3];
    for (int k = 0; k < 9; k++) {
        db[k] = (b[k] - g[k]) / 4.0;
    }
    /* b3 = b1 x b2: d/db1 += b2 x v, d/db2 += v x b1 (v = d/db3) */
    cross3(b + 3, db + 6, t);
    for (int k = 0; k < 3; k++) {
        db[k] += t[k];
    }
    cross3(db + 6, b, t);
    for (int k = 0; k < 3; k++) {
        db[3 + k] += t[k];
    }
    /* b2 = c / |c|: d/dc = (d/db2 - <d/db2, b2> b2) / |c| */
    double s2 = dot3(db + 3, b + 3);
    for (int k = 0; k < 3; k++) {
        dc[k] = (db[3 + k] - s2 * b[3 + k]) / n2;
    }
    /* c = a2 - <b1, a2> b1: d/da2 = dc - <dc, b1> b1; d/db1 -= <b1, a2> dc + <dc, b1> a2 */
    double a2[3] = {r[3], r[4], r[5]}, p = dot3(b, a2), w = dot3(dc, b);
    for (int k = 0; k < 3; k++) {
        da2[k] = dc[k] - w * b[k];
        db[k] -= p * dc[k] + w * a2[k];
    }
    /* b1 = a1 / |a1|: d/da1 = (d/db1 - <d/db1, b1> b1) / |a1| */
    double s1 = dot3(db, b);
    for (int k = 0; k < 3; k++) {
        da1[k] = (db[k] - s1 * b[k]) / n1;
    }
    for (int k = 0; k < 3; k++) {
        dr[k] = (float)(scale * da1[k]);
        dr[3 + k] = (float)(scale * da2[k]);
    }
    return dist;
}

/* the quaternion distance 1 - |<q, u>| and, when dr is not NULL, its gradient times scale:
 * d/dr = -sign(s) (q - s u) / |r| */
static double quat_distance(const float *q, const float *r, float *dr, double scale) {
    double norm = 0, s = quat_cos(q, r, &norm);
    for (int k = 0; k < 4 && dr; k++) {
        double g = 0;
        if (norm >= POSE_MIN_NORM) {
            double u = r[k] / norm;
            g = -(s >= 0 ? 1.0 : -1.0) * (q[k] - s * u) / norm;
        }
        dr[k] = (float)(scale * g);
    }
    return 1.0 - fabs(s);
}

NnPoseLoss nn_pose_loss(NnPoseRotation rot, float *dpred, const float *pred, const float *target,
                        int B, double position_weight, double rotation_weight) {
    NnPoseLoss l = {0, 0, 0};
    const int W = nn_pose_output_dim(rot);
    if (B < 1) {
        return l;
    }
    for (int b = 0; b < B; b++) {
        const float *p = pred + (size_t)b * W, *t = target + (size_t)b * NN_POSE_DIM;
        float *dp = dpred ? dpred + (size_t)b * W : NULL;
        /* position: mean squared error over rows and coordinates */
        for (int k = 0; k < 3; k++) {
            double e = (double)p[k] - t[k];
            l.position_mse += e * e;
            if (dp) {
                dp[k] = (float)(position_weight * 2.0 * e / (3.0 * B));
            }
        }
        const double scale = rotation_weight / B;
        l.rotation += rot == NN_POSE_6D ? six_d_distance(t + 3, p + 3, dp ? dp + 3 : NULL, scale)
                                        : quat_distance(t + 3, p + 3, dp ? dp + 3 : NULL, scale);
    }
    l.position_mse /= 3.0 * B;
    l.rotation /= B;
    l.loss = position_weight * l.position_mse + rotation_weight * l.rotation;
    return l;
}

double nn_pose_angle(NnPoseRotation rot, const float *q, const float *r) {
    if (rot == NN_POSE_6D) {
        /* (1 - cos angle) / 2 is the distance; no direction counts as a half turn */
        double cos_angle = 1.0 - 2.0 * six_d_distance(q, r, NULL, 0.0);
        return acos(cos_angle > 1.0 ? 1.0 : cos_angle < -1.0 ? -1.0 : cos_angle);
    }
    double norm = 0, s = fabs(quat_cos(q, r, &norm));
    return 2.0 * acos(s > 1.0 ? 1.0 : s);
}
