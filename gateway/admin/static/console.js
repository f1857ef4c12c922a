// Every console page: tables marked `cards` show as one card per row on a phone.
// Each cell is labelled with its column's heading (data-label, read by console.css).
// Without this script the same tables scroll sideways inside their box.
(function () {
  "use strict";
  function label(table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) { return; }
    var names = Array.prototype.map.call(heads, function (th) {
      var copy = th.cloneNode(true);  // without what is hidden from screen readers (sort arrows)
      copy.querySelectorAll('[aria-hidden="true"]').forEach(function (el) { el.remove(); });
      return copy.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var name = names[column];
        if (name && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", name); }
        column += cell.colSpan || 1;
      });
    });
    table.classList.add("labelled");
  }
  document.querySelectorAll("table.cards").forEach(label);
}());
