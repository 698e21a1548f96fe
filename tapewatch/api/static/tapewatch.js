// tapewatch's pages: draw the Plotly figures the server embeds as JSON, and the keyboard
// shortcuts (an element with data-key="c" is clicked when c is pressed).
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var spec = document.getElementById(el.dataset.figure);
      if (!spec) return;
      var fig = JSON.parse(spec.textContent);
      el.dataset.drawn = "1";
      Plotly.newPlot(el, fig.data, fig.layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"],
      }).then(function () {
        el.on("plotly_click", function (event) {
          var link = event.points && event.points[0] && event.points[0].customdata;
          if (typeof link === "string" && link.charAt(0) === "/") window.location.assign(link);
        });
      });
    });
  }

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  function moveSelection(table, step) {
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-href]"));
    if (!rows.length) return null;
    var at = rows.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = Math.min(Math.max(at + step, 0), rows.length - 1);
    rows.forEach(function (r) { r.classList.remove("selected"); });
    rows[next].classList.add("selected");
    rows[next].scrollIntoView({ block: "nearest" });
    return rows[next];
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var help = document.getElementById("keys-help");
    if (event.key === "?") {
      event.preventDefault();
      if (help.open) help.close(); else help.showModal();
      return;
    }
    var queue = document.querySelector("[data-queue]");
    if (queue) {
      var step = { j: 1, n: 1, ArrowDown: 1, k: -1, p: -1, ArrowUp: -1 }[event.key];
      if (step) { event.preventDefault(); moveSelection(queue, step); return; }
      if (event.key === "Enter" || event.key === "o") {
        var row = queue.querySelector("tr.selected");
        if (row) { event.preventDefault(); window.location.assign(row.dataset.href); }
        return;
      }
    }
    if (event.key.length !== 1) return;
    var found = document.querySelectorAll("[data-key]");
    for (var i = 0; i < found.length; i++) {
      var el = found[i];
      if (el.dataset.key.split(" ").indexOf(event.key) < 0) continue;
      if (el.disabled || el.closest("fieldset[disabled]")) return;
      event.preventDefault();
      el.click();
      return;
    }
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("input", function (event) {
    var shown = event.target.dataset && document.getElementById(event.target.dataset.shows || "");
    if (shown) shown.value = Number(event.target.value).toFixed(2);
  });
  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    document.documentElement.dataset.ready = "1"; // for tests: the shortcuts are live
    document.querySelectorAll("[data-queue] tbody tr[data-href]").forEach(function (row) {
      row.addEventListener("click", function (event) {
        if (!event.target.closest("a")) window.location.assign(row.dataset.href);
      });
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
