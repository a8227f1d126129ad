// angora dashboard: the pieces every view uses: the view element, DOM helpers, time and metric
// formats, the task catalogue, file downloads and the progress bar.

import {api, ApiError} from "./api.js";
import {fmtNum} from "./charts.js";
import {fmtDuration} from "./progress.js";

export {fmtDuration};

// the element every view renders into
export const view = document.getElementById("view");

// ---- small DOM helpers ----

// h("a", {href: "#/x", class: "btn"}, "text", child...) builds elements; text is never parsed as
// HTML
export function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    let value;
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === null || v === undefined || v === false)
            continue;
        if (k.startsWith("on") && typeof v === "function")
            el.addEventListener(k.slice(2), v);
        else if (k === "class")
            el.className = v;
        else if (k === "dataset")
            Object.assign(el.dataset, v);
        else if (k === "value")
            value = v;
        else if (k === "checked" || k === "disabled" || k === "selected")
            el[k] = Boolean(v);
        else
            el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
        if (kid === null || kid === undefined || kid === false)
            continue;
        el.append(kid instanceof Node ? kid : String(kid));
    }
    if (value !== undefined)
        el.value = value;
    return el;
}

// append children, skipping the null/false of optional parts (DOM append would print "null")
export function mount(parent, ...kids) {
    parent.append(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}

export function fmtTime(t) {
    if (!t)
        return "–";
    const d = new Date(t * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
        p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// a time in a table cell: the clock alone for today, the date and minutes otherwise (the full
// time goes in the cell's title)
export function fmtTimeShort(t, now = Date.now()) {
    if (!t)
        return "–";
    const full = fmtTime(t);
    return full.slice(0, 10) === fmtTime(now / 1000).slice(0, 10) ? full.slice(11)
                                                                  : full.slice(0, 16);
}

export function stateBadge(state, id) {
    return h("span", {class: `state ${state}`, id}, state);
}

export function banner(kind, text) {
    return h("div", {class: `banner ${kind}`, role: kind === "error" ? "alert" : "status"}, text);
}

export function errText(e) {
    if (e instanceof ApiError)
        return e.field ? `${e.message}` : e.message;
    return String(e && e.message ? e.message : e);
}

// a button that asks for a second click before acting (no modal dialogs)
export function confirmButton(label, confirmLabel, cls, action) {
    let armed = false;
    let timer = null;
    const b = h("button", {class: cls}, label);
    b.addEventListener("click", async () => {
        if (!armed) {
            armed = true;
            b.textContent = confirmLabel;
            timer = setTimeout(() => {
                armed = false;
                b.textContent = label;
            }, 4000);
            return;
        }
        clearTimeout(timer);
        armed = false;
        b.textContent = label;
        await action();
    });
    return b;
}

// run fns with at most n in flight
export async function pool(items, n, fn) {
    let i = 0;
    const work = async () => {
        while (i < items.length) {
            const item = items[i++];
            await fn(item);
        }
    };
    await Promise.all(Array.from({length: Math.min(n, items.length)}, work));
}

// the task metric of a metrics row: success rate, or the first task-specific mean
export const STANDARD_KEYS = new Set(["return_mean", "episode_length_mean"]);
export function taskMetricKeys(row) {
    const keys = [];
    if (!row)
        return keys;
    if ("success_rate" in row)
        keys.push("success_rate");
    for (const k of Object.keys(row))
        if (k.endsWith("_mean") && !STANDARD_KEYS.has(k))
            keys.push(k);
    return keys;
}

export function taskMetricText(row) {
    const k = taskMetricKeys(row)[0];
    if (!k || row[k] === null || row[k] === undefined)
        return "–";
    if (k === "success_rate")
        return `success ${(row[k] * 100).toFixed(0)}%`;
    return `${k.replace(/_mean$/, "").replace(/_/g, " ")} ${fmtNum(row[k])}`;
}

// ---- the task catalogue (fetched once) ----

let catalogue = null;

export async function catalogueGet() {
    if (!catalogue)
        catalogue = await api("GET", "/catalogue");
    return catalogue;
}

// dropped at sign-in, so the next view fetches it again with the new token
export function catalogueForget() {
    catalogue = null;
}

// saves an API file (it needs the bearer token, so it is fetched as a blob) under name
export async function downloadFile(path, name) {
    saveBlob(await api("GET", path, undefined, {blob: true}), name);
}

// offers a blob made in the page (a chart's CSV or PNG) as a download under name
export function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = h("a", {href: url, download: name});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function progressBar(p) {
    if (!p)
        return h("span", {class: "muted"}, "–");
    return h(
        "span",
        {title: `${p.done.toLocaleString("en-US")} of ${p.budget.toLocaleString("en-US")} steps`},
        h("span", {class: "progress"}, h("span", {style: `width:${(p.frac * 100).toFixed(1)}%`})),
        h("small", {}, `${(p.frac * 100).toFixed(0)}%`),
    );
}
