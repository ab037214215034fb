// Pipeline board: drag a card to another column to move its stage, onto "Won" to win it,
// onto "Lost" to lose it (asks for the reason). Every drop POSTs to the server, which
// answers with the re-rendered board; a refused action comes back with the stored state
// (the card snaps back) and the error message.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || typeof Sortable === "undefined" || typeof htmx === "undefined") { return; }
  var sortables = [];
  var lostModalEl = document.getElementById("lost-modal");
  var lostForm = document.getElementById("lost-form");
  var pendingLost = null;

  function filters() {
    var meta = board.querySelector("[data-board-meta]");
    return meta ? { pipeline: meta.dataset.pipeline, owner: meta.dataset.owner, q: meta.dataset.q, tag: meta.dataset.tag } : {};
  }

  function post(url, values) {
    board.classList.add("sf-board-busy");
    return htmx.ajax("POST", url, {
      source: board, target: "#board", swap: "innerHTML",
      values: Object.assign(filters(), values)
    });
  }

  function refresh() {
    var params = new URLSearchParams(filters()).toString();
    return htmx.ajax("GET", board.dataset.url + "?" + params, { source: board, target: "#board", swap: "innerHTML" });
  }

  function modal() {
    var lib = window.tabler || window.bootstrap;
    return lib && lib.Modal ? lib.Modal.getOrCreateInstance(lostModalEl) : null;
  }

  function askLostReason(card) {
    pendingLost = card;
    lostForm.reset();
    lostForm.setAttribute("action", card.dataset.closeUrl);
    document.getElementById("lost-modal-deal").textContent = card.dataset.name || "";
    var m = modal();
    if (m) { m.show(); } else { lostModalEl.classList.add("show"); lostModalEl.style.display = "block"; }
  }

  function onEnd(evt) {
    var card = evt.item;
    var to = evt.to;
    if (to === evt.from) { return; }  // reordering inside a column is not stored
    if (to.dataset.outcome === "won") { askWon(card); return; }
    if (to.dataset.outcome === "lost") { askLostReason(card); return; }
    post(card.dataset.moveUrl, { stage: to.dataset.stage });
  }

  function init() {
    sortables.forEach(function (s) { s.destroy(); });
    sortables = [];
    board.classList.remove("sf-board-busy");
    board.querySelectorAll(".sf-board-cards").forEach(function (list) {
      sortables.push(Sortable.create(list, {
        group: "board", animation: 150, draggable: ".sf-board-card", filter: ".sf-locked, a",
        preventOnFilter: false, ghostClass: "sortable-ghost", onEnd: onEnd
      }));
    });
    board.querySelectorAll(".sf-drop-zone").forEach(function (zone) {
      sortables.push(Sortable.create(zone, {
        group: { name: "board", pull: false, put: true }, sort: false, draggable: ".sf-board-card"
      }));
    });
  }

  if (lostForm) {
    lostForm.addEventListener("submit", function (evt) {
      evt.preventDefault();
      if (!pendingLost) { return; }
      var values = {};
      new FormData(lostForm).forEach(function (value, key) { if (key !== "csrfmiddlewaretoken") { values[key] = value; } });
      var url = lostForm.getAttribute("action");
      pendingLost = null;
      var m = modal();
      if (m) { m.hide(); }
      post(url, values);
    });
    lostModalEl.addEventListener("hidden.bs.modal", function () {
      if (pendingLost) { pendingLost = null; refresh(); }  // cancelled: put the card back
    });
  }

  // Won: confirm the final amount and the close date (modal in sales/partials/won_modal.html);
  // cancelling re-renders the board, which puts the card back.
  var wonModalEl = document.getElementById("won-modal");
  var wonForm = document.getElementById("won-form");
  var pendingWon = null;

  function askWon(card) {
    if (!wonForm) { post(card.dataset.closeUrl, { outcome: "won" }); return; }
    pendingWon = card;
    wonForm.reset();
    wonForm.setAttribute("action", card.dataset.closeUrl);
    document.getElementById("won-modal-deal").textContent = card.dataset.name || "";
    document.getElementById("won-currency").textContent = card.dataset.currency || "";
    document.getElementById("won-amount").value = card.dataset.amount || "";
    var day = document.getElementById("won-closed-on");
    day.value = day.dataset.today || day.value;
    var lib = window.tabler || window.bootstrap;
    var m = lib && lib.Modal ? lib.Modal.getOrCreateInstance(wonModalEl) : null;
    if (m) { m.show(); } else { wonModalEl.classList.add("show"); wonModalEl.style.display = "block"; }
  }

  if (wonForm) {
    wonForm.addEventListener("submit", function (evt) {
      evt.preventDefault();
      if (!pendingWon) { return; }
      var values = {};
      new FormData(wonForm).forEach(function (value, key) { if (key !== "csrfmiddlewaretoken") { values[key] = value; } });
      var url = wonForm.getAttribute("action");
      pendingWon = null;
      var lib = window.tabler || window.bootstrap;
      var m = lib && lib.Modal ? lib.Modal.getInstance(wonModalEl) : null;
      if (m) { m.hide(); }
      post(url, values);
    });
    wonModalEl.addEventListener("hidden.bs.modal", function () {
      if (pendingWon) { pendingWon = null; refresh(); }  // cancelled: put the card back
    });
  }

  // Refused actions (400/403/404/409) still carry the re-rendered board: swap it in.
  board.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (evt.detail.target === board && [400, 403, 404, 409].indexOf(status) !== -1) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  board.addEventListener("htmx:afterSwap", function (evt) { if (evt.detail.target === board) { init(); } });
  board.addEventListener("htmx:sendError", function () { refresh(); });
  board.addEventListener("htmx:responseError", function () { refresh(); });
  init();
})();
