// Browser-test harness: starts angorad on loopback with a temp data dir and the real angora-train
// and angora-analyze (as tests/integration/itest.c does: --port 0, port file, token file), and
// headless Chromium through playwright-core with a fresh profile. Settings come from the
// environment CTest sets.
import {spawn} from "node:child_process";
import {createRequire} from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const env = (k) => {
    const v = process.env[k];
    if (!v)
        throw new Error(`${k} is not set (run through ctest)`);
    return v;
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function daemonStart({stream = true, maxCores = 2} = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "angora-web-"));
    const portFile = path.join(dir, "port");
    const args = [
        "--data-dir", dir, "--port", "0", "--port-file", portFile, "--trainer", env("ANGORA_TRAIN"),
        "--max-cores", String(maxCores), "--integrity-check", "no", "--grace-seconds", "5",
        "--tick-seconds", "0.2"
    ];
    if (!stream)
        args.push("--stream-port", "-1");
    // the second step of analysis jobs, when the build has it
    if (process.env.ANGORA_ANALYZE)
        args.push("--analyzer", process.env.ANGORA_ANALYZE);
    const log = fs.openSync(path.join(dir, "angorad.log"), "w");
    const proc =
        spawn(env("ANGORAD"), args,
              {stdio: ["ignore", log, log], env: {...process.env, OPENBLAS_NUM_THREADS: "1"}});
    let exited = null;
    proc.on("exit", (code, sig) => (exited = {code, sig}));
    for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) {
        if (exited)
            break;
        await sleep(50);
    }
    if (!fs.existsSync(portFile))
        throw new Error(
            `angorad did not start: ${fs.readFileSync(path.join(dir, "angorad.log"), "utf8")}`);
    const port = Number(fs.readFileSync(portFile, "utf8").trim());
    const token = fs.readFileSync(path.join(dir, "token"), "utf8").trim();
    const base = `http://127.0.0.1:${port}`;
    const d = {
        dir,
        port,
        token,
        base,
        async rest(method, p, body) {
            const res = await fetch(base + "/api/v1" + p, {
                method,
                headers: {
                    Authorization: `Bearer ${token}`,
                    ...(body ? {"Content-Type": "application/json"} : {})
                },
                body: body ? JSON.stringify(body) : undefined,
            });
            const text = await res.text();
            let json = null;
            try {
                json = JSON.parse(text);
            } catch {
                json = null;
            }
            return {status: res.status, json, text};
        },
        async submit(spec) {
            const r = await d.rest("POST", "/experiments", {spec});
            if (r.status !== 201)
                throw new Error(`submit failed: ${r.status} ${r.text}`);
            return r.json.id;
        },
        async waitState(id, states, ms = 60000) {
            const t0 = Date.now();
            for (;;) {
                const r = await d.rest("GET", `/experiments/${id}`);
                if (states.includes(r.json.state))
                    return r.json;
                if (Date.now() - t0 > ms)
                    throw new Error(`experiment ${id} stayed ${r.json.state}, wanted ${states}`);
                await sleep(200);
            }
        },
        async stop() {
            // cancel what still runs: angorad leaves its runs alive when it stops (queued ones
            // never start once it is gone)
            if (!exited) {
                const live = [];
                for (const state of ["running", "paused"]) {
                    const list = await d.rest("GET", `/experiments?state=${state}&limit=1000`);
                    live.push(...(list.json?.items || []));
                }
                for (const e of live)
                    await d.rest("POST", `/experiments/${e.id}/cancel`);
                for (const e of live)
                    await d.waitState(e.id, ["cancelled", "succeeded", "failed"], 20000)
                        .catch(() => {});
                proc.kill("SIGTERM");
                for (let i = 0; i < 100 && !exited; i++)
                    await sleep(50);
                if (!exited)
                    proc.kill("SIGKILL");
            }
            // a trainer that outlived its cancel, or that the scheduler started between the
            // listing above and the daemon's exit, must not outlive the test: every process whose
            // command line names our temporary folder is ours
            for (const entry of fs.readdirSync("/proc")) {
                if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid)
                    continue;
                try {
                    if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir))
                        process.kill(Number(entry), "SIGKILL");
                } catch {
                    // gone meanwhile, or not ours to read
                }
            }
            // a killed trainer may still be closing its files for a moment
            fs.rmSync(dir, {recursive: true, force: true, maxRetries: 10, retryDelay: 100});
        },
    };
    return d;
}

