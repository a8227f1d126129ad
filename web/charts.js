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

export const AXIS_FONT = "11px system-ui";
const TICK_PX = 5;
const GAP_PX = 4;
let measureCtx = null;

// the width in CSS pixels of the widest of texts in font
export function textWidth(texts, font = AXIS_FONT) {
    if (!measureCtx)
        measureCtx = document.createElement("canvas").getContext("2d");
    measureCtx.font = font;
    let w = 0;
    for (const t of texts || [])
        if (t !== null && t !== undefined)
            w = Math.max(w, measureCtx.measureText(String(t)).width);
    return w;
}

// a y-axis as wide as its widest tick label ("1,250,000" must not lose its first digits)
function yAxisSize(u, values) {
    return Math.ceil(TICK_PX + GAP_PX + textWidth(values) + 4);
}

// the last value of a column that is not a gap
export function lastValue(col) {
    for (let i = (col ? col.length : 0) - 1; i >= 0; i--)
        if (col[i] !== null && col[i] !== undefined && Number.isFinite(col[i]))
            return col[i];
    return null;
}

// a colour with transparency: "#3b6ea5" -> "#3b6ea540"
export function faint(color, alpha = "40") {
    return /^#[0-9a-f]{6}$/i.test(color) ? `${color}${alpha}` : color;
}

// A chart in `el` with one line per entry of `series` ([{label, color, faint, legend}]); x is
// xKey's values. opts.log draws y on a log scale (a symmetric one, asinh, when the data have
// values <= 0); opts.bands are uPlot bands between series.
// Legends show the latest values while the cursor is away and the values under it otherwise.
export function chartCreate(el, series, xKey, opts = {}) {
    const width = Math.max(280, el.clientWidth - 10);
    const yScale = !opts.log ? {} : opts.log === "asinh" ? {distr: 4, asinh: 1} : {distr: 3};
    const uopts = {
        width,
        height: opts.height || 210,
        // every chart has its legend: it is where the latest value is read
        legend: {show: true, live: true},
        cursor: {drag: {x: true, y: false}},
        scales: {x: {time: false}, y: yScale},
        axes: [
            {
                values: axisValues(xKey),
                label: X_AXES[xKey] || xKey,
                labelSize: 18,
                size: 32,
                ticks: {size: TICK_PX},
                gap: GAP_PX,
                font: AXIS_FONT,
                labelFont: AXIS_FONT
            },
            {
                values: (u, splits) => splits.map(fmtNum),
                size: yAxisSize,
                ticks: {size: TICK_PX},
                gap: GAP_PX,
                font: AXIS_FONT
            },
        ],
        series: [
            {label: X_AXES[xKey] || xKey, value: (u, v) => fmtNum(v)},
            ...series.map((s, i) => {
                const color = s.color || PALETTE[i % PALETTE.length];
                return {
                    label: s.label,
                    stroke: s.faint ? faint(color) : color,
                    width: s.faint ? 1 : 1.6,
                    spanGaps: true,
                    points: {show: false},
                    value: (u, v, sidx, idx) =>
                        fmtNum(idx === null || idx === undefined ? lastValue(u.data[sidx]) : v),
                };
            }),
        ],
        bands: opts.bands || [],
    };
    const data = [[], ...series.map(() => [])];
    const plot = new uPlot(uopts, data, el);
    plot.defs = series; // colours and legend choices, for the PNG
    // series kept out of the legend (raw twins, band edges)
    const rows = plot.root.querySelectorAll(".u-legend .u-series");
    series.forEach((s, i) => {
        if (s.legend === false && rows[i + 1])
            rows[i + 1].style.display = "none";
    });
    return plot;
}

// columns as CSV text under a header row: gaps are empty cells, numbers keep every digit
export function csvText(header, cols) {
    const cell = (v) => (v === null || v === undefined || !Number.isFinite(v) ? "" : String(v));
    const quote = (t) => (/[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t);
    const n = cols.length ? cols[0].length : 0;
    const lines = [header.map((t) => quote(String(t))).join(",")];
    for (let i = 0; i < n; i++)
        lines.push(cols.map((c) => cell(c[i])).join(","));
    return `${lines.join("\n")}\n`;
}

// the chart as a PNG: its title, the plot as drawn and a legend of the latest values
export function chartPng(plot, title) {
    const src = plot.ctx.canvas;
    const ratio = src.width / Math.max(1, plot.width);
    const defs = plot.defs || [];
    const titleH = 24 * ratio;
    const legendH = 20 * ratio;
    const out = document.createElement("canvas");
    out.width = src.width;
    out.height = src.height + titleH + legendH;
    const g = out.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, out.width, out.height);
    g.fillStyle = "#1d2430";
    g.font = `600 ${13 * ratio}px system-ui`;
    g.textBaseline = "middle";
    g.fillText(title, 6 * ratio, titleH / 2);
    g.drawImage(src, 0, titleH);
    g.font = `${11 * ratio}px system-ui`;
    let x = 6 * ratio;
    const y = titleH + src.height + legendH / 2;
    defs.forEach((s, i) => {
        if (s.legend === false)
            return;
        const text = `${s.label} ${fmtNum(lastValue(plot.data[i + 1]))}`;
        g.fillStyle = s.color || PALETTE[i % PALETTE.length];
        g.fillRect(x, y - 4 * ratio, 10 * ratio, 8 * ratio);
        g.fillStyle = "#1d2430";
        g.fillText(text, x + 14 * ratio, y);
        x += 14 * ratio + g.measureText(text).width + 16 * ratio;
    });
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}
