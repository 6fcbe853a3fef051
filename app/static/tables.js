// Long tables (app/templates/_table.html, app/tables.py): in a [data-long-table] box, a click on
// a column header sorts that table by the column (again: the other way); numbers sort as
// numbers, colours by severity, text in Chinese order, empty cells and "—" always last. The filter box hides rows
// whose data-text (or text) lacks what is typed, opens <details> groups holding a match and
// hides groups without one, and keeps the export link's ?q= equal to the filter and its
// ?sort= / &desc=1 to the sorted column, so the workbook holds the rows on screen in their
// order. No inline handlers: the CSP forbids them.
(function () {
  "use strict";
  if (window.hemonTables) { return; }
  window.hemonTables = true;

  // A column of colour badges sorts red first, not filed last.
  var SEVERITY = {"red": 1, "yellow": 2, "green": 3, "n/a": 4, "missing": 5};
  var NUMBER = /^[-−+]?[\d,，]*\.?\d+\s*%?$/;
  var collator = window.Intl ? new Intl.Collator("zh-CN", {numeric: true}) : null;

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return {empty: true}; }
    if (!cell.hasAttribute("data-sort")) {
      var badge = cell.querySelector(".badge");
      if (badge) {
        for (var colour in SEVERITY) {
          if (badge.classList.contains(colour)) { return {number: SEVERITY[colour]}; }
        }
      }
    }
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var text = raw.replace(/\s+/g, " ").trim();
    if (text === "" || text === "—" || text === "-" || text === "–") { return {empty: true}; }
    if (NUMBER.test(text)) {
      return {number: parseFloat(text.replace(/[,，%\s+]/g, "").replace("−", "-"))};
    }
    return {text: text};
  }

  function compare(a, b) {
    if (a.empty || b.empty) { return a.empty === b.empty ? 0 : (a.empty ? 1 : -1); }
    if (a.number !== undefined && b.number !== undefined) { return a.number - b.number; }
    if (a.number !== undefined) { return -1; }
    if (b.number !== undefined) { return 1; }
    return collator ? collator.compare(a.text, b.text) : (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  }

  // The export link carries the sort (?sort=<header>&desc=1) and the filter (?q=), so the
  // workbook holds the rows on screen in the order on screen (app/tables.py).
  function exportLink(box) {
    var link = box && box.querySelector("a.table-export");
    if (!link) { return; }
    var params = [];
    var needle = box.getAttribute("data-filter") || "";
    if (needle) { params.push("q=" + encodeURIComponent(needle)); }
    var sorted = box.querySelector("th[aria-sort]");
    if (sorted) {
      params.push("sort=" + encodeURIComponent(sorted.textContent.replace(/\s+/g, " ").trim()));
      if (sorted.getAttribute("aria-sort") === "descending") { params.push("desc=1"); }
    }
    var base = link.getAttribute("data-base");
    link.href = params.length ? base + (base.indexOf("?") === -1 ? "?" : "&") + params.join("&") : base;
  }

  function sortBy(table, index, th) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
        return {row: row, value: cellValue(row, index), i: i};
      });
      rows.sort(function (x, y) {
        var c = compare(x.value, y.value);
        if (descending && !x.value.empty && !y.value.empty) { c = -c; }   // empty stays last
        return c || x.i - y.i;
      });
      rows.forEach(function (r) { body.appendChild(r.row); });
    });
    exportLink(table.closest("[data-long-table]"));
  }

  function filter(box, text) {
    var needle = text.replace(/\s+/g, " ").trim().toLowerCase();
    var shown = 0;
    box.querySelectorAll("tbody tr").forEach(function (row) {
      var hay = (row.getAttribute("data-text") || row.textContent).toLowerCase();
      var keep = !needle || hay.indexOf(needle) !== -1;
      row.hidden = !keep;
      if (keep) { shown += 1; }
    });
    box.querySelectorAll("details").forEach(function (group) {
      var any = group.querySelector("tbody tr:not([hidden])");
      group.hidden = !any;
      if (needle) { group.open = !!any; }
    });
    var count = box.querySelector(".table-count");
    if (count) {
      var total = count.getAttribute("data-total");
      var label = count.getAttribute("data-label");
      count.textContent = needle ? "显示 " + shown + " / 共 " + total + " " + label : "共 " + total + " " + label;
    }
    box.setAttribute("data-filter", needle);
    exportLink(box);
  }

  function bind(box) {
    box.querySelectorAll("table").forEach(function (table) {
      if (!table.tHead || !table.tHead.rows.length) { return; }
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        button.title = "按此列排序";
        while (th.firstChild) { button.appendChild(th.firstChild); }
        th.appendChild(button);
        button.addEventListener("click", function () { sortBy(table, index, th); });
      });
    });
    var input = box.querySelector("input.table-filter");
    if (input) {
      input.addEventListener("input", function () { filter(box, input.value); });
      if (input.value) { filter(box, input.value); }
    }
    box.setAttribute("data-ready", "1");
  }

  function start() { document.querySelectorAll("[data-long-table]:not([data-ready])").forEach(bind); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
