// Stop keeps the λ the audience sees. While the animation plays, the server may already have drawn the
// next model (and moved the sidebar's slider) while the browser still shows the one before: only the
// page knows which. The page's main figure carries the λ written on it (layout.meta.sae_playing, set by
// app.chrome); a click on Stop is taken here, before Streamlit's button sees it, and sent with that λ.
// Without such a figure on the page the click goes on to the button, which keeps the λ drawn last.
export default function ({ setTriggerValue }) {
  const shown = () => {
    const charts = [...document.querySelectorAll("[data-testid=stMain] .js-plotly-plot")].filter(
      (gd) => gd.layout && gd.layout.meta && gd.layout.meta.sae_playing,
    );
    // a new figure is mounted hidden until Plotly has drawn it: the one in sight is what people see
    const seen = charts.find((gd) => gd.checkVisibility({ visibilityProperty: true, opacityProperty: true }));
    const gd = seen || charts[0];
    return gd ? gd.layout.meta.sae_playing : null;
  };
  const onClick = (event) => {
    const target = event.target;
    if (!(target instanceof Element) || !target.closest(".st-key-anim-stop button")) return;
    const value = shown();
    if (!value) return;
    event.stopPropagation();
    event.preventDefault();
    setTriggerValue("stop", value);
  };
  document.addEventListener("click", onClick, true);
  document.documentElement.dataset.saeStopWatch = "on"; // for tests and benchmarks: Stop is watched now
  return () => {
    document.removeEventListener("click", onClick, true);
    delete document.documentElement.dataset.saeStopWatch;
  };
}
