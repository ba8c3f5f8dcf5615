// The Orphans box of the annotation page: "Use selection" fills an orphan's form with the
// passage selected in the text, as code-point offsets (window.Offsets, offsets.js) and its words.
// Without JavaScript the form still works: the server finds the typed words.
(function () {
  "use strict";
  var textEl = document.getElementById("article-text");
  var boxes = document.querySelectorAll(".orphan-place");
  if (!textEl || !boxes.length || !window.Offsets) {
    return;
  }
  var last = null; // {start, end, text} of the latest selection inside the article's text

  function pointOf(node, offset) {
    if (node.nodeType !== Node.TEXT_NODE) {
      return null;
    }
    var seg = node.parentElement && node.parentElement.closest("[data-s]");
    if (!seg || !textEl.contains(seg)) {
      return null;
    }
    return parseInt(seg.dataset.s, 10) + window.Offsets.fromUtf16(node.data, offset);
  }

  document.addEventListener("selectionchange", function () {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      return;
    }
    var range = selection.getRangeAt(0);
    var start = pointOf(range.startContainer, range.startOffset);
    var end = pointOf(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) {
      return;
    }
    last = { start: start, end: end, text: selection.toString() };
  });

  boxes.forEach(function (form) {
    var button = form.querySelector(".use-selection");
    var exact = form.querySelector("input[name=exact]");
    var start = form.querySelector("input[name=start]");
    var end = form.querySelector("input[name=end]");
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!last) {
        exact.focus();
        exact.placeholder = "Select the passage in the text first";
        return;
      }
      start.value = String(last.start);
      end.value = String(last.end);
      exact.value = last.text;
    });
    exact.addEventListener("input", function () {
      // Typed words are found by the server; offsets from an earlier selection no longer apply.
      start.value = "";
      end.value = "";
    });
  });
})();
