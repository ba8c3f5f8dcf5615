// The annotation page (templates/articles/article.html): turns a mouse selection into a claim
// or an evidence span at the right code-point offsets, opens claims from the text and the list,
// shows the open claim's evidence passages in the text, lets a relation's other end be picked
// in the text, and adds the keyboard shortcuts. The server does all the rendering; this file
// only wires events (no inline handlers, no style attributes: the CSP forbids both).
//
// Offsets: every text segment carries data-s, its start in Unicode code points of the stored
// text. The DOM counts UTF-16 code units, so a DOM position (text node, offset) becomes
// data-s + the number of code points before `offset` in node.data. The arithmetic itself (code
// points <-> UTF-16, finding a segment, snapping to words) is in offsets.js (window.Offsets),
// loaded just before this file and tested on its own.
"use strict";

(function () {
  var root = document.getElementById("annotate");
  var Offsets = window.Offsets;
  if (!root || !window.htmx || !Offsets) {
    return;
  }
  var textEl = document.getElementById("article-text");
  var panel = document.getElementById("panel");
  var pop = document.getElementById("selection-pop");
  var popClaim = document.getElementById("pop-claim");
  var popEvidence = document.getElementById("pop-evidence");
  var statusEl = document.getElementById("save-status");
  var dialog = document.getElementById("shortcuts");
  var canAnnotate = root.dataset.canAnnotate === "1";

  // 400 (invalid), 409 (duplicate) and 412 (stale version) answers carry the fragment to show.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "(400|409|412)", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];

  var segments = []; // every [data-s] element of the text, in order
  var starts = []; // the code-point start of each segment (segments[i].cpStart), ascending
  var chars = []; // the article text, one code point per entry ("\n" between paragraphs)
  var byClaim = new Map(); // claim id -> its segments
  var current = null; // the open claim's id (a string), or null
  var selected = null; // {start, end, exact} of the current text selection, or null
  var anchorSeg = null;

  // --- The text index --------------------------------------------------------------------

  function indexText() {
    segments = Array.prototype.slice.call(textEl.querySelectorAll("[data-s]"));
    var length = parseInt(textEl.dataset.length, 10) || 0;
    chars = new Array(length).fill("\n");
    byClaim = new Map();
    segments.forEach(function (seg) {
      var start = parseInt(seg.dataset.s, 10);
      var points = Offsets.split(seg.textContent);
      for (var k = 0; k < points.length; k++) {
        chars[start + k] = points[k];
      }
      seg.cpStart = start;
      seg.cpEnd = start + points.length;
      if (seg.dataset.c) {
        seg.dataset.c.split(" ").forEach(function (id) {
          if (!byClaim.has(id)) {
            byClaim.set(id, []);
          }
          byClaim.get(id).push(seg);
        });
      }
    });
    starts = segments.map(function (seg) {
      return seg.cpStart;
    });
  }

  // Index of the first segment that begins at or after the DOM point (node, offset).
  function firstSegmentAfter(node, offset) {
    var point = document.createRange();
    point.setStart(node, offset);
    point.collapse(true);
    var lo = 0;
    var hi = segments.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (point.comparePoint(segments[mid], 0) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // A DOM boundary point as a code-point offset into the article text.
  function toCodePoint(node, offset, isEnd) {
    if (node.nodeType === Node.TEXT_NODE) {
      var seg = node.parentElement && node.parentElement.closest("[data-s]");
      if (seg && textEl.contains(seg)) {
        return seg.cpStart + Offsets.fromUtf16(node.data, offset);
      }
    }
    var i = firstSegmentAfter(node, offset);
    if (isEnd) {
      return i > 0 ? segments[i - 1].cpEnd : 0;
    }
    return i < segments.length ? segments[i].cpStart : chars.length;
  }

  // The DOM point of a code-point offset: inside the segment that holds it (for an end, the
  // segment it ends, so that a span ending at a boundary stays in its own segment).
  function toDomPoint(offset, isEnd) {
    var seg = segments[Offsets.segmentAt(starts, offset, isEnd)];
    var node = seg.firstChild;
    var inside = Math.max(0, Math.min(offset, seg.cpEnd) - seg.cpStart);
    return [node, Offsets.toUtf16(node.data, inside)];
  }

  function restoreSelection(info) {
    if (!segments.length) {
      return;
    }
    var start = toDomPoint(info.start, false);
    var end = toDomPoint(info.end, true);
    var range = document.createRange();
    range.setStart(start[0], start[1]);
    range.setEnd(end[0], end[1]);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    updateSelection();
  }

  function readSelection() {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      return null;
    }
    var range = selection.getRangeAt(0);
    if (!textEl.contains(range.startContainer) || !textEl.contains(range.endContainer)) {
      return null;
    }
    var start = toCodePoint(range.startContainer, range.startOffset, false);
    var end = toCodePoint(range.endContainer, range.endOffset, true);
    var snapped = Offsets.snap(chars, start, end);
    if (snapped[1] <= snapped[0]) {
      return null;
    }
    var focusNode = selection.focusNode;
    var seg =
      focusNode &&
      (focusNode.nodeType === Node.TEXT_NODE ? focusNode.parentElement : focusNode).closest("[data-s]");
    return {
      start: snapped[0],
      end: snapped[1],
      exact: chars.slice(snapped[0], snapped[1]).join(""),
      segment: seg && textEl.contains(seg) ? seg : null,
    };
  }

  // --- The selection toolbar -----------------------------------------------------------------

  function hidePop() {
    pop.hidden = true;
    if (anchorSeg) {
      anchorSeg.classList.remove("sel-anchor");
      anchorSeg = null;
    }
  }

  function showPop(info) {
    if (anchorSeg) {
      anchorSeg.classList.remove("sel-anchor");
    }
    anchorSeg = info.segment || segments[segments.length - 1];
    if (anchorSeg) {
      anchorSeg.classList.add("sel-anchor");
    }
    if (popEvidence) {
      popEvidence.hidden = !(current && document.getElementById("evidence-span"));
    }
    pop.hidden = false;
  }

  function updateSelection() {
    if (!canAnnotate) {
      return;
    }
    selected = readSelection();
    if (selected) {
      showPop(selected);
    } else {
      hidePop();
    }
  }

  // A refresh of the text (after a save) must not pull the text from under a drag in progress.
  var dragging = false;
  var refreshHeld = false;
  textEl.addEventListener("mousedown", function (event) {
    dragging = event.button === 0;
  });
  document.addEventListener("mouseup", function () {
    if (dragging) {
      dragging = false;
      if (refreshHeld) {
        refreshHeld = false;
        htmx.trigger(document.body, "claims-changed", {});
      }
    }
  });
  textEl.addEventListener("mouseup", function () {
    window.setTimeout(updateSelection, 0);
  });
  textEl.addEventListener("keyup", function (event) {
    if (event.shiftKey) {
      updateSelection();
    }
  });
  document.addEventListener("selectionchange", function () {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed) {
      hidePop();
    }
  });
  // Pressing a toolbar button must not clear the selection it acts on.
  pop.addEventListener("mousedown", function (event) {
    event.preventDefault();
  });

  function setField(id, value) {
    var field = document.getElementById(id);
    if (field) {
      field.value = value;
    }
    return field;
  }

  function createClaim() {
    var info = selected || readSelection();
    if (!info) {
      return;
    }
    var form = document.getElementById("claim-form");
    setField("claim-start", String(info.start));
    setField("claim-end", String(info.end));
    setField("claim-exact", info.exact);
    say("Marking the claim…", "busy");
    form.requestSubmit();
    window.getSelection().removeAllRanges();
    hidePop();
  }

  function useAsEvidence() {
    var info = selected || readSelection();
    var details = document.getElementById("evidence-span");
    if (!current || !details) {
      say("Open a claim you have tagged, then add evidence to it.", "error");
      return;
    }
    details.open = true;
    if (info) {
      setField("evidence-start", String(info.start));
      setField("evidence-end", String(info.end));
      setField("evidence-exact", info.exact);
      window.getSelection().removeAllRanges();
      hidePop();
      document.getElementById("evidence-type").focus();
    } else {
      document.getElementById("evidence-exact").focus();
    }
  }

  if (popClaim) {
    popClaim.addEventListener("click", createClaim);
  }
  if (popEvidence) {
    popEvidence.addEventListener("click", useAsEvidence);
  }

  // A passage typed or pasted into the evidence box is no longer the selected one: let the
  // server find it by its text.
  document.addEventListener("input", function (event) {
    if (event.target.id === "evidence-exact") {
      setField("evidence-start", "");
      setField("evidence-end", "");
    } else if (event.target.id === "claim-exact") {
      setField("claim-start", "");
      setField("claim-end", "");
    }
  });

  // --- Evidence passages of the open claim ---------------------------------------------------
  // The panel lists them as links carrying code-point offsets (data-ev-start/end). They are
  // painted with the CSS Custom Highlight API, which leaves the server's segments untouched;
  // browsers without it get the covering segments marked instead.

  var HIGHLIGHTS = typeof window.Highlight === "function" && window.CSS && CSS.highlights;
  var evidence = []; // {link, start, end, range} of each passage shown in the panel
  var activeLink = null; // the passage last jumped to, painted stronger

  function rangeOf(start, end) {
    var from = toDomPoint(start, false);
    var to = toDomPoint(end, true);
    var range = document.createRange();
    range.setStart(from[0], from[1]);
    range.setEnd(to[0], to[1]);
    return range;
  }

  function paintEvidence(active) {
    activeLink = active ? active.link : null;
    if (HIGHLIGHTS) {
      var ranges = evidence.filter(function (item) {
        return item !== active;
      }).map(function (item) {
        return item.range;
      });
      CSS.highlights.set("evidence", new Highlight(...ranges));
      if (active) {
        CSS.highlights.set("evidence-active", new Highlight(active.range));
      } else {
        CSS.highlights.delete("evidence-active");
      }
    } else {
      textEl.querySelectorAll(".ev").forEach(function (seg) {
        seg.classList.remove("ev", "ev-active");
      });
      evidence.forEach(function (item) {
        segments.forEach(function (seg) {
          if (seg.cpStart < item.end && seg.cpEnd > item.start) {
            seg.classList.add("ev");
            seg.classList.toggle("ev-active", seg.classList.contains("ev-active") || item === active);
          }
        });
      });
    }
    evidence.forEach(function (item) {
      if (item === active) {
        item.link.setAttribute("aria-current", "true");
      } else {
        item.link.removeAttribute("aria-current");
      }
    });
  }

  function clearEvidence() {
    evidence = [];
    paintEvidence(null);
  }

  function showEvidence() {
    evidence = [];
    var body = document.getElementById("panel-body");
    if (current && segments.length && body && body.dataset.claimId === current) {
      body.querySelectorAll("[data-ev-start]").forEach(function (link) {
        var start = parseInt(link.dataset.evStart, 10);
        var end = parseInt(link.dataset.evEnd, 10);
        if (start >= 0 && end > start && end <= chars.length) {
          evidence.push({ link: link, start: start, end: end, range: rangeOf(start, end) });
        }
      });
    }
    // A refreshed text keeps the passage last jumped to; a new panel starts afresh.
    var again = evidence.find(function (item) {
      return item.link === activeLink;
    });
    paintEvidence(again || null);
  }

  function jumpToEvidence(link) {
    var item = evidence.find(function (candidate) {
      return candidate.link === link;
    });
    if (!item) {
      return;
    }
    paintEvidence(item);
    var seg = item.range.startContainer.parentElement;
    if (!isVisible(seg)) {
      seg.scrollIntoView({ block: "center" });
    }
  }

  // --- Picking a relation's other end in the text --------------------------------------------

  var picking = false;
  var lastPicked = null;

  function setPicking(on) {
    picking = on;
    root.classList.toggle("is-picking", on);
    var button = document.getElementById("relation-pick");
    if (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    if (on) {
      say("Click the other claim in the text (Esc cancels).", "");
    }
  }

  // A click on text covered by several claims picks the innermost other than the open one;
  // picking there again takes the next, as opening does.
  function pickClaim(seg) {
    var ids = seg.dataset.c.split(" ").filter(function (id) {
      return id !== current;
    });
    if (!ids.length) {
      say("That is the open claim: click another one.", "error");
      return;
    }
    var at = ids.indexOf(lastPicked);
    var id = ids[at >= 0 ? (at + 1) % ids.length : 0];
    lastPicked = id;
    var button = document.getElementById("relation-pick");
    setPicking(false);
    if (!button) {
      return;
    }
    var url = button.dataset.targetsUrl + "?pick=" + encodeURIComponent(id);
    htmx.ajax("GET", url, { target: "#relation-matches", swap: "innerHTML" }).then(function () {
      var chosen = document.querySelector("#relation-matches input:checked");
      if (chosen) {
        chosen.focus();
        say("Picked. Choose the relation, then “Add link”.", "");
      }
    });
  }

  // Controls that need this script stay hidden without it.
  function revealPanelControls() {
    var button = document.getElementById("relation-pick");
    if (button) {
      button.hidden = false;
    }
  }

  // The claim finder: Down moves from the search box into the matches; Enter on a match adds it.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "relation-search" && event.key === "ArrowDown") {
      var first = document.querySelector("#relation-matches input[type=radio]");
      if (first) {
        event.preventDefault();
        first.checked = true;
        first.focus();
      }
    } else if (event.key === "Enter" && target.matches("#relation-matches input[type=radio]")) {
      event.preventDefault();
      target.form.requestSubmit();
    }
  });

  // --- Opening claims ------------------------------------------------------------------------

  function panelUrl(id) {
    return root.dataset.panelUrl.replace(/\/0\/panel$/, "/" + encodeURIComponent(id) + "/panel");
  }

  function remember(id) {
    var url = new URL(window.location.href);
    if (id) {
      url.searchParams.set("claim", id);
      url.hash = "";
    } else {
      url.searchParams.delete("claim");
    }
    window.history.replaceState(window.history.state, "", url.toString());
  }

  function isVisible(element) {
    var box = element.getBoundingClientRect();
    return box.bottom > 60 && box.top < window.innerHeight;
  }

  function highlight(id, scroll) {
    document.querySelectorAll("#article-text .sel").forEach(function (seg) {
      seg.classList.remove("sel");
    });
    var mine = id ? byClaim.get(String(id)) || [] : [];
    mine.forEach(function (seg) {
      seg.classList.add("sel");
    });
    markList();
    if (scroll && mine.length && !isVisible(mine[0])) {
      mine[0].scrollIntoView({ block: "center" });
    }
  }

  function markList() {
    document.querySelectorAll("#claim-list [data-claim]").forEach(function (item) {
      if (current && item.dataset.claim === current) {
        item.setAttribute("aria-current", "true");
      } else {
        item.removeAttribute("aria-current");
      }
    });
  }

  function openClaim(id, options) {
    options = options || {};
    current = String(id);
    setPicking(false);
    clearEvidence();
    highlight(current, options.scroll !== false);
    remember(current);
    var item = document.querySelector('#claim-list [data-claim="' + current + '"]');
    if (item && options.fromKeys) {
      item.scrollIntoView({ block: "nearest" });
    }
    return htmx.ajax("GET", panelUrl(current), { target: "#panel", swap: "innerHTML" }).then(function () {
      if (options.focus) {
        var title = document.getElementById("panel-title");
        if (title) {
          title.focus({ preventScroll: true });
        }
      }
    });
  }

  var emptyPanel = null;

  function closeClaim() {
    current = null;
    setPicking(false);
    clearEvidence();
    highlight(null, false);
    remember(null);
    if (emptyPanel) {
      document.getElementById("panel-body").replaceWith(emptyPanel.cloneNode(true));
    }
  }

  // Clicking a highlight opens its innermost claim; clicking again cycles through the others
  // that cover the same text, so nested and overlapping claims all stay reachable.
  textEl.addEventListener("click", function (event) {
    var selection = window.getSelection();
    if (selection && !selection.isCollapsed) {
      return;
    }
    var seg = event.target.closest("[data-c]");
    if (picking) {
      if (seg) {
        pickClaim(seg);
      } else {
        say("Click a highlighted claim, or press Esc to stop picking.", "");
      }
      return;
    }
    if (!seg) {
      return;
    }
    var ids = seg.dataset.c.split(" ");
    var at = ids.indexOf(current);
    openClaim(ids[at >= 0 ? (at + 1) % ids.length : 0], { scroll: false });
  });

  // Claim links (list, panel navigation, relations) open in place instead of reloading.
  document.addEventListener("click", function (event) {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      return;
    }
    var passage = event.target.closest("a[data-ev-start]");
    if (passage && panel.contains(passage)) {
      event.preventDefault();
      jumpToEvidence(passage);
      return;
    }
    if (event.target.closest("#relation-pick")) {
      setPicking(!picking);
      return;
    }
    var link = event.target.closest("a[data-claim]");
    if (link && root.contains(link)) {
      event.preventDefault();
      openClaim(link.dataset.claim, { focus: event.detail === 0 });
      return;
    }
    var close = event.target.closest("[data-close-panel]");
    if (close) {
      event.preventDefault();
      closeClaim();
    }
  });

  function listIds() {
    return Array.prototype.map.call(document.querySelectorAll("#claim-list [data-claim]"), function (a) {
      return a.dataset.claim;
    });
  }

  function step(direction) {
    var ids = listIds();
    if (!ids.length) {
      say("No claims in the list.", "error");
      return;
    }
    var at = ids.indexOf(current);
    var next = at < 0 ? (direction > 0 ? 0 : ids.length - 1) : at + direction;
    if (next < 0 || next >= ids.length) {
      say(direction > 0 ? "That was the last claim." : "That was the first claim.", "");
      return;
    }
    openClaim(ids[next], { fromKeys: true });
  }

  // --- Status messages (aria-live) --------------------------------------------------------

  function say(message, kind) {
    statusEl.textContent = message;
    statusEl.classList.toggle("is-error", kind === "error");
    statusEl.classList.toggle("is-busy", kind === "busy");
  }

  document.body.addEventListener("saved", function (event) {
    say((event.detail && event.detail.message) || "Saved.", "");
  });

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb === "post") {
      say("Saving…", "busy");
    }
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || event.detail.requestConfig.verb !== "post") {
      return;
    }
    if (xhr.status === 412) {
      say("Not saved: someone changed this meanwhile. Choose a version in the panel.", "error");
    } else if (xhr.status >= 400) {
      say("Not saved: see the message.", "error");
    }
  });

  // --- After htmx swaps -------------------------------------------------------------------

  var selectionToRestore = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target !== textEl) {
      return;
    }
    if (dragging) {
      event.detail.shouldSwap = false;
      refreshHeld = true;
      return;
    }
    selectionToRestore = !pop.hidden && selected ? selected : null;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target === textEl) {
      indexText();
      highlight(current, false);
      showEvidence();
      if (selectionToRestore) {
        restoreSelection(selectionToRestore);
        selectionToRestore = null;
      }
    } else if (target.id === "claim-list" || target.closest("#claim-list")) {
      markList();
    } else if (target === panel) {
      var body = document.getElementById("panel-body");
      var id = body && body.dataset.claimId ? body.dataset.claimId : null;
      setPicking(false);
      if (id !== current) {
        current = id;
        remember(id);
        highlight(id, true);
      }
      revealPanelControls();
      showEvidence();
    }
    var errors = document.getElementById("claim-errors");
    if (target === errors || (errors && target.contains(errors) && errors.childElementCount)) {
      errors.scrollIntoView({ block: "nearest" });
    }
  });

  // --- Keyboard -----------------------------------------------------------------------------

  var STANCE_KEYS = { 1: "support", 2: "oppose", 3: "neutral" };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable], dialog")) {
      return;
    }
    var key = event.key;
    if (key === "j" || key === "k") {
      event.preventDefault();
      step(key === "j" ? 1 : -1);
    } else if (STANCE_KEYS[key] && canAnnotate) {
      var button = document.getElementById("stance-" + STANCE_KEYS[key]);
      if (button) {
        event.preventDefault();
        button.click();
      } else {
        say("Open a claim first (click it, or press j).", "error");
      }
    } else if (key === "e" && canAnnotate) {
      event.preventDefault();
      useAsEvidence();
    } else if (key === "Escape") {
      if (picking) {
        setPicking(false);
        say("", "");
      } else if (!pop.hidden) {
        window.getSelection().removeAllRanges();
        hidePop();
      } else if (current) {
        closeClaim();
      }
    } else if (key === "?") {
      event.preventDefault();
      dialog.showModal();
    }
  });

  var shortcutsButton = document.getElementById("shortcuts-open");
  shortcutsButton.hidden = false;
  shortcutsButton.addEventListener("click", function () {
    dialog.showModal();
  });

  // --- Start ----------------------------------------------------------------------------------

  indexText();
  var initial = document.getElementById("panel-body");
  if (initial && initial.dataset.claimId) {
    current = initial.dataset.claimId;
    highlight(current, true);
    revealPanelControls();
    showEvidence();
  }
  // The "no claim selected" panel, shown again when a claim is closed.
  var emptyTemplate = document.getElementById("panel-empty-template");
  emptyPanel = emptyTemplate ? emptyTemplate.content.firstElementChild : null;
  document.body.dataset.ready = "1";
  if (window.performance && performance.mark) {
    performance.mark("annotate-ready"); // read by bench/bench_annotation_page.py
  }
})();
