// Team review pages: keyboard shortcuts on the review page, and the comment form's reset.
// No inline handlers (CSP): elements declare a key with data-key and this file wires it up.
//
//   data-key="a"  on a button: pressing a clicks it (accept the agreed stance)
//   data-key="r"  on a radio: pressing r checks it and moves to the note (reject with a reason)
//   data-key="1".."3" on stance radios: pressing the digit picks that gold stance and "accept"
//   data-key="n"  on a link: pressing n follows it (next claim in the queue)
"use strict";

(function () {
  function typing(target) {
    if (!target || !target.closest) {
      return false;
    }
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var key = event.key.toLowerCase();
    var element = document.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (!element) {
      return;
    }
    event.preventDefault();
    if (element.matches("input[type=radio]")) {
      element.checked = true;
      if (element.name === "stance") {
        var accept = document.querySelector('[data-key="accept"]');
        if (accept) {
          accept.checked = true;
        }
      }
      if (key === "r") {
        var note = document.getElementById("review-note");
        if (note) {
          note.focus();
        }
      } else {
        element.focus();
      }
      return;
    }
    element.click();
  });

  // Picking a gold stance with the mouse means accepting, unless a decision is chosen already.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches(".review-form input[name=stance]")) {
      return;
    }
    var form = field.form;
    if (form && !form.querySelector("input[name=decision]:checked")) {
      var accept = form.querySelector('[data-key="accept"]');
      if (accept) {
        accept.checked = true;
      }
    }
  });

  // A posted comment: empty the form that sent it (the thread itself is swapped by htmx).
  document.body.addEventListener("comment-posted", function () {
    document.querySelectorAll("form[data-comment-form]").forEach(function (form) {
      form.reset();
    });
  });
})();
