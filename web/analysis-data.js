// angora dashboard: what the analysis views compute from an analysis.json (docs/analysis.md,
// Outputs), without the DOM, so node's test runner checks it: the R^2 grid of layer x variable,
// the best layer of each variable, the colour scales of the heatmaps, the PCA spectra as chart
// series, the result files by kind, and the difference of two grids.

// ---- the decoding grid ----

// {layers, variables, cells}: layers and variables in the order the results first name them,
// cells[i][j] the result of layer i and variable j ({r2, r2_shuffled, lambda}) or null
export function r2Grid(doc) {
    const results = (doc && doc.decoding && doc.decoding.results) || [];
    const layers = [];
    const variables = [];
    const at = new Map();
    for (const r of results) {
        if (!layers.includes(r.layer))
            layers.push(r.layer);
        if (!variables.includes(r.variable))
            variables.push(r.variable);
        at.set(`${r.layer}\u0000${r.variable}`, r);
    }
    const cells = layers.map((l) => variables.map((v) => {
        const r = at.get(`${l}\u0000${v}`);
        return r ? {r2: num(r.r2), r2_shuffled: num(r.r2_shuffled), lambda: num(r.lambda)} : null;
    }));
    return {layers, variables, cells};
}

function num(v) {
    return typeof v === "number" && Number.isFinite(v) ? v : null;
}

// the best layer of each variable: [{variable, layer, r2, r2_shuffled}], layer null when no
// layer has an R^2 for it; on a tie the first layer stays
export function bestPerVariable(grid) {
    return grid.variables.map((variable, j) => {
        let best = {variable, layer: null, r2: null, r2_shuffled: null};
        grid.layers.forEach((layer, i) => {
            const c = grid.cells[i][j];
            if (c && c.r2 !== null && (best.r2 === null || c.r2 > best.r2))
                best = {variable, layer, r2: c.r2, r2_shuffled: c.r2_shuffled};
        });
        return best;
    });
}

// the cells of two grids that name the same layer and variable, with b's R^2 minus a's:
// {layers, variables, cells} as r2Grid's, each cell {a, b, diff} (values null when absent)
export function gridDiff(a, b) {
    const layers = a.layers.filter((l) => b.layers.includes(l));
    const variables = a.variables.filter((v) => b.variables.includes(v));
    const cells = layers.map((l) => variables.map((v) => {
        const ca = a.cells[a.layers.indexOf(l)][a.variables.indexOf(v)];
        const cb = b.cells[b.layers.indexOf(l)][b.variables.indexOf(v)];
        const ra = ca ? ca.r2 : null;
        const rb = cb ? cb.r2 : null;
        return {a: ra, b: rb, diff: ra !== null && rb !== null ? rb - ra : null};
    }));
    return {layers, variables, cells};
}

// ---- colours ----

const BLUES = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
const REDS = [[255, 245, 240], [252, 187, 161], [251, 106, 74], [203, 24, 29], [103, 0, 13]];
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

// a point t in [0, 1] along colour stops, as "rgb(r, g, b)"
function ramp(stops, t) {
    const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

// the colour of an R^2: white at 0, blue up to 1, red below 0 down to -1 (and beyond); grey
// when there is none
export function r2Colour(v) {
    if (v === null || v === undefined || !Number.isFinite(v))
        return "rgb(230, 230, 230)";
    return v >= 0 ? ramp(BLUES, v) : ramp(REDS, -v);
}

// a difference of R^2 (-1..1): red where it fell, blue where it rose, white unchanged
export function diffColour(v) {
    return r2Colour(v);
}

// a dissimilarity on [lo, hi] in viridis
export function seqColour(v, lo, hi) {
    if (v === null || v === undefined || !Number.isFinite(v))
        return "rgb(230, 230, 230)";
    return ramp(VIRIDIS, hi > lo ? (v - lo) / (hi - lo) : 0);
}

// black or white text, whichever reads on the background "rgb(r, g, b)"
export function textOn(rgb) {
    const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(rgb);
    if (!m)
        return "#000";
    const lum = (0.299 * m[1] + 0.587 * m[2] + 0.114 * m[3]) / 255;
    return lum > 0.55 ? "#1b2430" : "#fff";
}

// an R^2 as text: three decimals, "–" when there is none
export function fmtR2(v) {
    return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(3);
}

// ---- PCA, RSA, files ----

// the explained-variance spectra: {x: [1..K], series: [{layer, ys}]} over the first k
// components (fractions, null past a layer's own count); layers without PCA are left out
export function spectra(doc, k = 20) {
    const pcs = ((doc && doc.pca) || []).filter((p) => Array.isArray(p.fractions));
    const n = Math.min(k, Math.max(0, ...pcs.map((p) => p.fractions.length)));
    const x = Array.from({length: n}, (_, i) => i + 1);
    const series = pcs.map(
        (p) => ({
            layer: p.layer,
            pr: num(p.participation_ratio),
            ys: x.map((_, i) =>
                          (i < p.fractions.length && p.fractions[i] > 0 ? p.fractions[i] : null)),
        }));
    return {x, series};
}

// the RDM of a layer as {layer, rdm, lo, hi} (hi the largest entry), or null
export function rdmOf(doc, layer) {
    const rdms = (doc && doc.rsa && doc.rsa.rdms) || [];
    const r = rdms.find((d) => d.layer === layer);
    if (!r || !Array.isArray(r.rdm))
        return null;
    let hi = 0;
    for (const row of r.rdm)
        for (const v of row)
            if (Number.isFinite(v) && v > hi)
                hi = v;
    return {layer, rdm: r.rdm, lo: 0, hi};
}

// the result files by kind, from analysis.json's outputs: {json, tables, figures}
export function outputsOf(doc) {
    const names = (doc && doc.outputs) || [];
    return {
        json: names.filter((n) => n === "analysis.json"),
        tables: names.filter((n) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*\.csv$/.test(n)),
        figures: names.filter((n) => /^[A-Za-z0-9_][A-Za-z0-9_.-]*\.png$/.test(n)),
    };
}

// the API path of a result file of job id
export function outputPath(id, name) {
    if (name === "analysis.json")
        return `/experiments/${id}/analysis`;
    const kind = name.endsWith(".csv") ? "tables" : "figures";
    return `/experiments/${id}/analysis/${kind}/${encodeURIComponent(name)}`;
}
