// angora dashboard: a chart in its panel, as the run page, compare and seed groups show them: a
// title, a log-scale toggle, CSV and PNG downloads, and EMA smoothing that keeps the raw curve
// drawn faintly behind the smoothed one.

import {chartCreate, chartPng, csvText, ema, PALETTE, X_AXES} from "./charts.js";
import {h, saveBlob} from "./ui.js";

// the y-scale a log toggle gives these columns: log when every value is positive, a symmetric
// log (asinh) when some are zero or negative (losses, returns below zero)
export function logMode(cols) {
    for (const col of cols)
        for (const v of col)
            if (v !== null && v !== undefined && Number.isFinite(v) && v <= 0)
                return "asinh";
    return "log";
}

// title, series [{label, color, legend}], xKey; fileName (text, or a function giving it) names
// the downloads; dataset goes on
// the box; smoothable adds the faint raw twins; bands are uPlot bands between series (1-based)
export class ChartPanel {
    constructor({title, series, xKey, fileName, dataset = {}, smoothable = true, bands = null}) {
        this.title = title;
        this.series = series.map((s, i) => ({...s, color: s.color || PALETTE[i % PALETTE.length]}));
        this.xKey = xKey;
        this.fileName = fileName || title;
        this.smoothable = smoothable;
        this.bands = bands;
        this.smooth = 0;
        this.log = null; // null, "log" or "asinh"
        this.xs = [];
        this.ys = this.series.map(() => []);
        this.plot = null;
        this.host = h("div");
        this.logBtn = h("button", {
            class: "chart-btn chart-log",
            title: "logarithmic y-axis",
            "aria-pressed": "false",
            onclick: () => this.logToggle(),
        },
                        "log");
        this.csvBtn = h("button", {
            class: "chart-btn chart-csv",
            title: "download the chart's data as CSV",
            onclick: () => this.csvSave()
        },
                        "CSV");
        this.pngBtn = h("button", {
            class: "chart-btn chart-png",
            title: "download the chart as a PNG picture",
            onclick: () => this.pngSave()
        },
                        "PNG");
        this.heading = h("h2", {}, title);
        this.box = h("div", {class: "chart", dataset: {points: "0", lines: "0", ...dataset}},
                     h("div", {class: "chart-head"}, this.heading, h("span", {class: "spacer"}),
                       this.logBtn, this.csvBtn, this.pngBtn),
                     this.host);
    }

    // makes the plot: call once the box is in the page (it takes the width of its container)
    build() {
        if (this.plot)
            this.plot.destroy();
        const twins =
            this.smoothable
                ? this.series.map(
                      (s) =>
                          ({label: `${s.label} (raw)`, color: s.color, faint: true, legend: false}))
                : [];
        this.plot = chartCreate(this.host, [...this.series, ...twins], this.xKey,
                                {log: this.log, bands: this.bands});
        this.box.dataset.log = this.log || "";
        this.draw();
    }

    // the raw columns: xs and one y column per series
    setData(xs, ys) {
        this.xs = xs;
        this.ys = ys;
        this.draw();
    }

    setSmooth(weight) {
        this.smooth = weight;
        this.draw();
    }

    setXKey(xKey) {
        this.xKey = xKey;
        this.build();
    }

    setTitle(title) {
        this.title = title;
        this.heading.textContent = title;
    }

    // what is drawn: smoothed lines, and their raw twins while smoothing is on
    columns() {
        const main = this.ys.map((y) => ema(y, this.smooth));
        const twins =
            this.smoothable ? this.ys.map((y) => (this.smooth > 0 ? y : y.map(() => null))) : [];
        let cols = [...main, ...twins];
        // a log axis has no place for values <= 0
        if (this.log === "log")
            cols = cols.map((c) => c.map((v) => (v !== null && v > 0 ? v : null)));
        return cols;
    }

