// The review page after a decision (templates/articles/_review_undo.html): the focus goes to
// the claim now under review, and the Undo button (key u, wired by review.js) goes away after
// a few seconds. Without this script the button stays until the next page; the server accepts
// an undo for a minute either way.
"use strict";

(function () {
  var bar = document.getElementById("undo-bar");
  var title = document.getElementById("claim-title");
  if (title && (bar || window.location.hash === "#claim-title")) {
    title.focus({ preventScroll: true });
  }
  if (!bar) {
    return;
  }
  var seconds = parseInt(bar.dataset.undoSeconds, 10) || 10;
  window.setTimeout(function () {
    var button = document.getElementById("undo-button");
    if (button && document.activeElement === button) {
      title && title.focus();
    }
    bar.hidden = true;
    if (button) {
      button.removeAttribute("data-key"); // u no longer undoes
    }
  }, seconds * 1000);
})();
