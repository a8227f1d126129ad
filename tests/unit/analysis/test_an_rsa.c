/* Tests of RSA (an_rsa.c): quantile bins (equal counts, ties merged, constant refused), RDMs
 * symmetric with a zero diagonal and known values, RDM comparison (itself 1, reversed
 * dissimilarities -1, shuffled conditions lower), and users' RDMs from CSV and HDF5 with every
 * refusal. */
#include "an_rsa.h"

#include "an_h5.h"
#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_bins_equal_counts) {
    double v[100];
    for (int i = 0; i < 100; i++) {
        v[i] = (double)((i * 37) % 100); /* 0..99 in scrambled order */
    }
    AnRsaBins b;
    char err[256];
    ck_assert_int_eq(an_rsa_bins(&b, v, 100, 4, err, sizeof err), 0);
    ck_assert_int_eq(b.k, 4);
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(b.count[k], 25);
        ck_assert_double_eq(b.lo[k], 25 * k);
        ck_assert_double_eq(b.hi[k], 25 * k + 24);
    }
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(b.bin[i], (int)v[i] / 25);
    }
    an_rsa_bins_free(&b);
}
END_TEST

START_TEST(test_bins_ties_and_constant) {
    /* a flag: 70 zeros and 30 ones make 2 conditions whatever the bins asked for */
    double v[100];
    for (int i = 0; i < 100; i++) {
        v[i] = i % 10 < 3 ? 1.0 : 0.0;
    }
    AnRsaBins b;
    char err[256];
    ck_assert_int_eq(an_rsa_bins(&b, v, 100, 8, err, sizeof err), 0);
    ck_assert_int_eq(b.k, 2);
    ck_assert_int_eq(b.count[0], 70);
    ck_assert_int_eq(b.count[1], 30);
    ck_assert_int_eq(b.bin[0], 1);
    ck_assert_int_eq(b.bin[5], 0);
    an_rsa_bins_free(&b);
    for (int i = 0; i < 100; i++) {
        v[i] = 2.0;
    }
    ck_assert_int_eq(an_rsa_bins(&b, v, 100, 8, err, sizeof err), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "single value"));
    ck_assert_int_eq(an_rsa_bins(&b, v, 100, 1, err, sizeof err), AG_ERANGE);
}
END_TEST

/* a layer that encodes v along a curve (cos, sin) plus units of noise, binned into k */
static void layer_and_bins(float **x, AnRsaBins *b, int64_t n, int d, int k) {
    double *v = malloc(sizeof(double) * (size_t)n);
    *x = malloc(sizeof(float) * (size_t)n * d);
    AgRng rng;
    ag_rng_seed(&rng, 7, 0);
    for (int64_t i = 0; i < n; i++) {
        v[i] = ag_rng_uniform(&rng);
        for (int j = 0; j < d; j++) {
            double s = j % 2 ? sin(3 * v[i] + j) : cos(2 * v[i] * (j + 1));
            (*x)[i * d + j] = (float)(s + 0.2 * ag_rng_normal(&rng));
        }
    }
    char err[256];
    ck_assert_int_eq(an_rsa_bins(b, v, n, k, err, sizeof err), 0);
    free(v);
}

START_TEST(test_rdm_properties) {
    enum { N = 3000, D = 10, K = 6 };
    float *x;
    AnRsaBins b;
    layer_and_bins(&x, &b, N, D, K);
    double rdm[K * K];
    ck_assert_int_eq(an_rsa_rdm(rdm, x, N, D, &b), 0);
    for (int i = 0; i < K; i++) {
        ck_assert_double_eq(rdm[i * K + i], 0.0);
        for (int j = 0; j < K; j++) {
            ck_assert_double_eq(rdm[i * K + j], rdm[j * K + i]);
            ck_assert(rdm[i * K + j] >= 0 && rdm[i * K + j] <= 2);
        }
    }
    /* itself: 1; reversed dissimilarities (the largest made the smallest): -1 */
    double rev[K * K], perm_rdm[K * K];
    for (int i = 0; i < K * K; i++) {
        rev[i] = 2.0 - rdm[i];
    }
    ck_assert_double_eq_tol(an_rsa_compare(rdm, rdm, K), 1.0, 1e-12);
    ck_assert_double_eq_tol(an_rsa_compare(rdm, rev, K), -1.0, 1e-12);
    /* conditions in another order: lower than 1 */
    const int p[K] = {3, 0, 5, 1, 4, 2};
    for (int i = 0; i < K; i++) {
        for (int j = 0; j < K; j++) {
            perm_rdm[i * K + j] = rdm[p[i] * K + p[j]];
        }
    }
    double r = an_rsa_compare(rdm, perm_rdm, K);
    printf("RDM against its conditions shuffled: %.3f\n", r);
    ck_assert_double_lt(r, 0.9);
    an_rsa_bins_free(&b);
    free(x);
}
END_TEST

