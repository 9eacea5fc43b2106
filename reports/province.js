/* Sort and filter the province matrix in the browser, and keep its totals row in step with the filter.
   Inlined into the HTML roll-up only (never into the PDF), allowed by its hash in the page's
   Content-Security-Policy; it reads and writes nothing outside the page. Without JavaScript the <html>
   element keeps its "no-js" class and the stylesheet hides the controls that need this script.
   The initial state can be set in the address: #q=text&show=overdue|not-met|all&sort=COLUMN:asc|desc */
(function () {
  "use strict";
  var root = document.documentElement;
  root.className = root.className.replace(/\bno-js\b/, "js");
  var table = document.getElementById("matrix");
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var foot = table.tFoot ? table.tFoot.rows[0] : null;
  var q = document.getElementById("q");
  var show = document.getElementById("show");
  var shownCounts = document.querySelectorAll(".shown-count");

  function norm(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D")
      .toLowerCase();
  }

  function setCount(node, value) {
    node.setAttribute("data-n", String(value));
    var bold = node.querySelector("b");
    if (bold) { bold.textContent = String(value); }
  }

  function retotal(visible) {
    if (!foot) { return; }
    Array.prototype.forEach.call(foot.cells, function (cell, index) {
      if (cell.classList.contains("tot")) {
        var counts = {};
        var overdue = 0;
        visible.forEach(function (row) {
          var c = row.cells[index];
          var s = c.getAttribute("data-s");
          counts[s] = (counts[s] || 0) + 1;
          if (c.getAttribute("data-od") === "1") { overdue += 1; }
        });
        Array.prototype.forEach.call(cell.querySelectorAll(".tc"), function (line) {
          var s = line.getAttribute("data-s");
          setCount(line, s === "overdue" ? overdue : (counts[s] || 0));
        });
      } else if (cell.classList.contains("sum")) {
        var total = 0;
        visible.forEach(function (row) { total += Number(row.cells[index].getAttribute("data-v")) || 0; });
        cell.textContent = String(total);
      } else if (cell.classList.contains("late-sum")) {
        var late = 0;
        visible.forEach(function (row) { if (row.cells[index].classList.contains("late")) { late += 1; } });
        setCount(cell, late);
      }
    });
  }

  function apply() {
    var needle = norm(q.value.trim());
    var mode = show.value;
    var visible = [];
    Array.prototype.forEach.call(body.rows, function (row) {
      var hay = norm(row.getAttribute("data-name") + " " + row.getAttribute("data-code"));
      var ok = needle === "" || hay.indexOf(needle) >= 0;
      if (mode === "overdue") { ok = ok && Number(row.getAttribute("data-overdue")) > 0; }
      if (mode === "not-met") { ok = ok && row.getAttribute("data-met") === "0"; }
      row.hidden = !ok;
      if (ok) { visible.push(row); }
    });
    Array.prototype.forEach.call(shownCounts, function (node) { node.textContent = String(visible.length); });
    retotal(visible);
  }

  function sortBy(index, direction) {
    var numeric = heads[index].getAttribute("data-type") === "num";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-v");
      var y = b.cells[index].getAttribute("data-v");
      var d = numeric ? Number(x) - Number(y) : x.localeCompare(y, "vi");
      if (d === 0) { d = Number(a.cells[0].getAttribute("data-v")) - Number(b.cells[0].getAttribute("data-v")); }
      return direction === "desc" ? -d : d;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(heads, function (h, i) {
      if (i === index) { h.setAttribute("aria-sort", direction === "desc" ? "descending" : "ascending"); }
      else { h.removeAttribute("aria-sort"); }
    });
  }

  Array.prototype.forEach.call(heads, function (head, index) {
    if (!head.classList.contains("sortable")) { return; }
    head.addEventListener("click", function () {
      sortBy(index, head.getAttribute("aria-sort") === "ascending" ? "desc" : "asc");
    });
  });
  if (!q || !show) { return; }
  q.addEventListener("input", apply);
  show.addEventListener("change", apply);

  var params = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
    var kv = pair.split("=");
    if (kv[0]) { params[kv[0]] = decodeURIComponent(kv[1] || ""); }
  });
  if (params.q) { q.value = params.q; }
  if (params.show) { show.value = params.show; }
  if (params.sort) {
    var spec = params.sort.split(":");
    var col = Number(spec[0]);
    if (col >= 0 && col < heads.length) { sortBy(col, spec[1] === "desc" ? "desc" : "asc"); }
  }
  apply();
}());
