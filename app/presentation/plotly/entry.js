// The trace types the dashboard draws (app/presentation/style.py TRACES_DRAWN), and nothing else
// (tests/test_plotly_bundle.py checks every page's figures against it).
"use strict";
const Plotly = require("plotly.js/lib/core");

Plotly.register([
  require("plotly.js/lib/bar"),
  require("plotly.js/lib/box"),
  require("plotly.js/lib/image"),
  require("plotly.js/lib/scattergl"),
]);

module.exports = Plotly;
