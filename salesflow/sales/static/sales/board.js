// Pipeline board: drag a card to another column to move its stage, onto "Won" to win it,
// onto "Lost" to lose it (asks for the reason). Every card also has a "move to stage" menu
// (keyboard and touch alternative to dragging). A drop and a menu choice take the same path,
// requestMove(card, target); every move POSTs to the server, which answers with the
// re-rendered board; a refused action comes back with the stored state (the card snaps back)
// and the error message.
//
// The board fits the window: its height is the viewport minus what is above it (so the
// horizontal scrollbar is always visible), each column scrolls inside it, and the scroll
// positions (and the phone's current stage tab) survive htmx swaps and reloads
// (sessionStorage, per pipeline).
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || typeof Sortable === "undefined" || typeof htmx === "undefined") { return; }
  var sortables = [];
  var lostModalEl = document.getElementById("lost-modal");
  var lostForm = document.getElementById("lost-form");
  var statusEl = document.getElementById("board-status");
  var pendingLost = null;
  var pendingMove = null;  // {id, label, focus}: what to announce / focus after the swap
  var PHONE = window.matchMedia("(max-width: 575.98px)");

  // ------------------------------------------------------------------ server calls

  function meta() { return board.querySelector("[data-board-meta]"); }

  function filters() {
    var m = meta();
    var values = {};
    if (m) {
      new URLSearchParams(m.dataset.query || "").forEach(function (value, key) { values[key] = value; });
      if (!values.pipeline) { values.pipeline = m.dataset.pipeline; }
    }
    return values;
  }

  function post(url, values) {
    saveScroll();
    board.classList.add("sf-board-busy");
    return htmx.ajax("POST", url, {
      source: board, target: "#board", swap: "innerHTML",
      values: Object.assign(filters(), values)
    });
  }

  function refresh() {
    saveScroll();
    var params = new URLSearchParams(filters()).toString();
    return htmx.ajax("GET", board.dataset.url + "?" + params, { source: board, target: "#board", swap: "innerHTML" });
  }

  // ------------------------------------------------------------- one path for moves

  // target: {stage: "<id>"} for an open stage, {outcome: "won"} or {outcome: "lost"}.
  // Drops and the move menu both come here, so won/lost ask the same questions either way.
  function requestMove(card, target) {
    if (target.outcome === "won") { confirmWon(card); return; }
    if (target.outcome === "lost") { askLostReason(card); return; }
    post(card.dataset.moveUrl, { stage: target.stage });
  }

  // Winning: one POST today; the won confirmation dialog (final amount, close date) plugs in here.
  function confirmWon(card) {
    askWon(card);  // the won confirmation (final amount and close date), below
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
    var to = evt.to;
    if (to === evt.from) { return; }  // reordering inside a column is not stored
    var target = to.dataset.outcome ? { outcome: to.dataset.outcome } : { stage: to.dataset.stage };
    requestMove(evt.item, target);
  }

  // ------------------------------------------------------------ the move menu

  var menuCard = null;
  var menuButton = null;

  function menu() { return board.querySelector(".sf-move-menu"); }
  function menuItems() {
    var m = menu();
    return m ? Array.prototype.slice.call(m.querySelectorAll(".dropdown-item:not([aria-disabled=true])")) : [];
  }

  function placeMenu(m, button) {
    var rect = button.getBoundingClientRect();
    var width = m.offsetWidth;
    var height = m.offsetHeight;
    var left = Math.min(rect.right - width, window.innerWidth - width - 8);
    var top = rect.bottom + 4;
    if (top + height > window.innerHeight - 8 && rect.top - height - 4 > 8) { top = rect.top - height - 4; }
    m.style.left = Math.max(8, left) + "px";
    m.style.top = Math.max(8, top) + "px";
  }

  function openMenu(button, focusLast) {
    var m = menu();
    var card = button.closest(".sf-board-card");
    if (!m || !card) { return; }
    closeMenu(false);
    menuCard = card;
    menuButton = button;
    var current = card.closest(".sf-board-cards");
    m.querySelectorAll(".dropdown-item").forEach(function (item) {
      var here = current && item.dataset.stage && item.dataset.stage === current.dataset.stage;
      item.setAttribute("aria-disabled", here ? "true" : "false");
      if (here) { item.setAttribute("aria-current", "true"); } else { item.removeAttribute("aria-current"); }
    });
    m.classList.add("show");
    placeMenu(m, button);
    button.setAttribute("aria-expanded", "true");
    var items = menuItems();
    if (items.length) { items[focusLast ? items.length - 1 : 0].focus(); }
  }

  function closeMenu(returnFocus) {
    var m = menu();
    if (m) { m.classList.remove("show"); }
    if (menuButton) {
      menuButton.setAttribute("aria-expanded", "false");
      if (returnFocus && document.body.contains(menuButton)) { menuButton.focus(); }
    }
    menuCard = null;
    menuButton = null;
  }

  function choose(item) {
    var card = menuCard;
    if (!card || item.getAttribute("aria-disabled") === "true") { return; }
    var target = item.dataset.outcome ? { outcome: item.dataset.outcome } : { stage: item.dataset.stage };
    pendingMove = { id: card.dataset.id, label: item.dataset.label || item.textContent.trim(), focus: true };
    closeMenu(false);
    requestMove(card, target);
  }

  board.addEventListener("click", function (evt) {
    var button = evt.target.closest(".sf-move-btn");
    if (button) {
      evt.preventDefault();
      if (menuButton === button) { closeMenu(true); } else { openMenu(button, false); }
      return;
    }
    var item = evt.target.closest(".sf-move-menu .dropdown-item");
    if (item) { evt.preventDefault(); choose(item); return; }
    var tab = evt.target.closest(".sf-board-tabs [data-tab]");
    if (tab) { selectTab(tab.dataset.tab, true); }
  });

  board.addEventListener("keydown", function (evt) {
    var button = evt.target.closest(".sf-move-btn");
    if (button && (evt.key === "ArrowDown" || evt.key === "ArrowUp")) {
      evt.preventDefault();
      openMenu(button, evt.key === "ArrowUp");
      return;
    }
    if (evt.target.closest(".sf-board-tabs [data-tab]") && (evt.key === "ArrowRight" || evt.key === "ArrowLeft")) {
      var tabs = Array.prototype.slice.call(board.querySelectorAll(".sf-board-tabs [data-tab]"));
      var i = tabs.indexOf(evt.target.closest("[data-tab]")) + (evt.key === "ArrowRight" ? 1 : -1);
      var next = tabs[(i + tabs.length) % tabs.length];
      evt.preventDefault();
      selectTab(next.dataset.tab, true);
      next.focus();
      return;
    }
    if (!evt.target.closest(".sf-move-menu")) { return; }
    var items = menuItems();
    var index = items.indexOf(document.activeElement);
    if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      evt.preventDefault();
      var step = evt.key === "ArrowDown" ? 1 : -1;
      items[(index + step + items.length) % items.length].focus();
    } else if (evt.key === "Home" || evt.key === "End") {
      evt.preventDefault();
      items[evt.key === "Home" ? 0 : items.length - 1].focus();
    } else if (evt.key === "Escape") {
      evt.preventDefault();
      closeMenu(true);
    } else if (evt.key === "Tab") {
      closeMenu(true);
    }
    // Enter / Space activate the focused item (a button): the click handler above.
  });

  document.addEventListener("click", function (evt) {
    if (menuButton && !evt.target.closest(".sf-move-menu") && !evt.target.closest(".sf-move-btn")) { closeMenu(false); }
  });
  window.addEventListener("resize", function () { if (menuButton) { placeMenu(menu(), menuButton); } });

  // ---------------------------------------------------- fit, tabs and scroll memory

  function scroller() { return board.querySelector(".sf-board"); }

  function fit() {
    var el = scroller();
    if (!el) { return; }
    if (PHONE.matches) { board.style.removeProperty("--sf-board-h"); return; }
    var top = el.getBoundingClientRect().top + window.scrollY;
    var height = Math.max(288, Math.floor(window.innerHeight - top - 8));
    board.style.setProperty("--sf-board-h", height + "px");
    // whatever the page adds below the board (margins) must not push its scrollbar off-screen
    var overflow = document.documentElement.scrollHeight - window.innerHeight;
    if (overflow > 0 && height - overflow >= 288) { board.style.setProperty("--sf-board-h", (height - overflow) + "px"); }
  }

  function storageKey() {
    var m = meta();
    return "sf-board:" + (m ? m.dataset.pipeline : "");
  }

  function readState() {
    try { return JSON.parse(window.sessionStorage.getItem(storageKey()) || "{}") || {}; } catch (e) { return {}; }
  }

  function writeState(state) {
    try { window.sessionStorage.setItem(storageKey(), JSON.stringify(state)); } catch (e) { /* private mode: no memory */ }
  }

  function saveScroll() {
    var el = scroller();
    if (!el) { return; }
    var state = readState();
    state.x = el.scrollLeft;
    state.columns = {};
    board.querySelectorAll(".sf-board-cards").forEach(function (list) {
      if (list.scrollTop) { state.columns[list.dataset.stageCode] = list.scrollTop; }
    });
    writeState(state);
  }

  function restoreScroll() {
    var el = scroller();
    if (!el) { return; }
    var state = readState();
    board.querySelectorAll(".sf-board-cards").forEach(function (list) {
      var top = state.columns && state.columns[list.dataset.stageCode];
      if (top) { list.scrollTop = top; }
    });
    if (state.x) { el.scrollLeft = state.x; }
    selectTab(state.tab, false);
  }

  function selectTab(code, remember) {
    var tabs = board.querySelectorAll(".sf-board-tabs [data-tab]");
    if (!tabs.length) { return; }
    var known = Array.prototype.some.call(tabs, function (t) { return t.dataset.tab === code; });
    if (!known) { code = tabs[0].dataset.tab; }
    tabs.forEach(function (t) {
      var on = t.dataset.tab === code;
      t.classList.toggle("active", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      if (on && remember) { t.scrollIntoView({ block: "nearest", inline: "nearest" }); }
    });
    board.querySelectorAll(".sf-board-column").forEach(function (c) { c.classList.toggle("sf-active", c.dataset.code === code); });
    if (remember) {
      var state = readState();
      state.tab = code;
      writeState(state);
    }
  }

  var scrollPending = false;
  board.addEventListener("scroll", function () {
    if (scrollPending) { return; }
    scrollPending = true;
    window.requestAnimationFrame(function () { scrollPending = false; saveScroll(); });
  }, { capture: true, passive: true });
  window.addEventListener("resize", fit);
  window.addEventListener("pagehide", saveScroll);

  // ------------------------------------------------------------------ drag and drop

  function init() {
    closeMenu(false);
    sortables.forEach(function (s) { s.destroy(); });
    sortables = [];
    board.classList.remove("sf-board-busy");
    fit();
    restoreScroll();
    var common = {
      group: "board", animation: 150, draggable: ".sf-board-card",
      // a long press drags on touch screens; a swipe still scrolls (the menu is the other way)
      delay: 250, delayOnTouchOnly: true,
      // dragging near an edge scrolls the board sideways and the column up or down
      scroll: true, bubbleScroll: true, scrollSensitivity: 80, scrollSpeed: 18
    };
    board.querySelectorAll(".sf-board-cards").forEach(function (list) {
      sortables.push(Sortable.create(list, Object.assign({}, common, {
        filter: ".sf-locked, a, .sf-move-btn", preventOnFilter: false, ghostClass: "sortable-ghost", onEnd: onEnd
      })));
    });
    board.querySelectorAll(".sf-drop-zone").forEach(function (zone) {
      sortables.push(Sortable.create(zone, Object.assign({}, common, {
        group: { name: "board", pull: false, put: true }, sort: false
      })));
    });
  }

  function afterMove(ok) {
    var done = pendingMove;
    pendingMove = null;
    if (!done) { return; }
    var card = board.querySelector(".sf-board-card[data-id='" + done.id + "']");
    if (ok && statusEl) { statusEl.textContent = (statusEl.dataset.moved || "__STAGE__").replace("__STAGE__", done.label); }
    if (card && ok) { card.classList.add("sf-just-moved"); }
    if (!done.focus) { return; }
    // keyboard users continue from the card they moved (or the board when it left it)
    var button = card && card.querySelector(".sf-move-btn");
    if (button && button.offsetParent === null) { button = null; }  // on a phone it went to another tab
    var next = button || board.querySelector(".sf-board-tabs .active") || board.querySelector(".sf-move-btn");
    if (next && next.offsetParent !== null) { next.focus({ preventScroll: !button }); }
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
      if (pendingLost) { pendingLost = null; pendingMove = null; refresh(); }  // cancelled: put the card back
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

  // Stage gates: a move refused because the target stage's entry criteria are unmet comes
  // back (409) with the board as stored (the card is back in its place) and the unmet list
  // in the column it was dropped on; for a manager it holds an "Override" form with a
  // reason, which retries the same move through the same path.
  board.addEventListener("submit", function (evt) {
    var form = evt.target.closest(".sf-gate-override");
    if (!form) { return; }
    evt.preventDefault();
    var values = {};
    new FormData(form).forEach(function (value, key) { if (key !== "csrfmiddlewaretoken") { values[key] = value; } });
    var panel = form.closest(".sf-gate-refusal");
    pendingMove = { id: panel.dataset.id, label: panel.dataset.stageLabel || "", focus: false };
    post(form.getAttribute("action"), values);
  });
  board.addEventListener("click", function (evt) {
    var close = evt.target.closest("[data-gate-dismiss]");
    if (!close) { return; }
    var panel = close.closest(".sf-gate-refusal");
    var card = panel && board.querySelector(".sf-board-card[data-id='" + panel.dataset.id + "']");
    if (panel) { panel.remove(); }
    var button = card && card.querySelector(".sf-move-btn");
    if (button) { button.focus(); }
  });
  function showRefusal() {
    var panel = board.querySelector(".sf-gate-refusal");
    if (!panel) { return; }
    panel.scrollIntoView({ block: "nearest", inline: "nearest" });
    var column = panel.closest(".sf-board-column");
    if (column && column.dataset.code) { selectTab(column.dataset.code, false); }
    panel.focus({ preventScroll: true });
  }

  // Refused actions (400/403/404/409) still carry the re-rendered board: swap it in.
  board.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (evt.detail.target === board && [400, 403, 404, 409].indexOf(status) !== -1) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
  board.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target !== board) { return; }
    init();
    afterMove(evt.detail.xhr.status < 300);
    showRefusal();
  });
  board.addEventListener("htmx:sendError", function () { refresh(); });
  board.addEventListener("htmx:responseError", function () { refresh(); });
  init();
  window.addEventListener("load", fit);  // web fonts may move the board once loaded
})();
