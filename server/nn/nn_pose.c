/* The pose-regression loss of vision pretraining (nn_pose.h). */
#include "nn_pose.h"

#include <math.h>
#include <stddef.h>

#define POSE_MIN_NORM 1e-8

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

NnPoseLoss nn_pose_loss(float *dpred, const float *pred, const float *target, int B,
                        double position_weight, double rotation_weight) {
    NnPoseLoss l = {0, 0, 0};
    if (B < 1) {
        return l;
    }
    for (int b = 0; b < B; b++) {
        const float *p = pred + (size_t)b * NN_POSE_DIM, *t = target + (size_t)b * NN_POSE_DIM;
        float *dp = dpred ? dpred + (size_t)b * NN_POSE_DIM : NULL;
        /* position: mean squared error over rows and coordinates */
        for (int k = 0; k < 3; k++) {
            double e = (double)p[k] - t[k];
            l.position_mse += e * e;
            if (dp) {
                dp[k] = (float)(position_weight * 2.0 * e / (3.0 * B));
            }
        }
        /* rotation: 1 - |s|; d/dr = -sign(s) (q - s u) / |r| */
        double norm = 0, s = quat_cos(t + 3, p + 3, &norm);
        l.rotation += 1.0 - fabs(s);
        for (int k = 0; k < 4 && dp; k++) {
            double g = 0;
            if (norm >= POSE_MIN_NORM) {
                double u = p[3 + k] / norm;
                g = -(s >= 0 ? 1.0 : -1.0) * (t[3 + k] - s * u) / norm;
            }
            dp[3 + k] = (float)(rotation_weight * g / B);
        }
    }
    l.position_mse /= 3.0 * B;
    l.rotation /= B;
    l.loss = position_weight * l.position_mse + rotation_weight * l.rotation;
    return l;
}

double nn_pose_angle(const float *q, const float *r) {
    double norm = 0, s = fabs(quat_cos(q, r, &norm));
    return 2.0 * acos(s > 1.0 ? 1.0 : s);
}
