// angora dashboard: line charts on uPlot (vendor/uPlot.iife.min.js), smoothing and number formats.

/* global uPlot */

export const PALETTE = [
    "#3b6ea5", "#d9534f", "#2e9e5b", "#e39a1c", "#8e5bb5", "#17a2b8", "#c2185b", "#6d7f0d",
    "#795548", "#455a64"
];

export const X_AXES = {
    env_steps: "environment steps",
    iteration: "iteration",
    wall_s: "wall time (s)",
};

export function fmtNum(v) {
    if (v === null || v === undefined || Number.isNaN(v))
        return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3))
        return v.toExponential(2);
    if (a >= 1000)
        return Math.round(v).toLocaleString("en-US");
    if (Number.isInteger(v))
        return String(v);
    return v.toPrecision(4).replace(/\.?0+$/, "");
}

export function fmtSteps(v) {
    if (v === null || v === undefined)
        return "–";
    if (v >= 1e9)
        return `${(v / 1e9).toFixed(2)}G`;
    if (v >= 1e6)
        return `${(v / 1e6).toFixed(2)}M`;
    if (v >= 1e4)
        return `${(v / 1e3).toFixed(1)}k`;
    return String(Math.round(v));
}

// exponential moving average with the start-up bias removed (as TensorBoard's smoothing slider)
export function ema(ys, weight) {
    if (!(weight > 0))
        return ys;
    const out = new Array(ys.length);
    let acc = 0;
    let n = 0;
    for (let i = 0; i < ys.length; i++) {
        const y = ys[i];
        if (y === null || y === undefined || !Number.isFinite(y)) {
            out[i] = null;
            continue;
        }
        acc = acc * weight + (1 - weight) * y;
        n++;
        out[i] = acc / (1 - Math.pow(weight, n));
    }
    return out;
}

function axisValues(xKey) {
    return (u, splits) => splits.map((v) => (xKey === "env_steps" ? fmtSteps(v) : fmtNum(v)));
}

// a chart in `el` with one line per entry of `series` ([{label, color}]); x is xKey's values
export function chartCreate(el, series, xKey) {
    const width = Math.max(280, el.clientWidth - 10);
    const opts = {
        width,
        height: 210,
        legend: {show: series.length > 1, live: true},
        cursor: {drag: {x: true, y: false}},
        scales: {x: {time: false}},
        axes: [
            {
                values: axisValues(xKey),
                label: X_AXES[xKey] || xKey,
                labelSize: 18,
                size: 32,
                font: "11px system-ui",
                labelFont: "11px system-ui"
            },
            {values: (u, splits) => splits.map(fmtNum), size: 56, font: "11px system-ui"},
        ],
        series: [
            {label: X_AXES[xKey] || xKey, value: (u, v) => fmtNum(v)},
            ...series.map((s, i) => ({
                              label: s.label,
                              stroke: s.color || PALETTE[i % PALETTE.length],
                              width: 1.6,
                              spanGaps: true,
                              points: {show: false},
                              value: (u, v) => fmtNum(v),
                          })),
        ],
    };
    const data = [[], ...series.map(() => [])];
    return new uPlot(opts, data, el);
}

// resize every chart to its container when the window changes
export function chartsFit(charts) {
    for (const c of charts) {
        const box = c.root.parentElement;
        if (box)
            c.setSize({width: Math.max(280, box.clientWidth - 10), height: 210});
    }
}
