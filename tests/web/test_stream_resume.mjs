// The live stream across a pause and a resume, with the real angora-train: a subscriber connected
// before the pause receives every row once, in seq order, with seq equal to the iteration; the rows
// before the pause are not sent again when the resumed run's metrics file is read from the start,
// and the stored series is the same (no renumbering). No browser: node's WebSocket (a flag before
// node 22) with the token in the query, as the dashboard connects.
import assert from "node:assert/strict";
import {after, before, test} from "node:test";

import {daemonStart, sleep} from "./harness.mjs";

// thousands of tiny iterations: long enough to pause in the middle
const SPEC = {
    task: "CartPole",
    name: "stream-resume",
    seed: 7,
    ppo: {envs_per_rank: 2, horizon: 32, minibatch: 64, epochs: 1},
    budget: {env_steps: 64 * 100000},
    eval: {every: 0}
};

let d;

before(async () => { d = await daemonStart({maxCores: 1}); });

after(async () => {
    if (d)
        await d.stop();
});

async function rowsStored(id) {
    return (await d.rest("GET", `/experiments/${id}/metrics/export`)).json.rows;
}

async function waitRows(id, n, ms = 60000) {
    const t0 = Date.now();
    for (;;) {
        const e = (await d.rest("GET", `/experiments/${id}`)).json;
        if (e.metric_rows >= n)
            return e.metric_rows;
        if (Date.now() - t0 > ms)
            throw new Error(`experiment ${id} has ${e.metric_rows} rows, wanted ${n}`);
        await sleep(100);
    }
}

test("a subscriber across pause and resume gets each row once, nothing re-sent", async () => {
    assert.equal(typeof WebSocket, "function", "no WebSocket in this node");
    const info = (await d.rest("GET", "/info")).json;
    assert.ok(info.websocket_port, "angorad serves no stream");
    const id = await d.submit(SPEC);
    const received = [];
    // the stream closes a client too slow to keep up (docs/api.md); a client then comes back
    // with since_seq at the last row it has, as this one does, and must still get each row once
    let ws = null, done = false, reconnects = 0;
    const connect = () => new Promise((resolve, reject) => {
        const since = received.length ? received[received.length - 1].seq : 0;
        ws = new WebSocket(
            `ws://127.0.0.1:${info.websocket_port}/api/v1/stream?token=${d.token}`);
        ws.onopen = () => {
            ws.send(JSON.stringify({type: "subscribe", experiments: [{id, since_seq: since}]}));
            resolve();
        };
        ws.onerror = () => reject(new Error("cannot connect to the stream"));
        ws.onmessage = (ev) => {
            const m = JSON.parse(ev.data);
            if (m.type === "row" && m.exp === id)
                received.push({seq: m.seq, iteration: m.row.iteration});
        };
        ws.onclose = () => {
            if (!done) {
                reconnects++;
                connect().catch(() => {});
            }
        };
    });
    await connect();

    await waitRows(id, 10);
    const pause = await d.rest("POST", `/experiments/${id}/pause`);
    assert.ok([200, 202].includes(pause.status), pause.text);
    await d.waitState(id, ["paused"]);
    const atPause = (await rowsStored(id)).map((r) => ({seq: r.seq, iteration: r.row.iteration}));
    assert.ok(atPause.length >= 10);
    assert.equal((await d.rest("POST", `/experiments/${id}/resume`)).status, 200);
    await d.waitState(id, ["running"]);
    await waitRows(id, atPause.length + 10);
    assert.ok([200, 202].includes((await d.rest("POST", `/experiments/${id}/cancel`)).status));
    await d.waitState(id, ["cancelled"]);
    const stored = await rowsStored(id);
    for (let i = 0; i < 100 && received.length < stored.length; i++)
        await sleep(100);
    done = true;
    ws.close();
    if (reconnects)
        console.log(`# the stream closed this client ${reconnects} time(s) as too slow; it resumed`);

    // the rows stored before the pause kept their seq
    for (const r of atPause)
        assert.ok(stored.some((s) => s.seq === r.seq && s.row.iteration === r.iteration),
                  `seq ${r.seq} (iteration ${r.iteration}) was renumbered`);
    // every stored row reached the subscriber once, and nothing else did
    assert.deepEqual(received.map((r) => r.seq), stored.map((r) => r.seq));
    for (let i = 1; i < received.length; i++)
        assert.ok(received[i].seq > received[i - 1].seq,
                  `seq ${received[i].seq} after ${received[i - 1].seq}`);
    // a pause checkpoints at the last row: the run repeats no iteration, so seq is the iteration
    for (const r of received)
        assert.equal(r.seq, r.iteration, `seq ${r.seq} holds iteration ${r.iteration}`);
    assert.ok(received.length > atPause.length);
});
