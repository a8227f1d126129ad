// Copies the npm-installed charting library into web/vendor, the folder the dashboard loads it
// from: node copy-vendor.js <node_modules dir> <vendor dir>
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, vendor] = process.argv.slice(2);
if (!modules || !vendor) {
    console.error("usage: node copy-vendor.js <node_modules dir> <vendor dir>");
    process.exit(2);
}
const files = [
    ["uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
    ["uplot/dist/uPlot.min.css", "uPlot.min.css"],
    ["uplot/LICENSE", "uPlot.LICENSE.txt"],
];
fs.mkdirSync(vendor, {recursive: true});
for (const [from, to] of files) {
    const src = path.join(modules, from);
    if (!fs.existsSync(src)) {
        console.error(`copy-vendor: ${src} is missing (did npm ci run?)`);
        process.exit(1);
    }
    // write then rename, so a server reading the folder never sees half a file
    const dst = path.join(vendor, to);
    fs.copyFileSync(src, `${dst}.tmp`);
    fs.renameSync(`${dst}.tmp`, dst);
}
