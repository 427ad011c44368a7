// The desk's behaviour: the live stream, keyboard review, and htmx glue. No build step.
// Everything the server needs to know travels through htmx forms (with the CSRF header);
// this file only moves focus, follows the stream and asks htmx to refresh parts.
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  // Log events that change what the desk shows.
  const QUEUE_EVENTS = new Set(["PieceDrafted", "PieceRevised", "ChecksRecorded", "ReviewRequested",
    "ReviewApproved", "ReviewRejected", "ReviewReopened", "ApprovalWithdrawn", "TaskNeedsHuman", "TaskSucceeded",
    "PublicationDelivered"]);

  let selectedIndex = 0;
  let chosenId = null;  // the piece the operator last selected (click, j/k, or the page's own)
  let refreshTimer = null;

  function panelPieceId() {
    const article = $("#panel article.piece[data-piece]");
    return article ? article.dataset.piece : null;
  }

  function panelLabel() {
    const article = $("#panel article.piece[data-piece]");
    return article ? article.dataset.label + " v" + article.dataset.version : "the piece";
  }

  // A visible, announced line above the queue whenever the selection is not what the keys act on.
  function setCue(text) {
    const cue = $("#selection-cue");
    if (!cue) return;
    cue.textContent = text;
    cue.hidden = !text;
  }

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
  }

  function editing() {
    return typing(document.activeElement) || $$("#panel details.act[open]").some((d) => !d.classList.contains("act-complete"));
  }

  // -- selection in the queue --------------------------------------------------------------
  function loadPanel(pieceId) {
    if (!pieceId || !$("#panel")) return;
    htmx.ajax("GET", "/ui/pieces/" + encodeURIComponent(pieceId) + "/panel", { target: "#panel", swap: "innerHTML" });
    history.replaceState(null, "", "/?piece=" + encodeURIComponent(pieceId));
  }

  function select(index, load) {
    const items = $$("#queue-list .q-item");
    if (!items.length) return;
    selectedIndex = Math.max(0, Math.min(items.length - 1, index));
    items.forEach((item, i) => item.classList.toggle("selected", i === selectedIndex));
    const item = items[selectedIndex];
    chosenId = item.dataset.piece;
    item.scrollIntoView({ block: "nearest" });
    if (load) setCue("");
    if (load && item.dataset.piece !== panelPieceId()) loadPanel(item.dataset.piece);
  }

  function move(delta) {
    if ($("#queue-list")) {
      const items = $$("#queue-list .q-item");
      const current = items.findIndex((item) => item.classList.contains("selected"));
      // Nothing selected (the selected piece left the queue): j takes the card now in its place,
      // k the one before it.
      const target = current >= 0 ? current + delta : (delta > 0 ? selectedIndex : selectedIndex - 1);
      select(target, true);
      return;
    }
    const link = $(delta > 0 ? 'a[data-key="j"]' : 'a[data-key="k"]');
    if (link) window.location.href = link.href;
  }

  function refreshQueue() {
    if (!$("#queue")) return;
    const selected = chosenId || "";
    htmx.ajax("GET", "/ui/queue?selected=" + encodeURIComponent(selected), { target: "#queue", swap: "innerHTML" });
  }

  function afterQueueSwap() {
    const items = $$("#queue-list .q-item");
    const at = items.findIndex((item) => item.dataset.piece === chosenId);
    if (at >= 0) {
      select(at, false);
      return;
    }
    // The piece on the panel left the queue (approved, rejected, published after an edit), or no
    // piece is shown: select nothing. Moving on by itself would aim the next key at a piece the
    // operator never chose (issue 17: an `a` meant for one piece approved the next one).
    items.forEach((item) => item.classList.remove("selected"));
    if (!items.length) setCue("");
    else if (chosenId) setCue("Nothing is selected: " + (panelPieceId() === chosenId ? panelLabel() : "the selected piece")
                              + " left the queue. Press j to select the next piece.");
    else setCue("Nothing is selected: press j to select the first piece.");
  }

  function closeConfirm() {
    const dialog = $("#panel .confirm-approve, #panel .confirm-retract");
    if (dialog) dialog.remove();
  }

  // -- actions by key -----------------------------------------------------------------------
  function openAction(key) {
    const details = $('#panel details[data-key="' + key + '"]');
    if (!details) return;
    details.open = true;
    const field = $("textarea", details) || $("input[type=text]", details);  // the text first, not the subject
    if (field) {
      field.focus();
      if (field.tagName === "TEXTAREA") field.setSelectionRange(field.value.length, field.value.length);
    }
  }

  function onKey(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (event.key === "Escape") {
      closeConfirm();
      $$("#panel details.act[open]").forEach((d) => { if (!d.classList.contains("act-complete")) d.open = false; });
      if (document.activeElement) document.activeElement.blur();
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    // A key can arrive while htmx is still wiring up a panel it just swapped in; wire it now,
    // so the action goes through htmx (and stays on the desk) instead of a plain form post.
    if ($("#panel")) htmx.process($("#panel"));
    if ($("#flash")) htmx.process($("#flash"));
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      // `a` asks the server to approve; for a version whose checks failed it answers with a
      // confirmation, which only `y` (or its button) accepts: never the same key twice.
      a: () => { const button = $('#panel button[data-key="a"]'); if (button) button.click(); },
      y: () => { const button = $('#panel .confirm-approve button[data-key="y"]'); if (button) button.click(); },
      r: () => { const input = $('#panel input[data-key="r"]'); if (input) input.focus(); },
      e: () => openAction("e"),
      f: () => openAction("f"),
      o: () => { const id = panelPieceId(); if (id) window.location.href = "/pieces/" + encodeURIComponent(id); },
      // `u` undoes the person's last action while the flash offers it (the server checks again).
      u: () => { const button = $('#flash form.undo button[data-key="u"]'); if (button) button.click(); },
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  // The undo offer ends with its window: take it away then (the server refuses later ones anyway).
  function expireUndo() {
    const now = Date.now() / 1000;
    $$("#flash form.undo[data-until]").forEach((form) => { if (Number(form.dataset.until) < now) form.remove(); });
  }

  // -- the live stream ------------------------------------------------------------------------
  function unescape(literal) {
    const whole = literal.replace(/\\u?[0-9a-fA-F]{0,3}$|\\$/, "");  // a cut-off escape at the end
    try { return JSON.parse('"' + whole + '"'); } catch (e) { return whole; }
  }

  function readable(raw) {
    // Agents answer JSON ({"text": "..."}, {"subjects": ["...", ...]}): show the strings being
    // written, not the braces and keys. Anything else is shown as it comes.
    if (!/^\s*\{/.test(raw)) return raw;
    const strings = [];
    const literal = /"((?:[^"\\]|\\.)*)"?(\s*:)?/g;
    let match;
    while ((match = literal.exec(raw)) !== null) {
      if (!match[2]) strings.push(unescape(match[1]));
    }
    return strings.join(" · ");
  }

  const drafts = new Map();

  function onToken(message) {
    const token = JSON.parse(message.data);
    const box = $("#drafts");
    if (!box) return;
    $("#writing").hidden = false;
    let entry = drafts.get(token.task_id);
    if (!entry) {
      const card = document.createElement("div");
      card.className = "draft writing-now";
      card.dataset.task = token.task_id;
      const head = document.createElement("div");
      head.className = "draft-head";
      head.textContent = (token.channel ? token.channel + " · " : "") + token.step;
      const body = document.createElement("div");
      body.className = "draft-body";
      card.append(head, body);
      box.prepend(card);
      $$(".draft.written", box).slice(5).forEach((old) => old.remove());  // keep the panel short
      entry = { card: card, body: body, raw: "" };
      drafts.set(token.task_id, entry);
    }
    entry.raw += token.text;
    entry.body.textContent = readable(entry.raw);
  }

  function finishDraft(taskId) {
    const entry = drafts.get(taskId);
    if (!entry) return;
    entry.card.classList.remove("writing-now");
    entry.card.classList.add("written");
    drafts.delete(taskId);
    setTimeout(() => {
      entry.card.remove();
      if (!$("#drafts .draft")) $("#writing").hidden = true;
    }, 8000);
  }

  function onLog(message) {
    const event = JSON.parse(message.data);
    const taskId = event.data && event.data.task_id;
    if (taskId && (event.type === "ModelCallRecorded" || event.type === "PieceDrafted" || event.type === "PieceRevised")) {
      finishDraft(taskId);
    }
    if (!QUEUE_EVENTS.has(event.type)) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refreshQueue(), 150);
    const shown = panelPieceId();
    if (shown && event.stream === "piece-" + shown) {
      setTimeout(() => { if (!editing() && panelPieceId() === shown) loadPanel(shown); }, 200);
    }
  }

  function connect() {
    const live = $("#live");
    if (!live || !window.EventSource) return;
    const source = new EventSource("/api/v1/stream");
    source.addEventListener("open", () => { live.textContent = "● live"; live.classList.add("on"); });
    source.addEventListener("error", () => { live.textContent = "○ reconnecting"; live.classList.remove("on"); });
    source.addEventListener("token", onToken);
    source.addEventListener("log", onLog);
  }

  // -- htmx glue --------------------------------------------------------------------------------
  function init() {
    document.addEventListener("keydown", onKey);
    setInterval(expireUndo, 1000);
    document.body.addEventListener("htmx:beforeSwap", (event) => {
      const target = event.detail.target;
      if (target && target.id === "panel" && event.detail.requestConfig && event.detail.requestConfig.verb === "get"
          && editing()) {
        event.detail.shouldSwap = false;  // a refresh must never wipe what the operator is typing
        return;
      }
      const status = event.detail.xhr.status;
      if (status >= 400 && status !== 401) {
        // Errors come back as a flash fragment: show it instead of dropping it.
        event.detail.shouldSwap = true;
        event.detail.isError = false;
        event.detail.target = $("#flash");
      }
    });
    document.body.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target && event.detail.target.id === "queue") afterQueueSwap();
      const dialog = $("#panel .confirm-approve, #panel .confirm-retract");
      if (dialog && event.detail.target && event.detail.target.id === "panel") dialog.focus();
    });
    document.body.addEventListener("queue-changed", () => refreshQueue());
    document.addEventListener("click", (event) => {
      const cancel = event.target.closest(".confirm-approve .cancel, .confirm-retract .cancel");
      if (!cancel) return;
      event.preventDefault();
      closeConfirm();
    });
    const list = $("#queue");
    if (list) {
      list.addEventListener("click", (event) => {
        const link = event.target.closest(".q-item[data-piece] a");
        if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        const items = $$("#queue-list .q-item");
        select(items.indexOf(link.closest(".q-item")), true);
      });
      const selected = $$("#queue-list .q-item").findIndex((item) => item.classList.contains("selected"));
      if (selected >= 0) {
        select(selected, false);
      } else {
        chosenId = panelPieceId();  // a piece that is not in the queue (any more): nothing selected
        afterQueueSwap();
      }
    }
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
