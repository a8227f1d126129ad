// angora dashboard: REST access (bearer token, problem+json errors) and live metric rows
// (websocket stream when angorad has one, polling the REST export otherwise).

import {jsonParseExact} from "./json-exact.js";

const TOKEN_KEY = "angora.token";
const API = "/api/v1";

export class ApiError extends Error {
    constructor(status, problem) {
        super(problem.detail || problem.title || `HTTP ${status}`);
        this.status = status;
        this.code = problem.code || "";
        this.field = problem.field || null;
        this.problem = problem;
    }
}

export function tokenGet() {
    return localStorage.getItem(TOKEN_KEY) || "";
}

export function tokenSet(t) {
    localStorage.setItem(TOKEN_KEY, t);
}

export function tokenClear() {
    localStorage.removeItem(TOKEN_KEY);
}

let unauthorized = null;
export function onUnauthorized(fn) {
    unauthorized = fn;
}

// api("GET", "/experiments") -> parsed JSON (or text with {text: true}); throws ApiError
export async function api(method, path, body, opts = {}) {
    const tok = opts.token !== undefined ? opts.token : tokenGet();
    const headers = {};
    if (tok)
        headers.Authorization = `Bearer ${tok}`;
    if (body !== undefined)
        headers["Content-Type"] = "application/json";
    let res;
    try {
        res = await fetch(API + path, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            // answers with an ETag are kept by the browser and asked for again with
            // If-None-Match: an unchanged list page or series comes back as a bodiless 304
            cache: "no-cache",
        });
    } catch (e) {
        throw new ApiError(
            0, {title: "Network error", detail: `angorad cannot be reached (${e.message})`});
    }
    if (res.ok) {
        if (opts.blob)
            return res.blob();
        if (opts.text)
            return res.text();
        // seeds are 64-bit: kept to the last digit
        return jsonParseExact(await res.text());
    }
    let problem;
    try {
        problem = await res.json();
    } catch {
        problem = {title: res.statusText, detail: `${res.status} ${res.statusText}`};
    }
    const err = new ApiError(res.status, problem);
    // a token that stops working (revoked, daemon's data dir replaced) sends the user to sign-in
    if (res.status === 401 && !opts.quiet401 && unauthorized)
        unauthorized(err);
    throw err;
}

let infoCache = null;
export async function infoGet(force = false) {
    if (!infoCache || force)
        infoCache = await api("GET", "/info");
    return infoCache;
}

export function infoForget() {
    infoCache = null;
}

// live-mode indicator in the top bar
const connListeners = new Set();
export function connReport(mode) {
    for (const fn of connListeners)
        fn(mode);
}
export function connListen(fn) {
    connListeners.add(fn);
}

const POLL_MS = 3000;
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

// RowFeed delivers one experiment's metric rows in seq order, each once, and its state changes.
// handlers: onRow(row, seq), onState(state, reason), onReset() (history no longer valid)
export class RowFeed {
    constructor(id, handlers) {
        this.id = id;
        this.h = handlers;
        this.last = 0;
        this.state = null;
        this.closed = false;
        this.ws = null;
        this.timer = null;
        this.failures = 0;
    }

    async start() {
        let port = null;
        try {
            port = (await infoGet()).websocket_port;
        } catch {
            port = null;
        }
        if (this.closed)
            return;
        if (port && typeof WebSocket !== "undefined")
            this.wsOpen(port);
        else
            this.pollStart();
    }

    close() {
        this.closed = true;
        clearTimeout(this.timer);
        const ws = this.ws;
        this.ws = null;
        if (!ws)
            return;
        ws.onclose = null;
        ws.onmessage = null;
        // closing a socket that is still connecting makes the browser log a warning; let it
        // open first, then close it
        if (ws.readyState === WebSocket.CONNECTING)
            ws.onopen = () => ws.close();
        else
            ws.close();
    }

    stateSet(state, reason) {
        if (!state || state === this.state)
            return;
        this.state = state;
        if (this.h.onState)
            this.h.onState(state, reason || "");
    }

    wsOpen(port) {
        const proto = location.protocol === "https:" ? "wss" : "ws";
        const url = `${proto}://${location.hostname}:${port}/api/v1/stream?token=${
            encodeURIComponent(tokenGet())}`;
        let opened = false;
        const ws = new WebSocket(url);
        this.ws = ws;
        ws.onopen = () => {
            opened = true;
            this.failures = 0;
            connReport("live");
            ws.send(JSON.stringify(
                {type: "subscribe", experiments: [{id: this.id, since_seq: this.last}]}));
        };
        ws.onmessage = (ev) => {
            let m;
            try {
                m = JSON.parse(ev.data);
            } catch {
                return;
            }
            if (m.exp !== undefined && m.exp !== this.id)
                return;
            switch (m.type) {
            case "row":
                if (m.seq > this.last) {
                    this.last = m.seq;
                    this.h.onRow(m.row, m.seq);
                }
                break;
            case "subscribed":
            case "state":
                this.stateSet(m.state, m.reason);
                break;
            case "resync":
                this.last = 0;
                if (this.h.onReset)
                    this.h.onReset();
                break;
            default:
                break;
            }
        };
        ws.onclose = () => {
            this.ws = null;
            if (this.closed)
                return;
            this.failures++;
            // a stream that never opens (blocked port, proxy) is replaced by polling
            if (!opened && this.failures >= 2) {
                this.pollStart();
                return;
            }
            connReport("connecting");
            this.timer = setTimeout(() => this.wsOpen(port), Math.min(this.failures, 5) * 1000);
        };
    }

    pollStart() {
        connReport("poll");
        this.pollOnce();
    }

    async pollOnce() {
        if (this.closed)
            return;
        try {
            for (;;) {
                const page = await api(
                    "GET",
                    `/experiments/${this.id}/metrics/export?after_seq=${this.last}&limit=2000`);
                for (const r of page.rows) {
                    if (this.closed)
                        return;
                    if (r.seq > this.last) {
                        this.last = r.seq;
                        this.h.onRow(r.row, r.seq);
                    }
                }
                if (page.rows.length < 2000)
                    break;
            }
            const exp = await api("GET", `/experiments/${this.id}`);
            if (exp.last_seq < this.last) {
                // the stored series was replaced: start over
                this.last = 0;
                if (this.h.onReset)
                    this.h.onReset();
            }
            this.stateSet(exp.state, "");
        } catch (e) {
            if (e.status === 401)
                return;
        }
        if (!this.closed)
            this.timer = setTimeout(() => this.pollOnce(), POLL_MS);
    }
}

export function stateIsTerminal(s) {
    return TERMINAL.has(s);
}
