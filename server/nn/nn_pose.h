/* The pose-regression loss of vision pretraining: a position error plus a sign-invariant
 * quaternion distance, with its gradient, and the error measures reported on held-out images.
 *
 * A prediction row is (B, 7): a position (3) then an unnormalised quaternion r (4, w x y z),
 * which the loss normalises (u = r / |r|); a target row is a position and a unit quaternion q.
 * q and -q are the same rotation, so the distance is 1 - |<q, u>|: 0 for the same rotation,
 * 1 - cos(angle / 2) otherwise. */
#ifndef NN_POSE_H
#define NN_POSE_H

#define NN_POSE_DIM 7

typedef struct NnPoseLoss {
    double loss;         /* position_weight * position_mse + rotation_weight * rotation */
    double position_mse; /* mean over rows and the 3 coordinates of the squared error */
    double rotation;     /* mean of 1 - |<q, u>| */
} NnPoseLoss;

/* pred, target (B, 7); dpred (B, 7) = d loss / d pred (overwritten; NULL: not computed).
 * A quaternion output of norm below 1e-8 has no direction: it adds 1 to the rotation term and
 * no gradient. */
NnPoseLoss nn_pose_loss(float *dpred, const float *pred, const float *target, int B,
                        double position_weight, double rotation_weight);
/* the rotation angle in radians, in [0, pi], between unit quaternion q and the direction of r */
double nn_pose_angle(const float *q, const float *r);

#endif
