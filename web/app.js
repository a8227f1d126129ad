// angora dashboard: hash router and the views (sign-in, experiments, experiment, compare, submit).

/* global uPlot */

import {
    api,
    ApiError,
    tokenGet,
    tokenSet,
    tokenClear,
    onUnauthorized,
    infoGet,
    infoForget,
    connListen,
    connReport,
    RowFeed,
    stateIsTerminal
} from "./api.js";
import {PALETTE, X_AXES, fmtNum, fmtSteps, ema, chartCreate, chartsFit} from "./charts.js";
import {jsonPathLine} from "./jsonpath.js";

const STATES = ["queued", "running", "paused", "succeeded", "failed", "cancelled"];
const view = document.getElementById("view");

// ---- small DOM helpers ----

// h("a", {href: "#/x", class: "btn"}, "text", child...) builds elements; text is never parsed as
// HTML
function h(tag, attrs, ...kids) {
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
function mount(parent, ...kids) {
    parent.append(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}

function fmtTime(t) {
    if (!t)
        return "–";
    const d = new Date(t * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
        p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function fmtDuration(s) {
    if (s === null || s === undefined || s < 0)
        return "–";
    if (s < 60)
        return `${s.toFixed(1)} s`;
    if (s < 3600)
        return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

function stateBadge(state, id) {
    return h("span", {class: `state ${state}`, id}, state);
}

function banner(kind, text) {
    return h("div", {class: `banner ${kind}`, role: kind === "error" ? "alert" : "status"}, text);
}

function errText(e) {
    if (e instanceof ApiError)
        return e.field ? `${e.message}` : e.message;
    return String(e && e.message ? e.message : e);
}

// a button that asks for a second click before acting (no modal dialogs)
function confirmButton(label, confirmLabel, cls, action) {
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
async function pool(items, n, fn) {
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
const STANDARD_KEYS = new Set(["return_mean", "episode_length_mean"]);
function taskMetricKeys(row) {
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

function taskMetricText(row) {
    const k = taskMetricKeys(row)[0];
    if (!k || row[k] === null || row[k] === undefined)
        return "–";
    if (k === "success_rate")
        return `success ${(row[k] * 100).toFixed(0)}%`;
    return `${k.replace(/_mean$/, "").replace(/_/g, " ")} ${fmtNum(row[k])}`;
}

// ---- the task catalogue (fetched once) ----

let catalogue = null;

async function catalogueGet() {
    if (!catalogue)
        catalogue = await api("GET", "/catalogue");
    return catalogue;
}

function progressOf(spec, row) {
    const budget = spec && spec.budget ? spec.budget.env_steps : null;
    if (!budget)
        return null;
    const done = row ? row.env_steps || 0 : 0;
    return {frac: Math.min(1, done / budget), done, budget};
}

function progressBar(p) {
    if (!p)
        return h("span", {class: "muted"}, "–");
    return h(
        "span",
        {title: `${p.done.toLocaleString("en-US")} of ${p.budget.toLocaleString("en-US")} steps`},
        h("span", {class: "progress"}, h("span", {style: `width:${(p.frac * 100).toFixed(1)}%`})),
        h("small", {}, `${(p.frac * 100).toFixed(0)}%`),
    );
}

// ---- router ----

let cleanup = null;
let flash = null; // message shown once on the next view

function hashParse() {
    const raw = location.hash.replace(/^#/, "") || "/experiments";
    const q = raw.indexOf("?");
    return {
        path: q < 0 ? raw : raw.slice(0, q),
        params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)),
    };
}

function go(hash) {
    if (location.hash === hash)
        route();
    else
        location.hash = hash;
}

function navShow(signedIn, active) {
    document.getElementById("nav").hidden = !signedIn;
    document.getElementById("signout").hidden = !signedIn;
    for (const a of document.querySelectorAll("#nav a"))
        a.classList.toggle("active", a.dataset.nav === active);
}

function route() {
    if (cleanup) {
        cleanup();
        cleanup = null;
    }
    connReport("");
    const {path, params} = hashParse();
    view.replaceChildren();
    if (path === "/signin" || !tokenGet()) {
        navShow(false, "");
        cleanup =
            viewSignin(path === "/signin" ? params : new URLSearchParams({next: location.hash}));
        return;
    }
    let m;
    if ((m = path.match(/^\/exp\/(\d+)$/))) {
        navShow(true, "experiments");
        cleanup = viewExperiment(Number(m[1]));
    } else if (path === "/compare") {
        navShow(true, "compare");
        cleanup = viewCompare(params);
    } else if (path === "/submit") {
        navShow(true, "submit");
        cleanup = viewSubmit();
    } else {
        navShow(true, "experiments");
        cleanup = viewExperiments(params);
    }
}

// ---- sign-in ----

function viewSignin(params) {
    const reason = params.get("reason");
    const input = h("input", {
        id: "token",
        type: "password",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "ang_…"
    });
    const msg = h("div", {id: "signin-error", class: "banner error", role: "alert", hidden: true});
    const button = h("button", {class: "primary", type: "submit", id: "signin-button"}, "Sign in");
    const fail = (text) => {
        msg.textContent = text;
        msg.hidden = false;
        input.classList.add("invalid");
        input.focus();
    };
    const form = h(
        "form",
        {
            class: "panel signin",
            onsubmit: async (ev) => {
                ev.preventDefault();
                const t = input.value.trim();
                msg.hidden = true;
                input.classList.remove("invalid");
                if (!/^ang_[0-9a-f]{64}$/.test(t)) {
                    fail(
                        "That is not an angora token: a token is ang_ followed by 64 hexadecimal digits.");
                    return;
                }
                button.disabled = true;
                try {
                    await api("GET", "/info", undefined, {token: t, quiet401: true});
                    tokenSet(t);
                    infoForget();
                    catalogue = null;
                    const next = params.get("next");
                    go(next && !next.startsWith("#/signin") ? next : "#/experiments");
                } catch (e) {
                    if (e.status === 401)
                        fail(
                            "The server rejected this token (401 Unauthorized): it is unknown or has been revoked.");
                    else
                        fail(`Sign-in failed: ${errText(e)}`);
                } finally {
                    button.disabled = false;
                }
            },
        },
        h("h1", {}, "Sign in to angora"),
        h("p", {class: "muted"}, "Paste an access token. angorad writes a full-access token to ",
          h("code", {}, "<data dir>/token"), " on its first start; ",
          h("code", {}, "angoractl token create"),
          " makes more. The token is kept in this browser's local storage."),
        reason ? banner("error", reason) : null,
        msg,
        h("label", {}, "Token", input),
        h("div", {class: "row", style: "margin-top:12px"}, button),
    );
    mount(view, form);
    input.focus();
    return null;
}

// ---- experiments table ----

// Search, sort and paging are the server's: one request per page, the list items carry the
// budget and the newest metric values, so no row needs a request of its own.
let pageStack = [];        // cursors of the pages before the current one
let searchFocused = false; // keep typing in the search box across the re-render of a new query
const selected = new Set();
const SORT_ASC_DEFAULT = new Set(["name", "task", "state"]);

function listProgress(it) {
    if (it.kind && it.kind !== "train")
        return null;
    const budget = it.budget_env_steps;
    if (!budget)
        return null;
    const done = it.latest_env_steps || 0;
    return {frac: Math.min(1, done / budget), done, budget};
}

function listMetricText(it) {
    if (!it.latest_task_key || it.latest_task_metric === null ||
        it.latest_task_metric === undefined)
        return "–";
    return taskMetricText({[it.latest_task_key]: it.latest_task_metric});
}

function viewExperiments(params) {
    const sort = params.get("sort") || "submitted";
    const filters = {
        state: params.get("state") || "",
        task: params.get("task") || "",
        tag: params.get("tag") || "",
        q: params.get("q") || "",
        sort,
        order: params.get("order") || (SORT_ASC_DEFAULT.has(sort) ? "asc" : "desc"),
        limit: Number(params.get("limit")) || 25,
        cursor: params.get("cursor") || "",
    };
    if (!filters.cursor)
        pageStack = [];
    let items = [];
    let next = null;
    let timer = null;
    let closed = false;

    const hashFor = (f) => {
        const q = new URLSearchParams();
        for (const k of ["state", "task", "tag", "q"])
            if (f[k])
                q.set(k, f[k]);
        if (f.sort !== "submitted")
            q.set("sort", f.sort);
        if (f.order !== (SORT_ASC_DEFAULT.has(f.sort) ? "asc" : "desc"))
            q.set("order", f.order);
        if (f.limit !== 25)
            q.set("limit", f.limit);
        if (f.cursor)
            q.set("cursor", f.cursor);
        const s = q.toString();
        return `#/experiments${s ? `?${s}` : ""}`;
    };
    const refilter = (patch) => {
        pageStack = [];
        go(hashFor({...filters, ...patch, cursor: ""}));
    };

    const stateSel =
        h("select", {id: "filter-state", onchange: () => refilter({state: stateSel.value})},
          h("option", {value: ""}, "any state"), STATES.map((s) => h("option", {value: s}, s)));
    stateSel.value = filters.state;
    const taskSel =
        h("select", {id: "filter-task", onchange: () => refilter({task: taskSel.value})},
          h("option", {value: ""}, "any task"));
    if (filters.task)
        taskSel.append(h("option", {value: filters.task}, filters.task));
    taskSel.value = filters.task;
    const tagInput = h("input", {
        id: "filter-tag",
        value: filters.tag,
        placeholder: "tag",
        size: 14,
        onchange: () => refilter({tag: tagInput.value.trim()})
    });
    let searchTimer = null;
    const searchInput = h("input", {
        id: "filter-q",
        type: "search",
        value: filters.q,
        placeholder: "search names",
        maxlength: 128,
        size: 18,
        oninput: () => {
            clearTimeout(searchTimer);
            searchTimer = setTimeout(() => {
                if (searchInput.value.trim() === filters.q)
                    return;
                searchFocused = document.activeElement === searchInput;
                refilter({q: searchInput.value.trim()});
            }, 300);
        },
    });
    const sizeSel =
        h("select", {id: "page-size", onchange: () => refilter({limit: Number(sizeSel.value)})},
          [25, 50, 100, 250].map((n) => h("option", {value: String(n)}, `${n} per page`)));
    sizeSel.value = String(filters.limit);
    const compareBtn =
        h("button",
          {id: "compare-selected", onclick: () => go(`#/compare?ids=${[...selected].join(",")}`)});
    const tbody = h("tbody");
    const status = h("span", {class: "muted", id: "table-status"}, "loading…");
    const prevBtn = h("button", {
        id: "page-prev",
        disabled: !filters.cursor,
        onclick: () => {
            const c = pageStack.pop() || "";
            go(hashFor({...filters, cursor: c}));
        },
    },
                      "← Previous");
    const nextBtn = h("button", {
        id: "page-next",
        disabled: true,
        onclick: () => {
            pageStack.push(filters.cursor);
            go(hashFor({...filters, cursor: String(next)}));
        },
    },
                      "Next →");
    const errBox = h("div");

    const compareLabel = () => {
        compareBtn.textContent = `Compare selected (${selected.size})`;
        compareBtn.disabled = selected.size < 1;
    };
    compareLabel();

    // sort: the server's sort key of a column (null: not sortable)
    const columns = [
        {key: "id", label: "ID", sort: "submitted"},
        {key: "name", label: "Name", sort: "name"},
        {key: "task", label: "Task", sort: "task"},
        {key: "state", label: "State", sort: "state"},
        {key: "progress", label: "Progress", sort: "progress"},
        {key: "return", label: "Return", sort: "return"},
        {key: "metric", label: "Task metric", sort: null},
        {key: "submitted", label: "Submitted", sort: "submitted"},
        {key: "started", label: "Started", sort: "started"},
        {key: "tags", label: "Tags", sort: null},
    ];
    const sortedBy = (c) =>
        c.sort === filters.sort && (c.key !== "id" || filters.sort !== "submitted");
    const thead = h(
        "thead",
        {},
        h(
            "tr",
            {},
            h("th", {}, ""),
            columns.map((c) => h(
                            "th",
                            c.sort ? {
                                class: "sortable",
                                dataset: {sort: c.key, serverSort: c.sort},
                                title: "sort all experiments by this column",
                                onclick: () => {
                                    const order =
                                        c.sort === filters.sort
                                            ? (filters.order === "asc" ? "desc" : "asc")
                                            : (SORT_ASC_DEFAULT.has(c.sort) ? "asc" : "desc");
                                    refilter({sort: c.sort, order});
                                },
                            }
                                   : {dataset: {col: c.key}},
                            c.label,
                            c.sort && sortedBy(c)
                                ? h("span", {class: "arrow"}, filters.order === "asc" ? " ▲" : " ▼")
                                : null,
                            )),
            ),
    );

    const rowRender = (it) => h(
        "tr",
        {dataset: {id: it.id, state: it.state}},
        h("td", {}, h("input", {
              type: "checkbox",
              title: "select for comparison",
              checked: selected.has(it.id),
              onchange: (ev) => {
                  if (ev.target.checked)
                      selected.add(it.id);
                  else
                      selected.delete(it.id);
                  compareLabel();
              },
          })),
        h("td", {class: "num"}, it.id),
        h("td", {},
          h("a", {href: `#/exp/${it.id}`, class: "exp-link"}, it.name || `experiment ${it.id}`)),
        h("td", {}, it.task),
        h("td", {}, stateBadge(it.state),
          it.kind && it.kind !== "train" ? h("small", {class: "muted"}, ` ${it.kind}`) : null),
        h("td", {}, progressBar(listProgress(it))),
        h("td", {class: "num ret"}, fmtNum(it.latest_return)),
        h("td", {}, listMetricText(it)),
        h("td", {}, fmtTime(it.submitted_at)),
        h("td", {}, fmtTime(it.started_at)),
        h("td", {}, (it.tags || []).map((t) => h("span", {class: "tag"}, t))),
    );

    const bodyRender = () => {
        if (!items.length) {
            tbody.replaceChildren(h("tr", {},
                                    h("td", {
                                        colspan: columns.length + 1,
                                        class: "muted",
                                        style: "text-align:center;padding:24px"
                                    },
                                      filters.state || filters.task || filters.tag || filters.q
                                          ? "No experiment matches these filters."
                                          : "No experiments yet. Submit one to get started.")));
            return;
        }
        tbody.replaceChildren(...items.map(rowRender));
    };

    const load = async () => {
        const q = new URLSearchParams({limit: filters.limit});
        for (const k of ["state", "task", "tag", "q"])
            if (filters[k])
                q.set(k, filters[k]);
        q.set("sort", filters.sort);
        q.set("order", filters.order);
        if (filters.cursor)
            q.set("cursor", filters.cursor);
        try {
            const t0 = performance.now();
            const res = await api("GET", `/experiments?${q}`);
            if (closed)
                return;
            items = res.items;
            next = res.next_cursor;
            nextBtn.disabled = next === null || next === undefined;
            prevBtn.disabled = !filters.cursor;
            errBox.replaceChildren();
            bodyRender();
            status.textContent = `${items.length} shown · page ${pageStack.length + 1}${
                nextBtn.disabled ? " (last)" : ""} · ${Math.round(performance.now() - t0)} ms`;
        } catch (e) {
            if (e.status === 401 || closed)
                return;
            errBox.replaceChildren(banner("error", `Could not load experiments: ${errText(e)}`));
            if (e.field) {
                const el = {state: stateSel, task: taskSel, tag: tagInput, q: searchInput}[e.field];
                if (el)
                    el.classList.add("invalid");
            }
        }
        if (!closed)
            timer = setTimeout(load, 5000);
    };

    catalogueGet()
        .then((cat) => {
            if (closed || !cat.tasks)
                return;
            for (const t of cat.tasks)
                if (t.name !== filters.task)
                    taskSel.append(h("option", {value: t.name}, t.name));
            taskSel.value = filters.task;
        })
        .catch(() => {});

    mount(
        view,
        h("div", {class: "head"}, h("h1", {}, "Experiments"), h("span", {class: "spacer"}),
          compareBtn,
          h("a", {class: "btn primary", href: "#/submit", id: "new-experiment"}, "New experiment")),
        flash ? banner("ok", flash) : null,
        errBox,
        h("div", {class: "row", style: "margin-bottom:10px"}, searchInput, stateSel, taskSel,
          tagInput, sizeSel,
          h("button", {onclick: () => refilter({state: "", task: "", tag: "", q: ""})},
            "Clear filters"),
          h("span", {class: "spacer"}), status),
        h("div", {class: "panel", style: "padding:0;overflow-x:auto"},
          h("table", {class: "grid", id: "exp-table"}, thead, tbody)),
        h("div", {class: "pager"}, prevBtn, nextBtn),
    );
    if (searchFocused) {
        searchInput.focus();
        searchInput.setSelectionRange(searchInput.value.length, searchInput.value.length);
        searchFocused = false;
    }
    flash = null;
    load();
    return () => {
        closed = true;
        clearTimeout(timer);
        clearTimeout(searchTimer);
    };
}

// ---- one experiment ----

const EXP_CHARTS = [
    {
        id: "return",
        title: "Return",
        keys: [["return_mean", "training"], ["eval_return", "evaluation"]]
    },
    {id: "length", title: "Episode length", keys: [["episode_length_mean", "mean length"]]},
    {id: "task", title: "Task metric", keys: null},
    {id: "policy_loss", title: "Policy loss", keys: [["policy_loss", "policy loss"]]},
    {id: "value_loss", title: "Value loss", keys: [["value_loss", "value loss"]]},
    {id: "entropy", title: "Entropy", keys: [["entropy", "entropy"]]},
    {id: "kl", title: "Approximate KL", keys: [["approx_kl", "KL"]]},
    {id: "clip", title: "Clip fraction", keys: [["clip_fraction", "clip fraction"]]},
    {id: "ev", title: "Explained variance", keys: [["explained_variance", "explained variance"]]},
    {id: "sps", title: "Throughput (steps/s)", keys: [["sps", "steps/s"]]},
];

function viewExperiment(id) {
    let exp = null;
    let rows = []; // metric rows in iteration order
    let xKey = "env_steps";
    let closed = false;
    let drawTimer = null;
    let logTimer = null;
    const charts = new Map(); // chart id -> {def, plot, box}
    let feed = null;

    const title = h("h1", {id: "exp-title"}, `Experiment ${id}`);
    const badge = stateBadge("…", "exp-state");
    const msg = h("div", {id: "exp-message"});
    const facts = h("div", {class: "facts", id: "exp-facts"});
    const chartGrid = h("div", {class: "charts", id: "charts"});
    const specPre = h("pre", {class: "box", id: "exp-spec"}, "loading…");
    const logPre = h("pre", {class: "box", id: "exp-log"}, "loading…");
    const ckptList = h("ul", {class: "plain", id: "exp-checkpoints"});
    const eventList = h("ul", {class: "plain", id: "exp-events"});
    const evalBox = h("div", {id: "exp-evaluation", hidden: true});
    const logSel = h("select", {id: "log-file", onchange: () => logLoad()},
                     h("option", {value: "train"}, "train.log"),
                     h("option", {value: "worker"}, "process output"));

    const act = async (what, body) => {
        msg.replaceChildren();
        try {
            const res = await api("POST", `/experiments/${id}/${what}`, body);
            if (what === "evaluate") {
                flash = `Evaluation queued as experiment ${res.id}.`;
                go(`#/exp/${res.id}`);
                return;
            }
            msg.replaceChildren(banner(
                "ok", what === "cancel"  ? "Cancel requested."
                      : what === "pause" ? "Pause requested: the run checkpoints and stops."
                                         : "Resumed: queued to continue from its checkpoint."));
            expLoad();
        } catch (e) {
            if (e.status !== 401)
                msg.replaceChildren(banner("error", `${what} failed: ${errText(e)}`));
        }
    };
    const pauseBtn = h("button", {id: "btn-pause", onclick: () => act("pause")}, "Pause");
    const resumeBtn = h("button", {id: "btn-resume", onclick: () => act("resume")}, "Resume");
    const cancelBtn =
        confirmButton("Cancel run", "Click again to cancel", "danger", () => act("cancel"));
    cancelBtn.id = "btn-cancel";
    // the Evaluate dialog: episodes, checkpoint, deterministic actions, a recorded episode
    const evalEpisodes = h("input", {id: "eval-episodes", type: "number", min: 1, value: "10"});
    const evalCkpt =
        h("select", {id: "eval-checkpoint"}, h("option", {value: "last.ckpt"}, "last.ckpt"));
    const evalDet = h("input", {id: "eval-deterministic", type: "checkbox", checked: true});
    const evalRec = h("input", {id: "eval-record", type: "checkbox"});
    const evalErr = h("div", {id: "eval-error"});
    const evalDialog = h(
        "dialog", {id: "eval-dialog", class: "panel"}, h("h2", {}, "Evaluate"),
        h("form", {
            method: "dialog",
            class: "stack",
            novalidate: true, // the server's message names what is wrong
            onsubmit: async (ev) => {
                ev.preventDefault();
                evalErr.replaceChildren();
                for (const el of [evalEpisodes, evalCkpt])
                    el.classList.remove("invalid");
                const body = {
                    episodes: Number(evalEpisodes.value),
                    checkpoint: evalCkpt.value,
                    deterministic: evalDet.checked,
                    record: evalRec.checked,
                };
                try {
                    const res = await api("POST", `/experiments/${id}/evaluate`, body);
                    evalDialog.close();
                    flash = `Evaluation queued as experiment ${res.id}.`;
                    go(`#/exp/${res.id}`);
                } catch (e) {
                    if (e.status === 401)
                        return;
                    evalErr.replaceChildren(banner("error", errText(e)));
                    const el = {episodes: evalEpisodes,
                                checkpoint: evalCkpt}[String(e.field || "").replace(/^\$\./, "")];
                    if (el)
                        el.classList.add("invalid");
                }
            },
        },
          h("label", {}, "Episodes", evalEpisodes), h("label", {}, "Checkpoint", evalCkpt),
          h("label", {class: "check"}, evalDet, " deterministic actions (the mean of the policy)"),
          h("label", {class: "check"}, evalRec,
            " record one episode (video and trajectory; MuJoCo tasks)"),
          evalErr,
          h("div", {class: "row"}, h("span", {class: "spacer"}),
            h("button", {type: "button", id: "eval-cancel", onclick: () => evalDialog.close()},
              "Close"),
            h("button", {type: "submit", class: "primary", id: "eval-submit"},
              "Queue evaluation"))));
    const evalBtn = h("button", {
        id: "btn-evaluate",
        title: "evaluate a checkpoint of this run",
        onclick: async () => {
            evalErr.replaceChildren();
            evalDialog.showModal();
            try {
                const res = await api("GET", `/experiments/${id}/checkpoints`);
                const names = res.items.map((c) => c.name);
                if (names.length) {
                    const cur = evalCkpt.value;
                    evalCkpt.replaceChildren(...names.map((n) => h("option", {value: n}, n)));
                    evalCkpt.value = names.includes(cur)           ? cur
                                     : names.includes("last.ckpt") ? "last.ckpt"
                                                                   : names[0];
                }
            } catch {
                // the default last.ckpt stays; the server checks it
            }
        },
    },
                      "Evaluate…");
    const objectUrls = []; // video and trajectory blobs, released when the page closes
    const blobUrl = async (path) => {
        const url = URL.createObjectURL(await api("GET", path, undefined, {blob: true}));
        objectUrls.push(url);
        return url;
    };
    const evalsBox = h("div", {class: "panel", id: "exp-evals", hidden: true});
    let evalsTimer = null;

    const buttonsSet = (state) => {
        pauseBtn.disabled = !(state === "queued" || state === "running");
        resumeBtn.disabled = state !== "paused";
        cancelBtn.disabled = !(state === "queued" || state === "running" || state === "paused");
        evalBtn.disabled = !exp || exp.kind !== "train" || !exp.last_seq;
    };

    const factsRender = () => {
        if (!exp)
            return;
        const last = rows.length ? rows[rows.length - 1] : null;
        const p = progressOf(exp.spec, last);
        const end = exp.finished_at ||
                    (exp.started_at && !stateIsTerminal(exp.state) ? Date.now() / 1000 : null);
        const f = (label, value, fid) =>
            h("div", {}, h("b", {}, label), h("span", {id: fid}, value));
        facts.replaceChildren();
        mount(
            facts,
            f("Task", exp.task),
            f("Preset", (exp.spec && exp.spec.preset) || "–"),
            f("Progress", progressBar(p)),
            f("Iteration", last ? String(last.iteration) : "–", "fact-iteration"),
            f("Environment steps", last ? fmtSteps(last.env_steps) : "–"),
            f("Latest return", last ? fmtNum(last.return_mean) : "–", "fact-return"),
            f("Task metric", taskMetricText(last)),
            f("Submitted", fmtTime(exp.submitted_at)),
            f("Started", fmtTime(exp.started_at)),
            f("Finished", fmtTime(exp.finished_at)),
            f("Duration", exp.started_at && end ? fmtDuration(end - exp.started_at) : "–"),
            f("Ranks / attempts", `${exp.ranks} / ${exp.attempts}`),
            f("Tags",
              (exp.tags || []).length ? exp.tags.map((t) => h("span", {class: "tag"}, t)) : "–"),
            exp.parent_id ? f(exp.kind === "evaluate" ? "Evaluates" : "Parent",
                              h("a", {href: `#/exp/${exp.parent_id}`, id: "fact-parent"},
                                `experiment ${exp.parent_id}`))
                          : null,
            exp.error ? f("Error", h("span", {class: "error"}, exp.error)) : null,
        );
    };

    const chartEnsure = (def, keys) => {
        if (charts.has(def.id))
            return;
        const box =
            h("div", {class: "chart", dataset: {chart: def.id, metric: keys[0][0], points: "0"}},
              h("h2", {}, def.title));
        const host = h("div");
        box.append(host);
        // keep the order of EXP_CHARTS however late a chart appears
        const after = [...chartGrid.children].find(
            (c) => EXP_CHARTS.findIndex((d) => d.id === c.dataset.chart) > EXP_CHARTS.indexOf(def));
        chartGrid.insertBefore(box, after || null);
        const plot =
            chartCreate(host, keys.map(([, label], i) => ({label, color: PALETTE[i]})), xKey);
        charts.set(def.id, {def, keys, plot, box});
    };

    const chartsBuild = () => {
        for (const c of charts.values())
            c.plot.destroy();
        charts.clear();
        chartGrid.replaceChildren();
        for (const def of EXP_CHARTS)
            if (def.keys)
                chartEnsure(def, def.keys);
        chartsDraw();
    };

    // the facts are redrawn with the charts so the two never disagree
    const chartsDraw = () => {
        drawTimer = null;
        factsRender();
        const last = rows[rows.length - 1];
        const tk = taskMetricKeys(last);
        if (tk.length && !charts.has("task")) {
            const def = EXP_CHARTS.find((d) => d.id === "task");
            chartEnsure({
                ...def,
                title: tk[0] === "success_rate" ? "Success rate"
                                                : tk[0].replace(/_mean$/, "").replace(/_/g, " ")
            },
                        tk.map((k) => [k, k]));
        }
        const xs = rows.map((r) => r[xKey] ?? null);
        for (const c of charts.values()) {
            const ys = c.keys.map(([k]) => rows.map((r) => (Number.isFinite(r[k]) ? r[k] : null)));
            c.plot.setData([xs, ...ys]);
            c.box.dataset.points = String(ys[0].filter((v) => v !== null).length);
        }
    };

    const drawSoon = () => {
        if (!drawTimer)
            drawTimer = setTimeout(chartsDraw, 200);
    };

    const rowAdd = (row) => {
        // a resumed run rewrites history from its checkpoint: a repeated iteration replaces the
        // tail
        while (rows.length && rows[rows.length - 1].iteration >= row.iteration)
            rows.pop();
        rows.push(row);
        drawSoon();
    };

    const expLoad = async () => {
        try {
            exp = await api("GET", `/experiments/${id}`);
        } catch (e) {
            if (e.status !== 401 && !closed)
                view.replaceChildren(
                    banner("error", e.status === 404
                                        ? `There is no experiment ${id}.`
                                        : `Could not load experiment ${id}: ${errText(e)}`),
                    h("a", {href: "#/experiments"}, "← Experiments"));
            return false;
        }
        if (closed)
            return false;
        title.textContent = exp.name || `Experiment ${id}`;
        badge.textContent = exp.state;
        badge.className = `state ${exp.state}`;
        buttonsSet(exp.state);
        factsRender();
        specPre.textContent = JSON.stringify(exp.spec, null, 2);
        return true;
    };

    const ckptLoad = async () => {
        try {
            const res = await api("GET", `/experiments/${id}/checkpoints`);
            if (closed)
                return;
            ckptList.replaceChildren(
                ...(res.items.length
                        ? res.items.map(
                              (c) => h(
                                  "li",
                                  {},
                                  h("button", {
                                      class: "download",
                                      dataset: {name: c.name},
                                      onclick: async () => {
                                          try {
                                              const blob =
                                                  await api("GET",
                                                            `/experiments/${id}/checkpoints/${
                                                                encodeURIComponent(c.name)}`,
                                                            undefined, {blob: true});
                                              const url = URL.createObjectURL(blob);
                                              const a = h("a", {
                                                  href: url,
                                                  download: `${exp ? exp.name || id : id}-${c.name}`
                                              });
                                              document.body.append(a);
                                              a.click();
                                              a.remove();
                                              setTimeout(() => URL.revokeObjectURL(url), 10000);
                                          } catch (e) {
                                              if (e.status !== 401)
                                                  msg.replaceChildren(banner(
                                                      "error", `Download failed: ${errText(e)}`));
                                          }
                                      },
                                  },
                                    "Download"),
                                  ` ${c.name} `,
                                  h("span", {class: "muted"},
                                    `${(c.size / 1024).toFixed(1)} KiB · ${fmtTime(c.modified)}`),
                                  ),
                              )
                        : [h("li", {class: "muted"}, "No checkpoints yet.")]),
            );
        } catch (e) {
            if (!closed && e.status !== 401)
                ckptList.replaceChildren(h("li", {class: "error"}, errText(e)));
        }
    };

    const eventsLoad = async () => {
        try {
            const res = await api("GET", `/experiments/${id}/events`);
            if (closed)
                return;
            eventList.replaceChildren(...res.items.map(
                (ev) => h("li", {}, h("span", {class: "muted"}, fmtTime(ev.at)), ` ${ev.kind} `,
                          h("span", {class: "muted"}, ev.detail || ""))));
        } catch {
            // events are secondary; the rest of the page still works
        }
    };

    const logLoad = async () => {
        try {
            const text = await api("GET", `/experiments/${id}/log?file=${logSel.value}&tail=32768`,
                                   undefined, {text: true});
            if (closed)
                return;
            const atEnd = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 20;
            logPre.textContent = text || "(empty)";
            if (atEnd)
                logPre.scrollTop = logPre.scrollHeight;
        } catch (e) {
            if (!closed && e.status !== 401)
                logPre.textContent = e.status === 404 ? "(no log yet)" : errText(e);
        }
    };

    const logLoop = async () => {
        await logLoad();
        if (!closed && exp && !stateIsTerminal(exp.state))
            logTimer = setTimeout(logLoop, 4000);
    };

    const ciText = (res) => Array.isArray(res.ci95) && res.ci95[0] !== null
                                ? `[${fmtNum(res.ci95[0])}, ${fmtNum(res.ci95[1])}]`
                                : "–";

    // the recorded episode of an evaluation job: the video needs the bearer token, so it is
    // fetched as a blob and shown from an object URL
    const recordingRender = (res) => {
        if (!res.recording)
            return null;
        const box = h("div", {id: "eval-recording", style: "margin-top:10px"});
        const video = h("video", {
            id: "eval-video",
            controls: true,
            muted: true,
            playsinline: true,
            preload: "auto",
            style: "max-width:100%;background:#000"
        });
        const trajLink =
            h("a", {id: "eval-trajectory", class: "btn", href: "#", "aria-disabled": "true"},
              "Download trajectory");
        trajLink.addEventListener("click", async (ev) => {
            if (trajLink.dataset.ready)
                return;
            ev.preventDefault();
        });
        mount(box, res.recording.video ? video : h("p", {class: "muted"}, "No video was recorded."),
              h("div", {class: "row", style: "margin-top:6px"},
                res.recording.trajectory ? trajLink : null,
                h("span", {class: "muted"},
                  `return ${fmtNum(res.recording.return )} · ${res.recording.length} steps`)));
        if (res.recording.video)
            blobUrl(`/experiments/${id}/evaluation/video`)
                .then((url) => {
                    if (!closed)
                        video.src = url;
                })
                .catch((e) => {
                    if (!closed && e.status !== 401)
                        video.replaceWith(h("p", {class: "error"}, `Video: ${errText(e)}`));
                });
        if (res.recording.trajectory)
            blobUrl(`/experiments/${id}/evaluation/trajectory`)
                .then((url) => {
                    trajLink.href = url;
                    trajLink.download = `${exp ? exp.name || id : id}-trajectory.json`;
                    trajLink.dataset.ready = "1";
                    trajLink.removeAttribute("aria-disabled");
                })
                .catch(() => {});
        return box;
    };

    const evalLoad = async () => {
        if (!exp || exp.kind !== "evaluate")
            return;
        evalBox.hidden = false;
        // an evaluation job writes no training rows: its result replaces the curves
        curves.hidden = true;
        if (evalBox.dataset.done)
            return;
        try {
            const res = await api("GET", `/experiments/${id}/evaluation`);
            if (closed)
                return;
            const simple =
                Object.entries(res).filter(([, v]) => typeof v !== "object" || v === null);
            evalBox.dataset.done = "1";
            evalBox.replaceChildren(
                h("h2", {}, "Evaluation"),
                h("div", {class: "facts", id: "eval-facts"},
                  simple.map(([k, v]) =>
                                 h("div", {}, h("b", {}, k.replace(/_/g, " ")),
                                   typeof v === "number" && k !== "seed" ? fmtNum(v) : String(v))),
                  h("div", {}, h("b", {}, "95% CI"), h("span", {id: "eval-ci"}, ciText(res)))),
                recordingRender(res),
                h("details", {style: "margin-top:10px"}, h("summary", {}, "Result JSON"),
                  h("pre", {class: "box"}, JSON.stringify(res, null, 2))));
        } catch (e) {
            evalBox.replaceChildren(h("h2", {}, "Evaluation"),
                                    h("p", {class: "muted"},
                                      e.status === 404 || e.status === 409
                                          ? "No result yet: it appears when the evaluation has run."
                                          : errText(e)));
        }
    };

    // the evaluation jobs of a training run, with their results
    const evalResults = new Map(); // job id -> result of a finished job
    const evalsLoad = async () => {
        clearTimeout(evalsTimer);
        if (!exp || exp.kind !== "train" || closed)
            return;
        let jobs;
        try {
            jobs = (await api("GET", `/experiments?parent=${id}&limit=50`)).items;
        } catch (e) {
            if (!closed && e.status !== 401) {
                evalsBox.hidden = false;
                evalsBox.replaceChildren(h("h2", {}, "Evaluations"),
                                         h("p", {class: "error"}, errText(e)));
            }
            return;
        }
        if (closed)
            return;
        await pool(
            jobs.filter((j) => j.state === "succeeded" && !evalResults.has(j.id)), 4, async (j) => {
                try {
                    evalResults.set(j.id, await api("GET", `/experiments/${j.id}/evaluation`));
                } catch {
                    // shown without numbers
                }
            });
        if (closed)
            return;
        evalsBox.hidden = jobs.length === 0;
        const cell = (j, f) => (evalResults.has(j.id) ? f(evalResults.get(j.id)) : "–");
        evalsBox.replaceChildren(
            h("h2", {}, "Evaluations"),
            h("table", {class: "grid", id: "evals-table"},
              h("thead", {},
                h("tr", {},
                  ["Job", "State", "Checkpoint", "Episodes", "Mean", "Std", "95% CI", "Recording"]
                      .map((l) => h("th", {}, l)))),
              h("tbody", {},
                jobs.map((j) => h(
                             "tr",
                             {dataset: {id: j.id, state: j.state}},
                             h("td", {}, h("a", {href: `#/exp/${j.id}`}, `#${j.id}`)),
                             h("td", {}, stateBadge(j.state)),
                             h("td", {}, cell(j, (r) => (r.checkpoint || "–").split("/").pop())),
                             h("td", {class: "num"}, cell(j, (r) => String(r.episodes))),
                             h("td", {class: "num eval-mean"}, cell(j, (r) => fmtNum(r.mean))),
                             h("td", {class: "num"}, cell(j, (r) => fmtNum(r.std))),
                             h("td", {}, cell(j, ciText)),
                             h("td", {},
                               cell(j, (r) => (r.recording && r.recording.video
                                                   ? h("a", {href: `#/exp/${j.id}`}, "video")
                                                   : "–"))),
                             )))));
        if (jobs.some((j) => !stateIsTerminal(j.state)))
            evalsTimer = setTimeout(evalsLoad, 3000);
    };

    const xSel = h("select", {
        id: "exp-x",
        onchange: () => {
            xKey = xSel.value;
            chartsBuild();
        },
    },
                   Object.entries(X_AXES).map(([k, v]) => h("option", {value: k}, v)));

    const curves = h(
        "div",
        {id: "exp-curves"},
        h("div", {class: "row", style: "margin-bottom:8px"},
          h("h2", {style: "margin:0"}, "Learning curves"), h("span", {class: "spacer"}),
          h("label", {style: "flex-direction:row;align-items:center;gap:6px"}, "x-axis", xSel),
          h("a", {class: "btn", href: `#/compare?ids=${id}`}, "Compare with…")),
        chartGrid,
    );
    mount(
        view,
        h("div", {class: "head"}, h("a", {href: "#/experiments"}, "← Experiments"), title, badge,
          h("span", {class: "muted"}, `#${id}`), h("span", {class: "spacer"}), evalBtn, pauseBtn,
          resumeBtn, cancelBtn),
        flash ? banner("ok", flash) : null,
        msg,
        h("div", {class: "panel"}, facts),
        evalBox,
        curves,
        evalsBox,
        h("div", {class: "cols", style: "margin-top:16px"},
          h("div", {class: "panel"},
            h("div", {class: "row", style: "margin-bottom:8px"},
              h("h2", {style: "margin:0"}, "Log"), h("span", {class: "spacer"}), logSel),
            logPre),
          h("div", {}, h("div", {class: "panel"}, h("h2", {}, "Checkpoints"), ckptList),
            h("div", {class: "panel"}, h("h2", {}, "Events"), eventList))),
        h("div", {class: "panel"}, h("h2", {}, "Spec"), specPre),
        evalDialog,
    );
    flash = null;
    chartsBuild();
    const onResize = () => chartsFit([...charts.values()].map((c) => c.plot));
    window.addEventListener("resize", onResize);

    expLoad().then((ok) => {
        if (!ok)
            return;
        ckptLoad();
        eventsLoad();
        evalLoad();
        evalsLoad();
        logLoop();
        feed = new RowFeed(id, {
            onRow: rowAdd,
            onReset: () => {
                rows = [];
                drawSoon();
            },
            onState: async (state) => {
                if (exp && state === exp.state)
                    return;
                await expLoad();
                if (closed)
                    return;
                ckptLoad();
                eventsLoad();
                evalLoad();
                evalsLoad();
                clearTimeout(logTimer);
                logLoop();
            },
        });
        feed.start();
    });

    return () => {
        closed = true;
        if (feed)
            feed.close();
        clearTimeout(drawTimer);
        clearTimeout(logTimer);
        clearTimeout(evalsTimer);
        for (const url of objectUrls)
            URL.revokeObjectURL(url);
        if (evalDialog.open)
            evalDialog.close();
        window.removeEventListener("resize", onResize);
        for (const c of charts.values())
            c.plot.destroy();
    };
}

// ---- compare ----

const COMPARE_METRICS = [
    ["return_mean", "Return"],
    ["eval_return", "Evaluation return"],
    ["episode_length_mean", "Episode length"],
    ["success_rate", "Success rate"],
    ["policy_loss", "Policy loss"],
    ["value_loss", "Value loss"],
    ["entropy", "Entropy"],
    ["approx_kl", "Approximate KL"],
    ["clip_fraction", "Clip fraction"],
    ["explained_variance", "Explained variance"],
    ["sps", "Throughput (steps/s)"],
];

function viewCompare(params) {
    let ids = (params.get("ids") || "")
                  .split(",")
                  .map(Number)
                  .filter((n) => Number.isInteger(n) && n > 0);
    ids = [...new Set(ids)];
    let xKey = X_AXES[params.get("x")] ? params.get("x") : "env_steps";
    let smooth = Math.min(0.99, Math.max(0, Number(params.get("smooth")) || 0));
    let closed = false;
    let timer = null;
    const runs = new Map();   // id -> {exp, color}
    const series = new Map(); // `${id}/${key}` -> {x, y}
    let metrics = [];
    let charts = [];

    const msg = h("div");
    const chips = h("div", {class: "picker", id: "compare-runs"});
    const addSel = h("select", {id: "compare-add"}, h("option", {value: ""}, "add an experiment…"));
    const grid = h("div", {class: "charts", id: "compare-charts"});
    const xSel = h("select", {
        id: "compare-x",
        onchange: () => {
            xKey = xSel.value;
            hashSave();
            dataLoad(true);
        },
    },
                   Object.entries(X_AXES).map(([k, v]) => h("option", {value: k}, v)));
    xSel.value = xKey;
    const smoothOut = h("output", {id: "compare-smooth-value"}, smooth.toFixed(2));
    const smoothIn = h("input", {
        id: "compare-smooth",
        type: "range",
        min: "0",
        max: "0.99",
        step: "0.01",
        value: String(smooth),
        oninput: () => {
            smooth = Number(smoothIn.value);
            smoothOut.textContent = smooth.toFixed(2);
            hashSave();
            chartsDraw();
        },
    });

    const hashSave = () => {
        const q = new URLSearchParams({ids: ids.join(","), x: xKey});
        if (smooth)
            q.set("smooth", smooth);
        history.replaceState(null, "", `#/compare?${q}`);
    };

    const chipsRender = () => {
        chips.replaceChildren(
            ...(ids.length ? ids.map((id) => {
                const r = runs.get(id);
                return h("span", {class: "chip", dataset: {id}},
                         h("i", {style: `background:${r ? r.color : "#999"}`}),
                         h("a", {href: `#/exp/${id}`},
                           r && r.exp ? `${r.exp.name || "experiment"} #${id}` : `#${id}`),
                         r && r.exp ? stateBadge(r.exp.state) : null,
                         h("button", {title: "remove", onclick: () => runRemove(id)}, "×"));
            })
                           : [h("span", {class: "muted"},
                                "Pick experiments below or tick them in the experiments table.")]),
        );
    };

    const runRemove = (id) => {
        ids = ids.filter((x) => x !== id);
        runs.delete(id);
        hashSave();
        dataLoad(true);
    };

    const chartsBuild = () => {
        for (const c of charts)
            c.plot.destroy();
        charts = [];
        grid.replaceChildren();
        for (const [key, label] of metrics) {
            const box =
                h("div", {class: "chart", dataset: {metric: key, series: String(ids.length)}},
                  h("h2", {}, label));
            const host = h("div");
            box.append(host);
            grid.append(box);
            const plot = chartCreate(
                host, ids.map((id) => ({
                                  label: `#${id} ${runs.get(id)?.exp?.name || ""}`.trim(),
                                  color: runs.get(id)?.color
                              })),
                xKey);
            charts.push({key, plot, box});
        }
    };

    const chartsDraw = () => {
        for (const c of charts) {
            const tables = ids.map((id) => {
                const s = series.get(`${id}/${c.key}`) || {x: [], y: []};
                return [s.x, ema(s.y, smooth)];
            });
            const data = tables.length ? uPlot.join(tables) : [[]];
            c.plot.setData(data);
            let lines = 0;
            for (let i = 1; i < data.length; i++)
                if (data[i].some((v) => v !== null && v !== undefined))
                    lines++;
            c.box.dataset.lines = String(lines);
        }
    };

    const dataLoad = async (rebuild) => {
        clearTimeout(timer);
        try {
            await pool(ids, 4, async (id) => {
                const exp = await api("GET", `/experiments/${id}`);
                const prev = runs.get(id);
                runs.set(
                    id,
                    {exp, color: prev ? prev.color : PALETTE[ids.indexOf(id) % PALETTE.length]});
            });
            const keySets = await Promise.all(ids.map(
                (id) => api("GET", `/experiments/${id}/metrics/keys`).then((r) => r.keys || r)));
            const seen = new Set(keySets.flat());
            const next = COMPARE_METRICS.filter(([k]) => seen.has(k));
            for (const k of [...seen].sort())
                if (k.endsWith("_mean") && !STANDARD_KEYS.has(k))
                    next.push([k, k.replace(/_mean$/, "").replace(/_/g, " ")]);
            const jobs = [];
            for (const id of ids)
                for (const [k] of next)
                    if (seen.has(k))
                        jobs.push([id, k]);
            await pool(jobs, 6, async ([id, k]) => {
                try {
                    const s = await api("GET", `/experiments/${id}/metrics/series?key=${
                                                   encodeURIComponent(k)}&x=${xKey}&points=1000`);
                    series.set(`${id}/${k}`, {x: s.x, y: s.last});
                } catch (e) {
                    if (e.status === 401)
                        throw e;
                    series.set(`${id}/${k}`, {x: [], y: []});
                }
            });
            if (closed)
                return;
            msg.replaceChildren();
            const changed = rebuild || next.length !== metrics.length ||
                            next.some(([k], i) => metrics[i][0] !== k);
            metrics = next;
            chipsRender();
            if (changed)
                chartsBuild();
            chartsDraw();
            if (!ids.length)
                grid.replaceChildren();
        } catch (e) {
            if (closed || e.status === 401)
                return;
            msg.replaceChildren(banner("error", `Could not load the comparison: ${errText(e)}`));
        }
        // live runs keep their curves moving
        if (!closed && [...runs.values()].some((r) => !stateIsTerminal(r.exp.state)))
            timer = setTimeout(() => dataLoad(false), 5000);
    };

    api("GET", "/experiments?limit=200")
        .then((res) => {
            if (closed)
                return;
            for (const it of res.items)
                addSel.append(h("option", {value: String(it.id)},
                                `#${it.id} ${it.name || ""} (${it.task}, ${it.state})`));
        })
        .catch(() => {});
    addSel.addEventListener("change", () => {
        const id = Number(addSel.value);
        addSel.value = "";
        if (id && !ids.includes(id)) {
            ids.push(id);
            hashSave();
            dataLoad(true);
        }
    });

    mount(
        view,
        h("div", {class: "head"}, h("h1", {}, "Compare experiments")),
        msg,
        h("div", {class: "panel"}, h("div", {class: "row", style: "margin-bottom:10px"}, chips),
          h("div", {class: "row"}, addSel, h("span", {class: "spacer"}),
            h("label", {style: "flex-direction:row;align-items:center;gap:6px"}, "x-axis", xSel),
            h("label", {style: "flex-direction:row;align-items:center;gap:6px"}, "smoothing",
              smoothIn, smoothOut))),
        grid,
    );
    chipsRender();
    const onResize = () => chartsFit(charts.map((c) => c.plot));
    window.addEventListener("resize", onResize);
    dataLoad(true);
    return () => {
        closed = true;
        clearTimeout(timer);
        window.removeEventListener("resize", onResize);
        for (const c of charts)
            c.plot.destroy();
    };
}

// ---- submit ----

function viewSubmit() {
    let closed = false;
    let timer = null;
    let seq = 0;
    const taskSel = h("select", {id: "submit-task"});
    const presetSel = h("select", {id: "submit-preset"});
    const prioIn = h("input", {
        id: "submit-priority",
        type: "number",
        value: "0",
        min: "-1000",
        max: "1000",
        style: "width:90px"
    });
    const taskErr = h("div", {class: "field-error", id: "submit-task-error", hidden: true});
    const presetErr = h("div", {class: "field-error", id: "submit-preset-error", hidden: true});
    const prioErr = h("div", {class: "field-error", id: "submit-priority-error", hidden: true});
    const gutter = h("div", {class: "gutter", id: "submit-gutter"});
    const editor = h("textarea", {
        id: "submit-spec",
        class: "code",
        spellcheck: "false",
        "aria-label": "experiment spec (JSON)",
        wrap: "off"
    });
    const specErr =
        h("div", {class: "field-error", id: "submit-spec-error", role: "alert", hidden: true});
    const summary = h("div", {id: "submit-summary", class: "muted"}, "");
    const taskInfo = h("p", {class: "muted", id: "submit-task-info"});
    const validateBtn =
        h("button", {id: "submit-validate", onclick: () => check(false)}, "Validate");
    const submitBtn =
        h("button", {class: "primary", id: "submit-go", onclick: () => check(true)}, "Submit");
    const msg = h("div");
    let cat = null;
    let badLine = 0;

    editor.value = JSON.stringify({
        name: "cartpole-quick",
        task: "CartPole",
        preset: "default",
        budget: {env_steps: 100000},
        seed: 1,
        tags: ["dashboard"]
    },
                                  null, 2);

    const gutterRender = () => {
        const n = editor.value.split("\n").length;
        gutter.replaceChildren(
            ...Array
                .from({length: n}, (_, k) => (k + 1 === badLine
                                                  ? h("span", {class: "bad", id: "submit-bad-line"},
                                                      String(k + 1))
                                                  : String(k + 1)))
                .flatMap((x, k) => (k ? ["\n", x] : [x])));
        gutter.scrollTop = editor.scrollTop;
    };
    editor.addEventListener("scroll", () => (gutter.scrollTop = editor.scrollTop));

    const errorsClear = () => {
        for (const el of [taskErr, presetErr, prioErr, specErr])
            el.hidden = true;
        for (const el of [taskSel, presetSel, prioIn, editor])
            el.classList.remove("invalid");
        badLine = 0;
        gutterRender();
    };

    const fieldShow = (errEl, input, text) => {
        errEl.textContent = text;
        errEl.hidden = false;
        input.classList.add("invalid");
    };

    // a server problem is shown at the control it names and at its line of the spec
    const problemShow = (e) => {
        const field = e.field || "";
        if (field === "priority") {
            fieldShow(prioErr, prioIn, e.message);
            return;
        }
        const path = field.replace(/^spec\.?/, "");
        if (path === "task")
            fieldShow(taskErr, taskSel, e.message);
        if (path === "preset")
            fieldShow(presetErr, presetSel, e.message);
        // a missing key is reported at its nearest parent that the text has
        badLine = jsonPathLine(editor.value, path);
        gutterRender();
        editor.dataset.field = field;
        // the server's detail already names the field; the line is where to look in the editor
        fieldShow(specErr, editor, `Line ${badLine}: ${e.message}`);
    };

    const specRead = () => {
        try {
            const spec = JSON.parse(editor.value);
            if (!spec || typeof spec !== "object" || Array.isArray(spec))
                throw new Error("the spec must be a JSON object");
            return spec;
        } catch (err) {
            const m = /position (\d+)/.exec(err.message);
            badLine = m ? editor.value.slice(0, Number(m[1])).split("\n").length : 0;
            gutterRender();
            fieldShow(specErr, editor, `Not valid JSON: ${err.message}`);
            return null;
        }
    };

    const check = async (submit) => {
        const my = ++seq;
        errorsClear();
        msg.replaceChildren();
        const spec = specRead();
        if (!spec)
            return;
        const prio = Number(prioIn.value);
        if (!Number.isInteger(prio)) {
            fieldShow(prioErr, prioIn, "priority must be an integer");
            return;
        }
        submitBtn.disabled = true;
        try {
            const res =
                await api("POST", submit ? "/experiments" : "/validate", {spec, priority: prio});
            if (closed || my !== seq)
                return;
            if (submit) {
                flash = `Submitted experiment ${res.id} (${res.name || res.task}).`;
                go("#/experiments");
                return;
            }
            summary.textContent = `Valid: ${res.iterations} iterations of ${res.spec.task}${
                res.spec.preset ? ` with preset ${res.spec.preset}` : ""}.`;
            summary.className = "ok";
        } catch (e) {
            if (closed || my !== seq || e.status === 401)
                return;
            summary.textContent = "";
            if (e.status === 422 || e.status === 400)
                problemShow(e);
            else
                msg.replaceChildren(
                    banner("error", `${submit ? "Submit" : "Validation"} failed: ${errText(e)}`));
        } finally {
            submitBtn.disabled = false;
        }
    };

    // the pickers write into the JSON so the editor stays the one source of truth
    const specPatch = (patch) => {
        let spec;
        try {
            spec = JSON.parse(editor.value);
        } catch {
            specRead();
            return;
        }
        Object.assign(spec, patch);
        editor.value = JSON.stringify(spec, null, 2);
        validateSoon();
    };
    const taskDescribe = () => {
        const t = cat && cat.tasks ? cat.tasks.find((x) => x.name === taskSel.value) : null;
        taskInfo.textContent =
            t ? `${t.summary || ""} · observation ${t.obs_size}, action ${t.action.kind}${
                    t.metrics && t.metrics.length ? ` · metrics: ${t.metrics.join(", ")}` : ""}`
                                                  : "";
    };
    taskSel.addEventListener("change", () => {
        specPatch({task: taskSel.value});
        taskDescribe();
    });
    presetSel.addEventListener("change", () => specPatch({preset: presetSel.value}));
    const fillBtn = h("button", {
        id: "submit-fill",
        title: "write every setting of the preset into the editor",
        onclick: () => {
            if (!cat)
                return;
            const d = cat.defaults[presetSel.value] || {};
            let spec;
            try {
                spec = JSON.parse(editor.value);
            } catch {
                specRead();
                return;
            }
            editor.value = JSON.stringify(
                {name: spec.name, task: spec.task, ...d, ...spec, preset: presetSel.value}, null,
                2);
            validateSoon();
        },
    },
                      "Show all settings");

    const validateSoon = () => {
        gutterRender();
        clearTimeout(timer);
        timer = setTimeout(() => check(false), 700);
    };
    editor.addEventListener("input", validateSoon);
    prioIn.addEventListener("input", validateSoon);

    catalogueGet()
        .then((c) => {
            if (closed)
                return;
            cat = c;
            let spec = {};
            try {
                spec = JSON.parse(editor.value);
            } catch {
                spec = {};
            }
            for (const t of c.tasks || [])
                taskSel.append(h("option", {value: t.name}, t.name));
            for (const p of c.presets || [])
                presetSel.append(h("option", {value: p}, p));
            taskSel.value = spec.task || "";
            presetSel.value = spec.preset || "default";
            taskDescribe();
            check(false);
        })
        .catch((e) => {
            if (!closed && e.status !== 401)
                msg.replaceChildren(banner("error", `Could not load the catalogue: ${errText(e)}`));
        });

    mount(
        view,
        h("div", {class: "head"}, h("h1", {}, "New experiment")),
        msg,
        h(
            "div",
            {class: "panel"},
            h("div", {class: "form-grid"}, h("label", {}, "Task", taskSel, taskErr),
              h("label", {}, "Preset", presetSel, presetErr),
              h("label", {}, "Priority", prioIn, prioErr), fillBtn),
            taskInfo,
            h("div", {class: "editor"}, gutter, editor),
            specErr,
            h("div", {class: "row", style: "margin-top:12px"}, validateBtn, submitBtn, summary),
            h("p", {class: "muted"},
              "The spec is checked by the server as you type; every key not given comes from the preset. See docs/spec.md for the keys."),
            ),
    );
    gutterRender();
    return () => {
        closed = true;
        clearTimeout(timer);
    };
}

// ---- start ----

onUnauthorized(() => {
    tokenClear();
    infoForget();
    const next = location.hash.startsWith("#/signin") ? "#/experiments" : location.hash;
    go(`#/signin?${
        new URLSearchParams(
            {next, reason: "The server no longer accepts your token (401). Sign in again."})}`);
});

const conn = document.getElementById("conn");
connListen((mode) => {
    conn.className = `conn ${mode}`;
    conn.textContent = mode === "live"         ? "live"
                       : mode === "poll"       ? "polling"
                       : mode === "connecting" ? "reconnecting…"
                                               : "";
    conn.dataset.mode = mode;
});

document.getElementById("signout").addEventListener("click", () => {
    tokenClear();
    infoForget();
    go("#/signin");
});

window.addEventListener("hashchange", route);
route();
