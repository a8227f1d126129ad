# bench/lib/stats.awk: statistics over seeds for the benchmark report: per key, the number of
# values, their mean, a 95 % percentile-bootstrap confidence interval of the mean and the
# interquartile mean (rliable's protocol: Agarwal et al. 2021).
#   input:  lines "KEY<TAB>VALUE" (one per seed; "null" values are skipped)
#   output: one JSON object per key, in the order keys first appear:
#           {"key": K, "n": N, "mean": M, "lo": L, "hi": H, "iqm": Q}
# The bootstrap draws B resamples (default 10000, -v B=N) of the N values with replacement and
# takes the 2.5th and 97.5th percentiles of their means. Its random numbers come from MINSTD
# (x = 48271 x mod 2^31 - 1, exact in double arithmetic, so every awk gives the same interval),
# started afresh from a fixed seed (-v SEED=N, default 20260101) for each key: a key's interval
# depends on its values only. One value has no interval (lo and hi null); the IQM trims
# int(N / 4) values at each end (the mean when N < 4).

function rnd() { # uniform in [0, 1)
    state = (48271 * state) % 2147483647
    return (state - 1) / 2147483646
}

# heap sort of a[1..n] in place (mawk has no asort)
function sift(a, start, end,    root, child, t) {
    root = start
    while (2 * root <= end) {
        child = 2 * root
        if (child + 1 <= end && a[child] < a[child + 1]) {
            child++
        }
        if (a[root] < a[child]) {
            t = a[root]; a[root] = a[child]; a[child] = t
            root = child
        } else {
            return
        }
    }
}
function hsort(a, n,    i, t) {
    for (i = int(n / 2); i >= 1; i--) {
        sift(a, i, n)
    }
    for (i = n; i > 1; i--) {
        t = a[1]; a[1] = a[i]; a[i] = t
        sift(a, 1, i - 1)
    }
}
function num(x) {
    return sprintf("%.10g", x)
}

BEGIN {
    FS = "\t"
    if (B == "") {
        B = 10000
    }
    if (SEED == "") {
        SEED = 20260101
    }
}
$2 != "null" && $2 != "" {
    if (!($1 in cnt)) {
        keys[++nkeys] = $1
        cnt[$1] = 0
    }
    vals[$1, ++cnt[$1]] = $2 + 0
}
END {
    for (k = 1; k <= nkeys; k++) {
        key = keys[k]
        n = cnt[key]
        split("", v)
        sum = 0
        for (i = 1; i <= n; i++) {
            v[i] = vals[key, i]
            sum += v[i]
        }
        mean = sum / n
        lo = "null"
        hi = "null"
        if (n > 1) {
            state = SEED % 2147483647
            split("", means)
            for (b = 1; b <= B; b++) {
                s = 0
                for (i = 1; i <= n; i++) {
                    s += v[int(rnd() * n) + 1]
                }
                means[b] = s / n
            }
            hsort(means, B)
            il = int(0.025 * B + 0.5)
            ih = int(0.975 * B + 0.5)
            if (il < 1) {
                il = 1
            }
            lo = num(means[il])
            hi = num(means[ih])
        }
        hsort(v, n)
        trim = int(n / 4)
        s = 0
        for (i = trim + 1; i <= n - trim; i++) {
            s += v[i]
        }
        iqm = s / (n - 2 * trim)
        gsub(/["\\]/, "\\\\&", key)
        printf "{\"key\": \"%s\", \"n\": %d, \"mean\": %s, \"lo\": %s, \"hi\": %s, \"iqm\": %s}\n", key, n, num(mean), lo, hi, num(iqm)
    }
}
