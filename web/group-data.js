// angora dashboard: what the seed-group view computes: the curves of several runs on one x grid
// with their mean and standard deviation, and which settings of their specs differ. Pure
// functions: the unit tests run them in node.

// y of the curve (xs ascending, ys) at x by linear interpolation; null outside it or at a gap
export function interpAt(xs, ys, x) {
    let lo = 0;
    let hi = xs.length - 1;
    if (hi < 0 || x < xs[0] || x > xs[hi])
        return null;
    while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (xs[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    const y0 = ys[lo];
    const y1 = ys[hi];
    if (!Number.isFinite(y0) || !Number.isFinite(y1))
        return Number.isFinite(y0) && xs[lo] === x ? y0 : null;
    if (xs[hi] === xs[lo])
        return y0;
    return y0 + ((y1 - y0) * (x - xs[lo])) / (xs[hi] - xs[lo]);
}

// curves [{x, y}] -> {x, mean, lo, hi, n} on `points` x values spanning the range every curve
// covers (the mean of runs that stopped early would otherwise jump where they stop); lo and hi
// are mean -+ the standard deviation over runs (population: the runs are the whole group)
export function groupBand(curves, points = 200) {
    const usable = curves.filter((c) => c.x.length > 0);
    const empty = {x: [], mean: [], lo: [], hi: [], n: usable.length};
    if (!usable.length)
        return empty;
    const from = Math.max(...usable.map((c) => c.x[0]));
    const to = Math.min(...usable.map((c) => c.x[c.x.length - 1]));
    if (!(to >= from))
        return empty;
    const steps = to > from ? Math.max(2, points) : 1;
    const out = {x: [], mean: [], lo: [], hi: [], n: usable.length};
    for (let i = 0; i < steps; i++) {
        const x = steps === 1 ? from : from + ((to - from) * i) / (steps - 1);
        const ys = usable.map((c) => interpAt(c.x, c.y, x)).filter((v) => v !== null);
        out.x.push(x);
        if (!ys.length) {
            out.mean.push(null);
            out.lo.push(null);
            out.hi.push(null);
            continue;
        }
        const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
        const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mean) * (b - mean), 0) / ys.length);
        out.mean.push(mean);
        out.lo.push(mean - sd);
        out.hi.push(mean + sd);
    }
    return out;
}

// {"ppo": {"lr": 0.001}, "tags": ["a"]} -> {"ppo.lr": "0.001", "tags": "[\"a\"]"}: every leaf of
// a spec as text, arrays whole
export function specFlatten(spec, prefix = "", out = {}) {
    for (const [k, v] of Object.entries(spec || {})) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (v && typeof v === "object" && !Array.isArray(v))
            specFlatten(v, key, out);
        else
            out[key] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return out;
}

// the keys whose values are not the same in every spec (a key one spec lacks differs), sorted
export function specsDiffer(specs) {
    const flat = specs.map((s) => specFlatten(s));
    const keys = new Set(flat.flatMap((f) => Object.keys(f)));
    return [...keys]
        .filter((k) => new Set(flat.map((f) => (k in f ? f[k] : "\u0000"))).size > 1)
        .sort();
}
