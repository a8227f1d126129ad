// The experiments table with 10,000 experiments: pages, filters, search and sorting stay fast
// because the server does them, one request per page (one core busy with a real run, 10,000
// submissions queued behind it).
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {daemonStart, browserStart} from "./harness.mjs";

const N = 10000;
const TASKS = ["CartPole", "Pendulum", "Acrobot"];
let d;
let b;
let page;

before(async () => {
    d = await daemonStart({maxCores: 1});
    // the one core is held by a long run, so everything after it waits in the queue
    const head = await d.submit(
        {name: "scale-head", task: "CartPole", budget: {env_steps: 100000000}, tags: ["head"]});
    await d.waitState(head, ["running"], 30000);
    const t0 = Date.now();
    let next = 0;
    const worker = async () => {
        while (next < N) {
            const i = next++;
            await d.submit({
                name: `scale-${String(i).padStart(5, "0")}`,
                task: TASKS[i % 3],
                budget: {env_steps: 10000 + i},
                tags: [`group${i % 10}`, i % 100 === 0 ? "rare" : "common"]
            });
        }
    };
    await Promise.all(Array.from({length: 8}, worker));
    console.log(`# submitted ${N} experiments in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    b = await browserStart();
    page = b.page;
    await page.goto(`${d.base}/#/signin`);
    await page.fill("#token", d.token);
    await page.click("#signin-button");
    await page.waitForSelector("#exp-table tbody tr[data-id]");
});

after(async () => {
    if (b)
        await b.stop();
    if (d)
        await d.stop();
});

async function tableIds() {
    return page.evaluate(() => [...document.querySelectorAll("#exp-table tbody tr[data-id]")].map(
                             (r) => Number(r.dataset.id)));
}

// time from navigation to the full page of rows with their progress filled in
async function timedLoad(hash, rows) {
    const t0 = Date.now();
    await page.goto(`${d.base}/${hash}`);
    await page.waitForFunction((n) => {
        const trs = document.querySelectorAll("#exp-table tbody tr[data-id]");
        return trs.length === n && /ms$/.test(document.querySelector("#table-status").textContent);
    }, rows);
    return Date.now() - t0;
}

test("the first page of 10,000 experiments loads quickly", async () => {
    const ms = await timedLoad("#/experiments?limit=100", 100);
    console.log(`# first page of 100 rows: ${ms} ms`);
    assert.ok(ms < 5000, `took ${ms} ms`);
    const ids = await tableIds();
    assert.equal(ids[0], N + 1, "newest first");
    assert.equal(ids[99], N + 1 - 99);
});

test("paging forwards and back walks the server's cursor", async () => {
    await timedLoad("#/experiments", 25);
    const first = await tableIds();
    await page.click("#page-next");
    await page.waitForFunction(
        (top) =>
            Number(document.querySelector("#exp-table tbody tr[data-id]")?.dataset.id) === top - 25,
        first[0]);
    const second = await tableIds();
    assert.equal(second.length, 25);
    assert.ok(Math.max(...second) < Math.min(...first));
    await page.click("#page-next");
    await page.waitForFunction(
        (top) =>
            Number(document.querySelector("#exp-table tbody tr[data-id]")?.dataset.id) === top - 50,
        first[0]);
    await page.click("#page-prev");
    await page.waitForFunction(
        (top) =>
            Number(document.querySelector("#exp-table tbody tr[data-id]")?.dataset.id) === top - 25,
        first[0]);
    await page.click("#page-prev");
    await page.waitForFunction(
        (top) => Number(document.querySelector("#exp-table tbody tr[data-id]")?.dataset.id) === top,
        first[0]);
    assert.equal(await page.isDisabled("#page-prev"), true);
});

test("a deep page is as fast as the first", async () => {
    const ms = await timedLoad("#/experiments?limit=250&cursor=300", 250);
    console.log(`# page of 250 rows below id 300: ${ms} ms`);
    assert.ok(ms < 8000, `took ${ms} ms`);
    const ids = await tableIds();
    assert.equal(ids[0], 299);
    assert.equal(ids[249], 50);
});

test("filters by tag, task and state are answered by the server", async () => {
    // "rare" marks every 100th submission: 100 of them
    const t0 = Date.now();
    await page.goto(`${d.base}/#/experiments?tag=rare&limit=250`);
    await page.waitForFunction(
        () => document.querySelectorAll("#exp-table tbody tr[data-id]").length === 100);
    console.log(`# tag filter over 10,000: ${Date.now() - t0} ms`);
    await page.selectOption("#filter-task", "Pendulum");
    await page.waitForFunction(() => {
        const trs = [...document.querySelectorAll("#exp-table tbody tr[data-id]")];
        return trs.length > 0 && trs.length < 100 &&
               trs.every((r) => /Pendulum/.test(r.textContent));
    });
    assert.match(page.url(), /task=Pendulum/);
    assert.match(page.url(), /tag=rare/);
    await page.selectOption("#filter-state", "running");
    await page.waitForFunction(
        () => /No experiment matches/.test(document.querySelector("#exp-table").textContent));
    await page.click("text=Clear filters");
    await page.waitForFunction(
        () => document.querySelectorAll("#exp-table tbody tr[data-id]").length === 250);
});

async function tableNames() {
    return page.evaluate(
        () => [...document.querySelectorAll("#exp-table tbody tr[data-id] a.exp-link")].map(
            (a) => a.textContent));
}

// waits for a page whose first name is `first` and whose status shows the load finished
async function waitFirstName(first) {
    await page.waitForFunction(
        (f) =>
            document.querySelector("#exp-table tbody tr[data-id] a.exp-link")?.textContent === f &&
            /ms$/.test(document.querySelector("#table-status").textContent),
        first);
}

test("sorting by a column sorts all 10,000 on the server, across pages", async () => {
    await timedLoad("#/experiments?limit=100", 100);
    // one request per page: the table asks for no spec and no metric row of its own
    const requests = [];
    const onRequest = (r) => {
        if (r.url().includes("/api/v1/"))
            requests.push(new URL(r.url()).pathname);
    };
    page.on("request", onRequest);
    const t0 = Date.now();
    await page.click('#exp-table th[data-sort="name"]');
    await waitFirstName("scale-00000");
    console.log(`# sort 10,000 by name: ${Date.now() - t0} ms`);
    assert.match(page.url(), /sort=name/);
    let names = await tableNames();
    assert.equal(names.length, 100);
    assert.deepEqual(names,
                     Array.from({length: 100}, (_, i) => `scale-${String(i).padStart(5, "0")}`));
    await page.click("#page-next");
    await waitFirstName("scale-00100");
    names = await tableNames();
    assert.equal(names[99], "scale-00199");
    await page.click("#page-next");
    await waitFirstName("scale-00200");
    await page.click("#page-prev");
    await waitFirstName("scale-00100");
    page.off("request", onRequest);
    assert.ok(requests.every((p) => p === "/api/v1/experiments" || p === "/api/v1/catalogue"),
              `unexpected requests: ${requests.filter((p) => p !== "/api/v1/experiments")}`);
    assert.ok(requests.filter((p) => p === "/api/v1/experiments").length <= 4);

    // again: descending; "scale-head" sorts after every "scale-0…"
    await page.goto(`${d.base}/#/experiments?limit=100&sort=name`);
    await waitFirstName("scale-00000");
    await page.click('#exp-table th[data-sort="name"]');
    await waitFirstName("scale-head");
    assert.match(page.url(), /order=desc/);
    assert.match(await page.textContent('#exp-table th[data-sort="name"]'), /▼/);
    names = await tableNames();
    assert.equal(names[1], "scale-09999");
    await page.click("#page-next");
    await waitFirstName("scale-09900");

    // by task: each page in order and continuing the previous one. The page before it also
    // ends its status in "ms", and the hash changes before the sorted page arrives: wait for
    // another first row too (on a loaded machine the old rows were read once)
    const ids0 = await tableIds();
    await page.click('#exp-table th[data-sort="task"]');
    await page.waitForFunction(
        (id) => /sort=task/.test(location.hash) &&
                Number(document.querySelector("#exp-table tbody tr[data-id]")?.dataset.id) !== id &&
                /ms$/.test(document.querySelector("#table-status").textContent),
        ids0[0]);
    const tasksOf = () =>
        page.evaluate(() => [...document.querySelectorAll("#exp-table tbody tr[data-id]")].map(
                          (r) => r.children[3].textContent));
    const t1 = await tasksOf();
    assert.deepEqual(t1, [...t1].sort());
    assert.equal(t1[0], "Acrobot");
    const ids1 = await tableIds();
    await page.click("#page-next");
    await page.waitForFunction(
        (id) => Number(document.querySelector("#exp-table tbody tr[data-id]")?.dataset.id) !== id &&
                /ms$/.test(document.querySelector("#table-status").textContent),
        ids1[0]);
    const ids2 = await tableIds();
    assert.equal(ids2.filter((id) => ids1.includes(id)).length, 0, "pages overlap");
    // ties (same task) break on id, in the order of the sort
    assert.ok(ids2[0] > ids1[99]);
});

test("search finds names on the server and pages through the matches", async () => {
    await page.goto(`${d.base}/#/experiments?limit=25&sort=name&order=desc`);
    await waitFirstName("scale-head");
    const t0 = Date.now();
    await page.fill("#filter-q", "SCALE-000");
    await waitFirstName("scale-00099");
    console.log(`# search over 10,000: ${Date.now() - t0} ms`);
    assert.match(page.url(), /q=SCALE-000/);
    // the search box keeps the focus while results replace the page
    assert.equal(await page.evaluate(() => document.activeElement?.id), "filter-q");
    let names = await tableNames();
    assert.equal(names.length, 25);
    assert.ok(names.every((n) => n.startsWith("scale-000")));
    await page.click("#page-next");
    await waitFirstName("scale-00074");
    await page.click("#page-next");
    await waitFirstName("scale-00049");
    await page.click("#page-next");
    await waitFirstName("scale-00024");
    assert.equal(await page.isDisabled("#page-next"), true);
    assert.match(await page.textContent("#table-status"), /\(last\)/);
    await page.fill("#filter-q", "no-such-name");
    await page.waitForFunction(
        () => /No experiment matches/.test(document.querySelector("#exp-table").textContent));
    await page.click("text=Clear filters");
    await page.waitForFunction(
        () => !/q=/.test(location.hash) &&
              document.querySelectorAll("#exp-table tbody tr[data-id]").length === 25);
});

test("no console errors", async () => { assert.deepEqual(b.problems, []); });