    draw() {
        if (!this.plot)
            return;
        this.plot.setData([this.xs, ...this.columns()]);
        const some = (c) => c.some((v) => v !== null && v !== undefined && Number.isFinite(v));
        this.box.dataset.points = String(
            this.ys.length ? this.ys[0].filter((v) => v !== null && v !== undefined).length : 0);
        this.box.dataset.lines = String(this.ys.filter(some).length);
        this.box.dataset.smooth = String(this.smooth);
        // the faint raw curves drawn behind the smoothed ones
        this.box.dataset.rawLines =
            String(this.smoothable && this.smooth > 0 ? this.ys.filter(some).length : 0);
    }

    logToggle() {
        this.log = this.log ? null : logMode(this.ys);
        this.logBtn.setAttribute("aria-pressed", String(Boolean(this.log)));
        this.logBtn.title = this.log === "asinh"
                                ? "symmetric log y-axis (the data have values <= 0)"
                                : "logarithmic y-axis";
        this.build();
    }

    csvSave() {
        const header = [this.xKey, ...this.series.map((s) => s.label)];
        const cols = [this.xs, ...this.ys];
        if (this.smoothable && this.smooth > 0) {
            header.push(...this.series.map((s) => `${s.label} (smoothed ${this.smooth})`));
            cols.push(...this.ys.map((y) => ema(y, this.smooth)));
        }
        saveBlob(new Blob([csvText(header, cols)], {type: "text/csv"}), `${this.fileStem()}.csv`);
    }

    async pngSave() {
        if (!this.plot)
            return;
        const xLabel = X_AXES[this.xKey] || this.xKey;
        const blob = await chartPng(this.plot, `${this.title} (x: ${xLabel})`);
        saveBlob(blob, `${this.fileStem()}.png`);
    }

    // the downloads' name: what the caller names it, in characters every file system takes
    fileStem() {
        const name = typeof this.fileName === "function" ? this.fileName() : this.fileName;
        return String(name).replace(/[^\w.-]+/g, "_");
    }

    fit() {
        if (this.plot)
            this.plot.setSize({width: Math.max(280, this.host.clientWidth - 10), height: 210});
    }

    destroy() {
        if (this.plot)
            this.plot.destroy();
        this.plot = null;
    }
}

// ---- the controls above a set of charts (run page, compare, seed group) ----

const INLINE = "flex-direction:row;align-items:center;gap:6px";

// "x-axis" and a select of X_AXES; onChange(xKey)
export function xAxisControl(id, xKey, onChange) {
    const sel = h("select", {id, onchange: () => onChange(sel.value)},
                  Object.entries(X_AXES).map(([k, v]) => h("option", {value: k}, v)));
    sel.value = xKey;
    return h("label", {style: INLINE}, "x-axis", sel);
}

// "smoothing", an EMA weight slider (0 to 0.99) and its value: #<prefix>-smooth and
// #<prefix>-smooth-value; onChange(weight)
export function smoothControl(prefix, weight, onChange) {
    const out = h("output", {id: `${prefix}-smooth-value`}, weight.toFixed(2));
    const input = h("input", {
        id: `${prefix}-smooth`,
        type: "range",
        min: "0",
        max: "0.99",
        step: "0.01",
        value: String(weight),
        title: "exponential moving average; the raw curve stays drawn faintly",
        oninput: () => {
            const w = Number(input.value);
            out.textContent = w.toFixed(2);
            onChange(w);
        },
    });
    return h("label", {style: INLINE}, "smoothing", input, out);
}

// "add a metric…": a select of the keys no chart shows yet; onPick(key). fill(keys) sets the
// keys offered (left alone when they are the same, so an open list does not close)
export function metricPicker(id, onPick) {
    const first = () => h("option", {value: ""}, "add a metric…");
    const el = h("select", {
        id,
        title: "chart any stored metric",
        onchange: () => {
            const k = el.value;
            el.value = "";
            if (k)
                onPick(k);
        },
    },
                 first());
    const fill = (keys) => {
        const have = [...el.options].slice(1).map((o) => o.value);
        if (keys.join() !== have.join())
            el.replaceChildren(first(), ...keys.map((k) => h("option", {value: k}, k)));
    };
    return {el, fill};
}
