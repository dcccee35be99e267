/* Draws each chart of the city and partner pages from the data table beside it (Chart.js).
   The table is the only source: labels from its first column, one series per column marked
   data-series, values from each cell's data-value (a suppressed or uncounted cell is a gap,
   never 0). Without JavaScript, or without Chart.js, the figures stay hidden and the tables
   remain the page. */
(function () {
  "use strict";
  var COLOURS = ["#0b5394", "#b45f06", "#38761d", "#741b47", "#134f5c"];
  function number(cell) {
    var raw = cell.getAttribute("data-value");
    if (raw === null || raw === "" || isNaN(Number(raw))) { return null; }
    return Number(raw);
  }
  function draw(figure) {
    var table = document.getElementById(figure.getAttribute("data-table"));
    if (!table || typeof window.Chart === "undefined") { return; }
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var labels = rows.map(function (row) { return row.cells[0].textContent.trim(); });
    var kind = figure.getAttribute("data-chart");
    var datasets = [];
    heads.forEach(function (head, index) {
      if (head.getAttribute("data-series") !== "true") { return; }
      var colour = COLOURS[datasets.length % COLOURS.length];
      datasets.push({
        label: head.textContent.trim(),
        data: rows.map(function (row) { return number(row.cells[index]); }),
        borderColor: colour,
        backgroundColor: colour,
        spanGaps: false
      });
    });
    if (!datasets.length || !rows.length) { return; }
    figure.hidden = false;
    new window.Chart(figure.querySelector("canvas"), {
      type: kind === "bar" ? "bar" : "line",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { labels: { font: { size: 14 } } } }
      }
    });
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("figure[data-chart]"), draw);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