START_TEST(test_rdm_known_values) {
    /* two units, 3 conditions of one step each with patterns (1, 2), (2, 1), (3, 6):
     * corr(c0, c1) = -1 -> 2, corr(c0, c2) = 1 -> 0, corr(c1, c2) = -1 -> 2 */
    float x[6] = {1, 2, 2, 1, 3, 6};
    double v[3] = {0, 1, 2}, rdm[9];
    AnRsaBins b;
    char err[256];
    ck_assert_int_eq(an_rsa_bins(&b, v, 3, 3, err, sizeof err), 0);
    ck_assert_int_eq(b.k, 3);
    ck_assert_int_eq(an_rsa_rdm(rdm, x, 3, 2, &b), 0);
    ck_assert_double_eq_tol(rdm[1], 2.0, 1e-12);
    ck_assert_double_eq_tol(rdm[2], 0.0, 1e-12);
    ck_assert_double_eq_tol(rdm[5], 2.0, 1e-12);
    an_rsa_bins_free(&b);
}
END_TEST

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_h5_rdm(const char *path, const char *name, const double *m, int rows, int cols) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m), 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Fclose(f);
}

START_TEST(test_user_rdm_equal_to_layer) {
    enum { N = 2000, D = 8, K = 5 };
    float *x;
    AnRsaBins b;
    layer_and_bins(&x, &b, N, D, K);
    double rdm[K * K];
    ck_assert_int_eq(an_rsa_rdm(rdm, x, N, D, &b), 0);
    char dir[64], csv[128], h5[128], text[4096] = "# a user's RDM\n";
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "rsa"));
    snprintf(csv, sizeof csv, "%s/rdm.csv", dir);
    snprintf(h5, sizeof h5, "%s/rdm.h5", dir);
    for (int i = 0; i < K; i++) {
        for (int j = 0; j < K; j++) {
            size_t len = strlen(text);
            snprintf(text + len, sizeof text - len, "%.17g%s", rdm[i * K + j],
                     j < K - 1 ? ", " : "\n");
        }
    }
    write_text(csv, text);
    write_h5_rdm(h5, "rdm", rdm, K, K);
    const char *paths[2] = {csv, h5};
    for (int p = 0; p < 2; p++) {
        double *user;
        char err[256];
        ck_assert_int_eq(an_rsa_load_rdm(&user, paths[p], K, err, sizeof err), 0);
        ck_assert_double_eq_tol(an_rsa_compare(rdm, user, K), 1.0, 1e-12);
        free(user);
    }
    an_test_rmdir(dir);
    an_rsa_bins_free(&b);
    free(x);
}
END_TEST

START_TEST(test_user_rdm_refusals) {
    char dir[64], path[128], err[256];
    double *m;
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "rsa"));
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    /* not square */
    write_text(path, "0,1,2\n1,0,3\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "square"));
    ck_assert_ptr_nonnull(strstr(err, "bad.csv"));
    /* ragged */
    write_text(path, "0,1\n1,0,3\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_EFORMAT);
    /* not a number */
    write_text(path, "0,x\n1,0\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "not a number"));
    /* size mismatch: 2 x 2 for 3 conditions */
    write_text(path, "0 1\n1 0\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 3, err, sizeof err), AG_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "3 x 3"));
    /* not symmetric: names the entries */
    write_text(path, "0;1;2\n1;0;3\n2;4;0\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 3, err, sizeof err), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "not symmetric"));
    ck_assert_ptr_nonnull(strstr(err, "(2, 3)"));
    /* not finite */
    write_text(path, "0,nan\nnan,0\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_ERANGE);
    /* empty; missing */
    write_text(path, "# nothing\n\n");
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_EFORMAT);
    snprintf(path, sizeof path, "%s/none.csv", dir);
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_ENOTFOUND);
    /* HDF5 without /rdm, and a non-symmetric /rdm */
    snprintf(path, sizeof path, "%s/bad.h5", dir);
    const double a[4] = {0, 1, 2, 0};
    write_h5_rdm(path, "other", a, 2, 2);
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "/rdm"));
    write_h5_rdm(path, "rdm", a, 2, 2);
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_ERANGE);
    write_h5_rdm(path, "rdm", a, 1, 4);
    ck_assert_int_eq(an_rsa_load_rdm(&m, path, 2, err, sizeof err), AG_EFORMAT);
    an_test_rmdir(dir);
}
END_TEST

static Suite *rsa_suite(void) {
    Suite *s = suite_create("an_rsa");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_bins_equal_counts);
    tcase_add_test(tc, test_bins_ties_and_constant);
    tcase_add_test(tc, test_rdm_properties);
    tcase_add_test(tc, test_rdm_known_values);
    tcase_add_test(tc, test_user_rdm_equal_to_layer);
    tcase_add_test(tc, test_user_rdm_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(rsa_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
