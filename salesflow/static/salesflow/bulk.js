// Bulk actions on the lists: tick rows (or the whole page), choose an action, apply.
// Wired through data-* attributes (no inline script, CSP): data-bulk-form, data-bulk-page,
// data-bulk-row, data-bulk-action, data-bulk-for, data-bulk-count, data-bulk-refresh.
(function () {
  "use strict";
  if (window.salesflowBulk) return;
  window.salesflowBulk = true;

  function rows() { return document.querySelectorAll("[data-bulk-row]"); }

  function updateCount() {
    var n = 0;
    rows().forEach(function (cb) { if (cb.checked) n += 1; });
    document.querySelectorAll("[data-bulk-count]").forEach(function (el) { el.textContent = String(n); });
  }

  function updateFields() {
    var select = document.querySelector("[data-bulk-action]");
    if (!select) return;
    var action = select.value;
    document.querySelectorAll("[data-bulk-for]").forEach(function (el) {
      var actions = (el.getAttribute("data-bulk-for") || "").split(" ");
      el.hidden = actions.indexOf(action) < 0;
    });
  }

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (!(t instanceof HTMLElement)) return;
    if (t.matches("[data-bulk-page]")) {
      rows().forEach(function (cb) { cb.checked = t.checked; });
    }
    if (t.matches("[data-bulk-page], [data-bulk-row]")) updateCount();
    if (t.matches("[data-bulk-action]")) updateFields();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    updateCount();
    var form = document.querySelector("[data-bulk-form]");
    var target = event.target;
    if (!form || !(target instanceof HTMLElement) || target.id !== "bulk-result") return;
    if (!target.querySelector("[data-bulk-done]")) return;
    var refresh = form.getAttribute("data-bulk-refresh");
    var results = refresh ? document.querySelector(refresh) : null;
    if (results && window.htmx) {
      window.htmx.ajax("GET", window.location.href, { target: results, swap: form.getAttribute("data-bulk-swap") || "innerHTML" });
    }
  });

  function init() { updateFields(); updateCount(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
