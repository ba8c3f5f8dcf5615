// Phones and tablets (templates/articles/article.html): the open claim's panel becomes a sheet
// over the lower part of the screen, where the reader is, instead of a block far below the
// text. Opening moves the focus into the sheet and keeps the claim's passage visible above it;
// closing (its Close button or Esc, handled by annotate.js) returns the focus to what opened it.
"use strict";

(function () {
  var panel = document.getElementById("panel");
  var textEl = document.getElementById("article-text");
  if (!panel || !textEl || !window.matchMedia) {
    return;
  }
  var narrow = window.matchMedia("(width < 50rem)");
  var opener = null; // a selector for what was tapped to open the sheet (found again on close:
  // a save refreshes the text and the list, replacing their elements)

  function openClaimId() {
    var body = document.getElementById("panel-body");
    return body && body.dataset.claimId ? body.dataset.claimId : "";
  }

  // Scroll the page so that the claim's first highlighted line sits between the top bar and
  // the sheet.
  function revealPassage() {
    var seg = textEl.querySelector(".sel");
    if (!seg) {
      return;
    }
    var bar = document.querySelector(".topbar");
    var top = (bar ? bar.getBoundingClientRect().bottom : 0) + 12;
    var bottom = panel.getBoundingClientRect().top - 12;
    var box = seg.getBoundingClientRect();
    if (box.top < top || box.bottom > bottom) {
      window.scrollBy({ top: box.top - top - Math.max(0, (bottom - top - box.height) / 3) });
    }
  }

  function sync(moveFocus) {
    var wasSheet = panel.classList.contains("is-sheet");
    var sheet = narrow.matches && openClaimId() !== "";
    panel.classList.toggle("is-sheet", sheet);
    document.body.classList.toggle("sheet-open", sheet);
    if (sheet) {
      revealPassage();
      if (moveFocus) {
        var title = document.getElementById("panel-title");
        if (title && !panel.contains(document.activeElement)) {
          title.focus({ preventScroll: true });
        }
      }
    } else if (wasSheet) {
      var back = opener && document.querySelector(opener);
      opener = null;
      if (back) {
        if (!back.hasAttribute("tabindex") && back.matches("#article-text [data-s]")) {
          back.setAttribute("tabindex", "-1");
        }
        back.focus({ preventScroll: true });
      }
    }
  }

  // Remember what opened the sheet; a tapped passage cannot hold the focus, so it is made
  // focusable for the way back.
  document.addEventListener(
    "click",
    function (event) {
      if (panel.contains(event.target) || !narrow.matches) {
        return;
      }
      var seg = event.target.closest && event.target.closest("#article-text [data-c]");
      var link = event.target.closest && event.target.closest("#claim-list a[data-claim]");
      if (seg) {
        opener = '#article-text [data-s="' + seg.dataset.s + '"]';
      } else if (link) {
        opener = '#claim-list a[data-claim="' + link.dataset.claim + '"]';
      }
    },
    true
  );

  // A refreshed text keeps the focus on the passage that had it.
  var focusedStart = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    focusedStart =
      event.detail.target === textEl && active && textEl.contains(active) && active.dataset.s
        ? active.dataset.s
        : null;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === panel) {
      sync(true);
    } else if (event.detail.target === textEl) {
      if (panel.classList.contains("is-sheet")) {
        revealPassage();
      }
      var again = focusedStart && textEl.querySelector('[data-s="' + focusedStart + '"]');
      if (again) {
        again.setAttribute("tabindex", "-1");
        again.focus({ preventScroll: true });
      }
    }
  });

  // annotate.js closes a claim by putting the empty panel back in place (no htmx swap).
  new MutationObserver(function () {
    if (!openClaimId()) {
      sync(false);
    }
  }).observe(panel, { childList: true });

  narrow.addEventListener("change", function () {
    sync(false);
  });

  sync(false);
})();
