// Suggestions on the annotation page (templates/articles/_suggestions.html): draws each listed
// suggestion as a dashed box over its words in the text (a layer above the text, so the text's
// own markup and the selection offsets annotate.js computes are untouched), steps through them
// with s / S, and decides the current one with y (accept), n (reject) or c then 1/2/3 (correct
// the stance and accept). The server renders the list and does every write; after a write the
// list comes back (claims-changed) and the next open suggestion becomes the current one.
//
// Offsets are code points, as everywhere (offsets.js converts them to the DOM's UTF-16 units).
"use strict";

(function () {
  var root = document.getElementById("annotate");
  var textEl = document.getElementById("article-text");
  var Offsets = window.Offsets;
  if (!root || !textEl || !Offsets) {
    return;
  }
  var canAnnotate = root.dataset.canAnnotate === "1";
  var statusEl = document.getElementById("save-status");
  var column = textEl.parentElement;
  var layer = document.createElement("div");
  layer.className = "sg-layer";
  layer.setAttribute("aria-hidden", "true");
  column.appendChild(layer);

  var currentId = null; // the current suggestion's id (a string), or null
  var advanceFrom = null; // after a decision by key: move on from this one once the list is back
  var correcting = false; // c was pressed: 1/2/3 choose the corrected stance

  function say(message, kind) {
    if (statusEl) {
      statusEl.textContent = message;
      statusEl.classList.toggle("is-error", kind === "error");
    }
  }

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("#sg-items .sg-item"));
  }

  function itemById(id) {
    return id ? document.getElementById("sg-" + id) : null;
  }

  // --- Boxes over the text -----------------------------------------------------------------

  function segmentIndex() {
    var segs = Array.prototype.slice.call(textEl.querySelectorAll("[data-s]"));
    return {
      segs: segs,
      starts: segs.map(function (seg) {
        return parseInt(seg.dataset.s, 10);
      }),
    };
  }

  // The DOM point (text node, UTF-16 offset) at code point `offset`.
  function pointAt(index, offset, isEnd) {
    if (!index.segs.length) {
      return null;
    }
    var i = Offsets.segmentAt(index.starts, offset, isEnd);
    var seg = index.segs[i];
    var node = seg.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) {
      return null;
    }
    return { node: node, offset: Offsets.toUtf16(node.data, offset - index.starts[i]) };
  }

  function rangeOf(index, start, end) {
    var from = pointAt(index, start, false);
    var to = pointAt(index, end, true);
    if (!from || !to) {
      return null;
    }
    var range = document.createRange();
    range.setStart(from.node, from.offset);
    range.setEnd(to.node, to.offset);
    return range;
  }

  function draw() {
    layer.textContent = "";
    var index = segmentIndex();
    var origin = column.getBoundingClientRect();
    items().forEach(function (item) {
      var range = rangeOf(index, +item.dataset.start, +item.dataset.end);
      if (!range) {
        return;
      }
      var state = item.dataset.mine || item.dataset.state;
      Array.prototype.forEach.call(range.getClientRects(), function (rect) {
        if (rect.width < 1) {
          return;
        }
        var box = document.createElement("div");
        box.className = "sg-box sg-box-" + state;
        if (item.dataset.sid === currentId) {
          box.classList.add("sg-box-current");
        }
        box.dataset.sid = item.dataset.sid;
        box.style.left = rect.left - origin.left + "px";
        box.style.top = rect.top - origin.top + "px";
        box.style.width = rect.width + "px";
        box.style.height = rect.height + "px";
        layer.appendChild(box);
      });
    });
  }

  // --- The current suggestion -----------------------------------------------------------------

  // Correcting survives a refresh of the same current suggestion (a write's several swaps land
  // one after another, and c may come between them): its form is opened again in the new list.
  function setCurrent(id, scroll) {
    if (id !== currentId) {
      correcting = false;
    }
    items().forEach(function (item) {
      var on = item.dataset.sid === id;
      item.classList.toggle("sg-current", on);
      var details = item.querySelector("[data-sg-correct]");
      if (details && !on) {
        details.open = false;
      } else if (details && correcting) {
        details.open = true;
      }
    });
    if (correcting && !(itemById(id) && itemById(id).querySelector("[data-sg-correct]"))) {
      correcting = false;
    }
    currentId = id;
    draw();
    var item = itemById(id);
    if (item && scroll) {
      item.scrollIntoView({ block: "nearest" });
      var box = layer.querySelector('.sg-box[data-sid="' + id + '"]');
      if (box) {
        box.scrollIntoView({ block: "center" });
      }
      var quote = item.querySelector(".sg-quote");
      say("Suggestion: " + (quote ? quote.textContent : ""), "");
    }
  }

  function step(direction) {
    var list = items();
    if (!list.length) {
      say("No suggestions here.", "error");
      return;
    }
    var at = list.findIndex(function (item) {
      return item.dataset.sid === currentId;
    });
    var next = at < 0 ? (direction > 0 ? 0 : list.length - 1) : at + direction;
    next = (next + list.length) % list.length;
    setCurrent(list[next].dataset.sid, true);
  }

  // The first open suggestion (for the caller) after `id` in text order, else the first open one.
  function nextOpenAfter(id, order) {
    var list = items();
    var open = function (item) {
      return !item.dataset.mine;
    };
    var at = order.indexOf(id);
    for (var k = at + 1; k < order.length; k++) {
      var later = itemById(order[k]);
      if (later && open(later)) {
        return later.dataset.sid;
      }
    }
    var first = list.find(open);
    return first ? first.dataset.sid : null;
  }

  var orderBefore = [];

  function decide(action) {
    var item = itemById(currentId);
    if (!item) {
      say("Choose a suggestion first (press s).", "error");
      return;
    }
    var button = item.querySelector('[data-sg-action="' + action + '"]');
    if (!button) {
      say(action === "accept" ? "You accepted this one already." : "You rejected this one already.", "error");
      return;
    }
    if (button.disabled) {
      say("This suggestion has no stance: press c, then 1, 2 or 3.", "error");
      return;
    }
    orderBefore = items().map(function (it) {
      return it.dataset.sid;
    });
    advanceFrom = currentId;
    button.click();
  }

  function startCorrecting() {
    var item = itemById(currentId);
    var details = item && item.querySelector("[data-sg-correct]");
    if (!details) {
      say(item ? "You accepted this one already." : "Choose a suggestion first (press s).", "error");
      return;
    }
    details.open = true;
    correcting = true;
    say("Correct the stance: 1 support, 2 oppose, 3 neutral (Esc cancels).", "");
  }

  function chooseStance(key) {
    var item = itemById(currentId);
    var button = item && item.querySelector('[data-sg-stance="' + key + '"]');
    if (!button) {
      return;
    }
    correcting = false;
    orderBefore = items().map(function (it) {
      return it.dataset.sid;
    });
    advanceFrom = currentId;
    button.click();
  }

  // Capture phase: these keys are ours before annotate.js sees them (it skips handled events).
  document.addEventListener(
    "keydown",
    function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
        return;
      }
      var target = event.target;
      if (target.closest && target.closest("input, textarea, select, [contenteditable], dialog")) {
        return;
      }
      var key = event.key;
      if (correcting && (key === "1" || key === "2" || key === "3")) {
        event.preventDefault();
        chooseStance(key);
      } else if (correcting && key === "Escape") {
        event.preventDefault();
        correcting = false;
        var open = itemById(currentId) && itemById(currentId).querySelector("[data-sg-correct]");
        if (open) {
          open.open = false;
        }
        setCurrent(currentId, false);
        say("", "");
      } else if (key === "s" || key === "S") {
        event.preventDefault();
        step(key === "s" ? 1 : -1);
      } else if (canAnnotate && (key === "y" || key === "n")) {
        event.preventDefault();
        decide(key === "y" ? "accept" : "reject");
      } else if (canAnnotate && key === "c" && currentId) {
        event.preventDefault();
        startCorrecting();
      }
    },
    true,
  );

  // A click on a suggestion in the list makes it the current one.
  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest("#sg-items .sg-item");
    if (item && !event.target.closest("button, summary, select, a")) {
      setCurrent(item.dataset.sid, false);
    }
  });

  // A refused decision: the server's reason, in the page's status line.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#suggestions");
    var xhr = event.detail.xhr;
    if (form && xhr && xhr.status >= 400) {
      advanceFrom = null;
      if (xhr.status === 400 && xhr.responseText) {
        say(xhr.responseText, "error");
      }
    }
  });

  // After any swap (the panel, the text, the list with its suggestions: an outerHTML swap
  // announces itself on the new element through htmx:load), once per frame.
  var queued = false;
  function refresh() {
    if (queued) {
      return;
    }
    queued = true;
    window.requestAnimationFrame(function () {
      queued = false;
      if (advanceFrom !== null && itemById(advanceFrom) && itemById(advanceFrom).dataset.mine) {
        var next = nextOpenAfter(advanceFrom, orderBefore);
        advanceFrom = null;
        setCurrent(next, Boolean(next));
      } else {
        setCurrent(itemById(currentId) ? currentId : null, false);
      }
    });
  }
  document.body.addEventListener("htmx:afterSwap", refresh);
  document.body.addEventListener("htmx:load", refresh);

  // The claim list refreshes itself after every write (claims-changed); it carries the panel's
  // filters along, so that the suggestions shown stay those asked for.
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (!/\/claim-list$/.test(event.detail.path.split("?")[0])) {
      return;
    }
    var model = document.getElementById("sg-model");
    var minimum = document.getElementById("sg-min");
    if (model && model.value) {
      event.detail.parameters.sg_model = model.value;
    }
    if (minimum && minimum.value) {
      event.detail.parameters.sg_min = minimum.value;
    }
  });

  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(draw, 100);
  });

  // For tests and the curious: the text a suggestion's boxes cover.
  window.SuggestionBoxes = Object.freeze({
    textOf: function (sid) {
      var item = itemById(String(sid));
      var range = item && rangeOf(segmentIndex(), +item.dataset.start, +item.dataset.end);
      return range ? range.toString() : null;
    },
  });

  draw();
  root.dataset.suggestionsReady = "1";
})();
