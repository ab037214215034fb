// Progressive enhancement shared by every page: searchable selects and htmx re-initialisation.
(function () {
  function enhance(root) {
    root.querySelectorAll("select[data-searchable]:not(.tomselected)").forEach(function (el) {
      new TomSelect(el, { allowEmptyOption: true, maxOptions: 200 });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  // <select data-autosubmit> submits its form on change (instead of inline onchange handlers,
  // which the Content-Security-Policy forbids). A plain submit, as the handlers did.
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el instanceof Element && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
  });
  document.body.addEventListener("htmx:afterSwap", function (evt) { enhance(evt.target); });
})();

// Dependent choices: <select data-options-for="source_channel" data-options-map='{"inbound": [...]}'>
// offers only the options listed for the current value of the field named in data-options-for
// (the server refuses other combinations too). An option no longer offered is cleared.
(function () {
  function sync(select) {
    var form = select.form;
    var parent = form && form.elements.namedItem(select.getAttribute("data-options-for"));
    if (!parent) { return; }
    var map = {};
    try { map = JSON.parse(select.getAttribute("data-options-map") || "{}"); } catch (e) { return; }
    var allowed = map[parent.value];
    Array.prototype.forEach.call(select.options, function (option) {
      var ok = !option.value || !allowed || allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
      if (!ok && option.selected) { select.value = ""; }
    });
  }
  function init(root) {
    root.querySelectorAll("select[data-options-for]").forEach(function (select) {
      sync(select);
      var parent = select.form && select.form.elements.namedItem(select.getAttribute("data-options-for"));
      if (parent && !parent.hasAttribute("data-options-bound")) {
        parent.setAttribute("data-options-bound", "");
        parent.addEventListener("change", function () { sync(select); });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.body.addEventListener("htmx:afterSwap", function (evt) { init(evt.target); });
})();

// Tables become stacked cards on a phone (CSS in app.css, below 576 px): each cell is labelled
// with its column's header, copied here into data-label so templates need no extra markup.
(function () {
  function label(root) {
    root.querySelectorAll("table.table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return (th.textContent || "").trim();
      });
      if (!heads.length) { return; }
      table.classList.add("table-stack");
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (cell, i) {
          if (heads[i] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", heads[i]); }
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { label(document); });
  document.body.addEventListener("htmx:afterSwap", function (evt) { label(evt.target); });
})();

// Activity forms that log what happened (data-done-from-due): "done" follows the due time
// (ticked when there is none or it has passed, unticked while it is in the future) until the
// user changes the box themselves.
(function () {
  function sync(form) {
    var due = form.querySelector("input[name=due_at]");
    var done = form.querySelector("input[name=done]");
    if (!due || !done || done.dataset.touched) { return; }
    var when = due.value ? new Date(due.value) : null;
    done.checked = !(when && !isNaN(when.getTime()) && when.getTime() > Date.now());
  }
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!(el instanceof Element)) { return; }
    var form = el.closest("form[data-done-from-due]");
    if (!form) { return; }
    if (el.matches("input[name=done]")) { el.dataset.touched = "1"; }
    if (el.matches("input[name=due_at]")) { sync(form); }
  });
  document.addEventListener("input", function (evt) {
    var el = evt.target;
    if (el instanceof Element && el.matches("form[data-done-from-due] input[name=due_at]")) { sync(el.closest("form")); }
  });
})();

// A read-only field to copy from (a public link): focusing it selects the whole value.
// (No inline handlers: the Content-Security-Policy forbids them.)
(function () {
  "use strict";
  document.addEventListener("focusin", function (evt) {
    var el = evt.target;
    if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-focus")) { el.select(); }
  });
})();
