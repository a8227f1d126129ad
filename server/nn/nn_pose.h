/* The pose-regression loss of vision pretraining: a position error plus a rotation distance, with
 * its gradient, and the error measures reported on held-out images.
 *
 * A target row is (7): a position (3) then a unit quaternion q (4, w x y z), as datasets label
 * the block. A prediction row is a position (3) then the rotation in one of two forms:
 * - NN_POSE_QUATERNION (7 wide): an unnormalised quaternion r, which the loss normalises
 *   (u = r / |r|). q and -q are the same rotation, so the distance is 1 - |<q, u>|: 0 for the
 *   same rotation, 1 - cos(angle / 2) otherwise.
 * - NN_POSE_6D (9 wide): two 3-vectors a1, a2 that Gram-Schmidt turns into the first two
 *   columns b1, b2 of a rotation matrix (b3 = b1 x b2). Unlike a quaternion, this form is
 *   continuous over all rotations (no sign to choose, no hemisphere to cut), which is what a
 *   network regresses well (Zhou et al., "On the Continuity of Rotation Representations in
 *   Neural Networks", CVPR 2019). The distance is |B - R(q)|^2 / 8 over the 3x3 matrices:
 *   (1 - cos(angle)) / 2, 0 for the same rotation and 1 for a half turn. */
#ifndef NN_POSE_H
#define NN_POSE_H

/* the width of a target row: position and quaternion */
#define NN_POSE_DIM 7
/* the widest prediction row */
#define NN_POSE_OUT_MAX 9

typedef enum NnPoseRotation { NN_POSE_QUATERNION = 0, NN_POSE_6D } NnPoseRotation;

typedef struct NnPoseLoss {
    double loss;         /* position_weight * position_mse + rotation_weight * rotation */
    double position_mse; /* mean over rows and the 3 coordinates of the squared error */
    double rotation;     /* mean of the rotation distance, in [0, 1] */
} NnPoseLoss;

/* the width of a prediction row of that form: 7 or 9 */
int nn_pose_output_dim(NnPoseRotation rot);

/* pred (B, nn_pose_output_dim(rot)), target (B, 7); dpred like pred = d loss / d pred
 * (overwritten; NULL: not computed). A rotation output without a direction (a quaternion of
 * norm below 1e-8, or a1 or the part of a2 across a1 that short) adds 1 to the rotation term
 * and no gradient. */
NnPoseLoss nn_pose_loss(NnPoseRotation rot, float *dpred, const float *pred, const float *target,
                        int B, double position_weight, double rotation_weight);
/* the rotation angle in radians, in [0, pi], between unit quaternion q and the rotation part r
 * of a prediction row of that form (r = row + 3) */
double nn_pose_angle(NnPoseRotation rot, const float *q, const float *r);

#endif
