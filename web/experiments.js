// angora dashboard: the experiments view, a table of every experiment with server-side search,
// filters, sort and paging, refreshed every 5 s; ticked rows go on to compare.

import {api, stateIsTerminal} from "./api.js";
import {fmtNum, fmtSteps} from "./charts.js";
import {RateMeter, etaSeconds, fmtDuration, runSeconds} from "./progress.js";
import {flashTake, go} from "./router.js";
import {
    banner,
    catalogueGet,
    errText,
    fmtTime,
    fmtTimeShort,
    h,
    mount,
    progressBar,
    stateBadge,
    taskMetricText,
    view
} from "./ui.js";

const STATES = ["queued", "running", "paused", "succeeded", "failed", "cancelled"];

// Search, sort and paging are the server's: one request per page, the list items carry the
// budget and the newest metric values, so no row needs a request of its own.
let pageStack = [];        // cursors of the pages before the current one
let searchFocused = false; // keep typing in the search box across the re-render of a new query
const selected = new Set();
const SORT_ASC_DEFAULT = new Set(["name", "task", "state"]);
const rates = new RateMeter(); // steps/s of running runs, from one refresh to the next

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

export function viewExperiments(params) {
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
        {key: "sps", label: "Steps/s", sort: null},
        {key: "duration", label: "Duration", sort: null},
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

    const rowRender = (it, now) => {
        const p = listProgress(it);
        const terminal = stateIsTerminal(it.state);
        const seconds = runSeconds(it, now, terminal);
        // a finished run: its steps over its running time
        const rate =
            terminal ? (seconds > 0 && it.latest_env_steps ? it.latest_env_steps / seconds : null)
                     : rates.observe(it, now);
        const eta = p && it.state === "running" ? etaSeconds(p.done, p.budget, rate) : null;
        return h(
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
            h("td", {class: "name"},
              h("a", {href: `#/exp/${it.id}`, class: "exp-link", title: it.name || ""},
                it.name || `experiment ${it.id}`)),
            h("td", {}, it.task),
            h("td", {}, stateBadge(it.state),
              it.kind && it.kind !== "train" ? h("small", {class: "muted"}, ` ${it.kind}`) : null),
            // the bar, then the steps of the budget and, while it trains, the time left
            h("td", {class: "progress-cell"}, progressBar(p),
              p ? h("small", {class: "sub"}, `${fmtSteps(p.done)} / ${fmtSteps(p.budget)}`) : null,
              eta !== null ? h("small", {class: "sub eta"}, `ETA ${fmtDuration(eta)}`) : null),
            h("td", {class: "num ret"}, fmtNum(it.latest_return)),
            h("td", {}, listMetricText(it)),
            h("td", {class: "num sps"}, rate ? fmtNum(rate) : "–"),
            h("td", {class: "duration"}, fmtDuration(seconds)),
            h("td",
              {title: `submitted ${fmtTime(it.submitted_at)}, started ${fmtTime(it.started_at)}`},
              fmtTimeShort(it.started_at)),
            h("td", {class: "tags"},
              (it.tags || [])
                  .map((t) => h("a",
                                {class: "tag", href: `#/experiments?tag=${encodeURIComponent(t)}`},
                                t))),
        );
    };

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
        const now = Date.now() / 1000;
        tbody.replaceChildren(...items.map((it) => rowRender(it, now)));
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

    const note = flashTake();
    mount(
        view,
        h("div", {class: "head"}, h("h1", {}, "Experiments"), h("span", {class: "spacer"}),
          filters.tag ? h("a", {
              class: "btn",
              id: "group-view",
              href: `#/group?tag=${encodeURIComponent(filters.tag)}`,
              title: "the runs with this tag as mean ± std, and the settings that differ"
          },
                          "Seed group")
                      : null,
          compareBtn,
          h("a", {class: "btn primary", href: "#/submit", id: "new-experiment"}, "New experiment")),
        note ? banner("ok", note) : null,
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
    load();
    return () => {
        closed = true;
        clearTimeout(timer);
        clearTimeout(searchTimer);
    };
}
