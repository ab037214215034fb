/* Settings → Pipelines: reorder stages by drag and drop (SortableJS) or with the
   up/down buttons (keyboard). Both end in a POST that re-renders #stage-table from the
   database, so a refused order snaps back. No inline script (CSP). */
(function () {
  "use strict";
  var lastMove = null; // {id, dir}: focus the same button again after the table is swapped

  function saveOrder(tbody) {
    var ids = Array.prototype.map.call(tbody.querySelectorAll("tr[data-stage-id]"), function (row) {
      return row.getAttribute("data-stage-id");
    });
    htmx.ajax("POST", tbody.getAttribute("data-reorder-url"), {
      target: "#stage-table",
      swap: "outerHTML",
      values: { order: ids.join(",") },
    });
  }

  function announce(root) {
    var status = root.querySelector("#stage-order-status");
    if (status) { status.textContent = status.getAttribute("data-saved"); }
  }

  function init(root) {
    var tbody = root.querySelector ? root.querySelector("tbody[data-sortable]") : null;
    if (!tbody && root.matches && root.matches("tbody[data-sortable]")) { tbody = root; }
    if (!tbody || tbody.sfSortable || typeof Sortable === "undefined") { return; }
    tbody.sfSortable = Sortable.create(tbody, {
      handle: ".sf-drag-handle",
      animation: 150,
      onEnd: function (event) {
        if (event.oldIndex !== event.newIndex) { saveOrder(tbody); }
      },
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-move]") : null;
    if (!button) { return; }
    var row = button.closest("tr[data-stage-id]");
    lastMove = row ? { id: row.getAttribute("data-stage-id"), dir: button.getAttribute("data-move") } : null;
  });

  // #stage-table is replaced (outerHTML): look it up again after every swap
  document.body.addEventListener("htmx:afterSwap", function () {
    var table = document.getElementById("stage-table");
    if (table) {
      init(table);
      announce(table);
    }
  });

  // focus the moved stage's button once htmx has settled the new table (focusing right after
  // the swap could be undone by the settle step on a slow machine)
  document.body.addEventListener("htmx:afterSettle", function () {
    var table = document.getElementById("stage-table");
    if (!table || !lastMove) { return; }
    var selector = 'tr[data-stage-id="' + lastMove.id + '"] button[data-move="' + lastMove.dir + '"]';
    var again = table.querySelector(selector);
    if (again && !again.disabled) { again.focus(); }
    else {
      var other = table.querySelector('tr[data-stage-id="' + lastMove.id + '"] button[data-move]:not([disabled])');
      if (other) { other.focus(); }
    }
    lastMove = null;
  });

  init(document);
})();
