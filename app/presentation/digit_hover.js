// The digit under the pointer on a t-SNE map, shown as a picture beside Plotly's hover label
// (app/chrome.py `digit_hover` sends this script and, in a hidden container, one PNG of every test digit).
//
// A map (layout.meta.hover_digits) carries each point's test-image index as customdata. On Plotly's
// hover event the script cuts that digit out of the picture (window.__saeDigitSprite: cols digits a
// row, each side x side pixels) and draws it enlarged, pixelated, in a box next to the pointer; it hides
// the box when the pointer leaves the point or the chart, or the page scrolls. Without the picture (no
// local MNIST, or another test set than the maps') nothing is drawn and Plotly's label is shown alone.
(function () {
  "use strict";
  const VERSION = 1;
  const w = window;
  if (w.__saeDigitHover && w.__saeDigitHover.version >= VERSION) return;
  const H = (w.__saeDigitHover = { version: VERSION, shown: null });
  const ZOOM = 4; // 28 px digits drawn at 112 px: readable from the back of a room
  const GAP = 18; // px between the pointer and the box
  let box = null, canvas = null;

  function sprite() {
    const img = document.querySelector(".st-key-sae-digit-sprite img");
    return img && img.complete && img.naturalWidth > 0 ? img : null;
  }

  function ensureBox(side) {
    if (!box) {
      box = document.createElement("div");
      box.className = "sae-digit-hover";
      box.style.cssText = "position:fixed;z-index:100000;pointer-events:none;display:none;padding:4px;" +
        "background:white;border:2px solid #444;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.35);";
      canvas = document.createElement("canvas");
      canvas.style.cssText = "display:block;image-rendering:pixelated;";
      box.appendChild(canvas);
      document.body.appendChild(box);
    }
    if (canvas.width !== side * ZOOM) {
      canvas.width = canvas.height = side * ZOOM;
    }
    return box;
  }

  function hide() {
    if (box) box.style.display = "none";
    H.shown = null;
  }

  function show(gd, ev) {
    const geo = w.__saeDigitSprite;
    const meta = gd.layout && gd.layout.meta;
    const p = ev && ev.points && ev.points[0];
    const img = sprite();
    if (!geo || !meta || !meta.hover_digits || !p || !img) return hide();
    const i = Number(p.customdata);
    const cols = geo.cols, side = geo.side;
    if (!Number.isInteger(i) || i < 0 || i >= geo.n) return hide();
    const r = Math.floor(i / cols), c = i % cols;
    if ((r + 1) * side > img.naturalHeight || (c + 1) * side > img.naturalWidth) return hide();
    ensureBox(side);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, c * side, r * side, side, side, 0, 0, side * ZOOM, side * ZOOM);
    // above and to the left of the pointer (Plotly puts its label to the right), inside the window
    const e = ev.event || {};
    const size = side * ZOOM + 12;
    const x = Math.max(4, Math.min((e.clientX || 0) - size - GAP, w.innerWidth - size - 4));
    const y = Math.max(4, Math.min((e.clientY || 0) - size - GAP, w.innerHeight - size - 4));
    box.style.left = x + "px";
    box.style.top = y + "px";
    box.style.display = "block";
    H.shown = i;
  }

  function attach(gd) {
    if (gd.__saeDigitHover || typeof gd.on !== "function") return;
    gd.__saeDigitHover = true;
    gd.on("plotly_hover", (ev) => show(gd, ev));
    gd.on("plotly_unhover", hide);
    gd.addEventListener("mouseleave", hide);
  }

  // a chart is attached when the pointer first enters it (Streamlit remounts charts: each new one too)
  document.addEventListener("mouseover", (e) => {
    const gd = e.target && e.target.closest ? e.target.closest(".js-plotly-plot") : null;
    if (gd) attach(gd);
  }, true);
  w.addEventListener("scroll", hide, true);
})();
