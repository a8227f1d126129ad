// angora dashboard: the submit view: a JSON editor for an experiment spec with task and preset
// pickers, validated by the server as one types; its messages are shown at the control and the
// line they name.

import {api} from "./api.js";
import {jsonParseExact} from "./json-exact.js";
import {jsonPathLine} from "./jsonpath.js";
import {flashSet, go} from "./router.js";
import {banner, catalogueGet, errText, h, mount, view} from "./ui.js";

export function viewSubmit() {
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
            // every digit of a 64-bit seed reaches the server, which judges its range
            const spec = jsonParseExact(editor.value, {raw: true});
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
                flashSet(`Submitted experiment ${res.id} (${res.name || res.task}).`);
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

    // the pickers write into the JSON so the editor stays the one source of truth: the spec in
    // the editor becomes edit(spec), or the parse error is shown
    const specRewrite = (edit) => {
        let spec;
        try {
            spec = jsonParseExact(editor.value, {raw: true});
        } catch {
            specRead();
            return;
        }
        editor.value = JSON.stringify(edit(spec), null, 2);
        validateSoon();
    };
    const specPatch = (patch) => specRewrite((spec) => Object.assign(spec, patch));
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
            specRewrite(
                (spec) =>
                    ({name: spec.name, task: spec.task, ...d, ...spec, preset: presetSel.value}));
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
