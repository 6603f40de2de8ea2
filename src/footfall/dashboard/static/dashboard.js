// The dashboard's own script: draws the chart with uPlot from the JSON the page carries,
// the theme toggle, auto-submitting selects, keyboard shortcuts. The page reads without it.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var plot = null;

  function css(name) { return getComputedStyle(root).getPropertyValue(name).trim(); }

  function drawChart() {
    var box = document.getElementById("chart");
    var data = document.getElementById("chart-data");
    if (plot) { plot.destroy(); plot = null; }
    if (!box || !data || typeof uPlot === "undefined") return;
    var chart = JSON.parse(data.textContent);
    // Bucket labels are wall-clock times in the project's zone: shown as such (read as UTC).
    var xs = chart.labels.map(function (l) { return Date.parse(l + "Z") / 1000; });
    var series = [{}, { label: "this period", stroke: css("--accent"), width: 2.5,
      fill: css("--accent-soft"), points: { show: xs.length < 60 } }];
    var cols = [xs, chart.current];
    if (chart.previous && chart.previous.length) {
      series.push({ label: "comparison", stroke: css("--before"), width: 2, dash: [6, 5],
        points: { show: false } });
      cols.push(xs.map(function (_, i) { return i < chart.previous.length ? chart.previous[i] : null; }));
    }
    var axis = { stroke: css("--muted"), grid: { stroke: css("--line"), width: 1 }, ticks: { show: false } };
    var h = 3600, d = 86400;
    // Ticks no finer than the buckets: a daily chart never labels 8am.
    var incrs = { hour: [h, 2 * h, 3 * h, 6 * h, 12 * h, d, 2 * d, 7 * d],
      day: [d, 2 * d, 7 * d, 14 * d, 30 * d, 90 * d, 365 * d],
      week: [7 * d, 14 * d, 28 * d, 30 * d, 90 * d, 365 * d],
      month: [30 * d, 60 * d, 90 * d, 180 * d, 365 * d] }[chart.interval] || undefined;
    box.classList.add("drawn");
    plot = new uPlot({
      width: box.clientWidth, height: box.clientHeight || 260,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      series: series, legend: { show: false }, cursor: { drag: { x: false, y: false } },
      scales: { y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [Object.assign({ incrs: incrs }, axis), Object.assign({ size: 50 }, axis)],
    }, cols, box);
    box.setAttribute("data-series", String(cols.length - 1));
  }

  function setTheme(next) {
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("footfall-theme", next); } catch (e) { /* private mode */ }
    drawChart();
  }

  function toggleTheme() {
    var current = root.getAttribute("data-theme") ||
      (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
    setTheme(current === "dark" ? "light" : "dark");
  }

  function init() {
    var toggle = document.getElementById("theme-toggle");
    if (toggle && !toggle.dataset.bound) {
      toggle.dataset.bound = "1";
      toggle.hidden = false;
      toggle.addEventListener("click", toggleTheme);
    }
    document.querySelectorAll("form.autosubmit select").forEach(function (s) {
      if (s.dataset.bound) return;
      s.dataset.bound = "1";
      s.addEventListener("change", function () { s.form.requestSubmit(); });
    });
    showChosenPeriod();
    drawChart();
    liveStream();
  }

  // On a phone the period presets scroll sideways, and the chosen one may start out of view:
  // it is brought to the middle, its neighbours showing that the row goes on.
  function showChosenPeriod() {
    var chosen = document.querySelector(".periods a[aria-current]");
    if (!chosen) return;
    var row = chosen.parentElement.getBoundingClientRect();
    var a = chosen.getBoundingClientRect();
    if (a.right > row.right || a.left < row.left) {
      chosen.parentElement.scrollLeft += (a.left + a.right - row.left - row.right) / 2;
    }
  }

  var source = null;
  function item(e) {
    var li = document.createElement("li");
    var time = document.createElement("time");
    time.textContent = e.ts.slice(11, 19);
    var what = document.createElement("span");
    var name = document.createElement("b");
    name.textContent = e.name;  // text, never HTML: event names are the sender's
    what.append(name, " " + (e.path || ""));
    var from = document.createElement("span");
    from.className = "muted";
    from.textContent = [e.source, e.country, e.device_type].filter(Boolean).join(" · ");
    li.append(time, what, from);
    return li;
  }

  function liveStream() {
    var list = document.getElementById("stream");
    if (source && source.list === list) return;  // a panel refresh, not a new page
    if (source) { source.close(); source = null; }
    if (!list || !window.EventSource) return;
    source = new EventSource(list.dataset.src);
    source.list = list;
    source.addEventListener("events", function (m) {
      JSON.parse(m.data).forEach(function (e) { list.prepend(item(e)); });
      while (list.children.length > 100) list.lastElementChild.remove();
    });
    source.addEventListener("visitors", function (m) {
      list.dataset.live = "1";  // the server subscribed before its first count: events flow
      var count = document.querySelector('[data-testid="realtime-visitors"]');
      if (count) { count.textContent = m.data; count.dataset.value = m.data; }
    });
  }

  function typing(e) {
    var t = e.target;
    return e.ctrlKey || e.metaKey || e.altKey ||
      (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName)));
  }

  document.addEventListener("keydown", function (e) {
    if (typing(e)) return;
    var dialog = document.getElementById("shortcuts");
    if (e.key === "?") { if (dialog && !dialog.open) dialog.showModal(); e.preventDefault(); return; }
    if (e.key === "n") { toggleTheme(); return; }
    if (e.key === "r") { var rt = document.querySelector('[data-testid="nav-realtime"]'); if (rt) rt.click(); return; }
    if (e.key === "x") {
      var compare = document.querySelector("select[name=compare]");
      if (compare) { compare.value = compare.value === "off" ? "previous" : "off"; compare.form.requestSubmit(); }
      return;
    }
    if (e.key === "c") { var from = document.querySelector(".custom-range input[name=from]"); if (from) { from.focus(); e.preventDefault(); } return; }
    var link = document.querySelector('.periods a[data-shortcut="' + e.key + '"]');
    if (link) link.click();
  });

  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(drawChart, 150);
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", drawChart);
  document.addEventListener("htmx:load", init);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
