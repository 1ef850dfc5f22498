// Builds app/static/plotly-sae.min.js: plotly.js with only the traces the dashboard draws (entry.js),
// the way plotly.js builds its own bundles (its esbuild-config.js: the same plugins, aliases and
// target). Run from this folder: `npm ci && npm run build`.
//
// Why: the full plotly.js (Streamlit's chart module, 4.7 MB) is one 1.2-1.8 s task in the browser before
// the first figure can be drawn, on the 2-core development machine; this bundle is 1.6 MB and runs in
// 0.2-0.3 s. Its plotly.js version is the one the Python package `plotly` writes figures for
// (tests/test_plotly_bundle.py checks both that and the trace types).
"use strict";
const fs = require("fs");
const path = require("path");
const esbuild = require("esbuild");
const { environmentPlugin } = require("esbuild-plugin-environment");
const { glsl } = require("esbuild-plugin-glsl");
const InlineCSSPlugin = require("esbuild-plugin-inline-css");

const OUT = path.join(__dirname, "..", "..", "static", "plotly-sae.min.js");
const version = require("plotly.js/package.json").version;
const traces = [...fs.readFileSync(path.join(__dirname, "entry.js"), "utf8").matchAll(/plotly\.js\/lib\/(\w+)"/g)]
  .map((m) => m[1])
  .filter((name) => name !== "core");

esbuild
  .build({
    entryPoints: [path.join(__dirname, "entry.js")],
    outfile: OUT,
    format: "iife",
    globalName: "Plotly",
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: "none",
    banner: {
      js:
        `/* plotly.js v${version} (https://github.com/plotly/plotly.js), MIT license, Copyright 2012-2026 ` +
        `Plotly, Inc. Partial bundle for the SAE dashboard, traces: scatter,${traces.join(",")}; built by ` +
        "app/presentation/plotly/build.js */",
    },
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: "@plotly/regl", stream: "stream-browserify" },
    define: { global: "window", "define.amd": "false" },
    target: "es2016",
    logLevel: "info",
  })
  .catch(() => process.exit(1));