export async function browserStart() {
    const require = createRequire(path.join(env("ANGORA_WEB_NODE_MODULES"), "noop.js"));
    const {chromium} = require("playwright-core");
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "angora-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
        headless: true,
        viewport: {width: 1440, height: 900},
        args: [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"
        ],
    });
    const page = context.pages()[0] || (await context.newPage());
    // every console error and uncaught exception is kept; tests assert on them
    const problems = [];
    page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning")
            problems.push({type: m.type(), text: m.text(), url: m.location().url});
    });
    page.on("pageerror", (e) => problems.push({type: "pageerror", text: String(e)}));
    page.setDefaultTimeout(20000);
    return {
        context,
        page,
        problems,
        async stop() {
            await context.close();
            fs.rmSync(profile, {recursive: true, force: true});
        },
    };
}

// Firefox through its own WebDriver BiDi endpoint (playwright-core's Firefox needs a patched
// build): a small client enough to navigate, evaluate scripts, read console entries and capture
// screenshots. Needs a global WebSocket (node >= 22, or node 20 with --experimental-websocket).
export async function firefoxStart() {
    const exe = env("FIREFOX");
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "angora-firefox-"));
    const proc = spawn(exe,
                       [
                           "--headless", "--no-remote", "--remote-debugging-port=0", "--profile",
                           profile, "--width", "1440", "--height", "900"
                       ],
                       {stdio: ["ignore", "ignore", "pipe"]});
    const wsUrl = await new Promise((resolve, reject) => {
        let buf = "";
        const t = setTimeout(() => reject(new Error(`firefox did not start: ${buf}`)), 30000);
        proc.stderr.on("data", (chunk) => {
            buf += chunk;
            const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(buf);
            if (m) {
                clearTimeout(t);
                resolve(m[1]);
            }
        });
    });
    const ws = new WebSocket(`${wsUrl}/session`);
    await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("cannot connect to firefox"));
    });
    let nextId = 0;
    const pending = new Map();
    const logs = [];
    ws.onmessage = (ev) => {
        const m = JSON.parse(ev.data);
        if (m.id !== undefined && pending.has(m.id)) {
            pending.get(m.id)(m);
            pending.delete(m.id);
        } else if (m.type === "event" && m.method === "log.entryAdded") {
            logs.push({level: m.params.level, text: m.params.text});
        }
    };
    const cmd = (method, params) => new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, (m) => (m.type === "success"
                                    ? resolve(m.result)
                                    : reject(new Error(`${method}: ${m.error} ${m.message}`))));
        ws.send(JSON.stringify({id, method, params}));
    });
    await cmd("session.new", {capabilities: {}});
    await cmd("session.subscribe", {events: ["log.entryAdded"]});
    const context = (await cmd("browsingContext.getTree", {})).contexts[0].context;
    const ff = {
        logs,
        async goto(url) {
            await cmd("browsingContext.navigate", {context, url, wait: "complete"});
        },
        // evaluates a JS expression in the page (promises awaited) and returns its JSON value
        async eval(expression) {
            const r = await cmd("script.evaluate", {
                expression: `(async () => JSON.stringify(await (${expression})))()`,
                target: {context},
                awaitPromise: true,
            });
            if (r.type !== "success")
                throw new Error(`script failed: ${JSON.stringify(r.exceptionDetails)}`);
            return r.result.value === undefined ? undefined : JSON.parse(r.result.value);
        },
        async waitFor(expression, what, ms = 30000) {
            const t0 = Date.now();
            for (;;) {
                let ok = false;
                try {
                    ok = await ff.eval(expression);
                } catch {
                    ok = false;
                }
                if (ok)
                    return ok;
                if (Date.now() - t0 > ms)
                    throw new Error(`firefox: timed out waiting for ${what}`);
                await sleep(100);
            }
        },
        async screenshot(file) {
            const r = await cmd("browsingContext.captureScreenshot", {context});
            fs.writeFileSync(file, Buffer.from(r.data, "base64"));
        },
        async stop() {
            try {
                await cmd("session.end", {});
            } catch {
                // the browser may already be going away
            }
            ws.close();
            proc.kill("SIGTERM");
            await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
            fs.rmSync(profile, {recursive: true, force: true});
        },
    };
    return ff;
}

// signs the page in with the daemon's token and waits for the experiments table
export async function signIn(page, d) {
    await page.goto(`${d.base}/#/signin`);
    await page.fill("#token", d.token);
    await page.click("#signin-button");
    await page.waitForSelector("#exp-table tbody tr[data-id]");
}

// the console problems left once the failed requests a test provokes on purpose (responses
// with one of these statuses, which the browser logs) are set aside
export function problemsBeyond(problems, statuses) {
    return problems.filter((p) => {
        const m =
            /Failed to load resource: the server responded with a status of (\d+)/.exec(p.text);
        return !(m && statuses.includes(Number(m[1])));
    });
}
