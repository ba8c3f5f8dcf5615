// Shared behaviour for every page. Inline handlers are forbidden by the CSP, so pages declare
// behaviour with data attributes and this file wires them up (also inside htmx-swapped content,
// since every listener is delegated from the document).
//
//   <form data-confirm="Delete this article?">   asks before submitting (plain or htmx forms)
//   <button data-confirm="...">, <a data-confirm="...">   asks before the click goes through
//   <button data-dismiss>                          removes its closest .message / [data-dismissable]
//   <select data-autosubmit>, <input data-autosubmit>   submits its form on change
//   <button data-copy="text">                      copies the text to the clipboard
//   <details data-close-on-escape>                 closes on Escape
//   <input type="file" data-max-bytes="N">         refuses files over N bytes in total
//   <a href="#some-details">                       opens that <details> when followed
//   <input type="checkbox" data-check-all="NAME">   ticks or clears every checkbox NAME of its
//                                                   form; shows "some" as indeterminate; an
//   <span data-checked-count="NAME">               in the form says how many are ticked: " (3)"
"use strict";

(function () {
  function confirmed(element) {
    var question = element.getAttribute("data-confirm");
    return !question || window.confirm(question);
  }

  function stop(event) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  // Capture phase: runs before htmx's own listeners on the element, so a "Cancel" stops both.
  document.addEventListener(
    "click",
    function (event) {
      var target = event.target.closest("a[data-confirm], button[data-confirm], input[data-confirm]");
      if (target && !confirmed(target)) {
        stop(event);
        return;
      }
      // A submit button's question is asked on click; mark the form so it is not asked twice.
      if (target && target.form) {
        target.form.dataset.confirmedBy = "button";
      }
    },
    true
  );

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) {
        return;
      }
      if (form.dataset.confirmedBy === "button") {
        delete form.dataset.confirmedBy;
        return;
      }
      if (!confirmed(form)) {
        stop(event);
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var box = dismiss.closest(".message, .alert, [data-dismissable]");
      if (box) {
        box.remove();
      }
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
        var previous = copy.textContent;
        copy.textContent = "Copied";
        window.setTimeout(function () {
          copy.textContent = previous;
        }, 1500);
      });
    }
  });

  // <input type="file" data-max-bytes="N">: refuse too-large files before they are sent.
  function checkFileSize(input) {
    var limit = Number(input.getAttribute("data-max-bytes"));
    var total = 0;
    Array.prototype.forEach.call(input.files || [], function (file) {
      total += file.size;
    });
    input.setCustomValidity(
      limit && total > limit
        ? "These files add up to " + total.toLocaleString() + " bytes; the limit is " +
            limit.toLocaleString() + " bytes. Import them in smaller groups."
        : ""
    );
    input.reportValidity();
  }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("input[type=file][data-max-bytes]")) {
      checkFileSize(field);
    }
    if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.requestSubmit();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details[data-close-on-escape][open]").forEach(function (details) {
      details.open = false;
    });
  });

  // A link to a closed <details> ("#import") opens it.
  function openTargetDetails() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") {
      target.open = true;
    }
  }
  window.addEventListener("hashchange", openTargetDetails);
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (link) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target && target.tagName === "DETAILS") {
        target.open = true;
      }
    }
  });
  openTargetDetails();

  // htmx: a failed request gets a visible, readable message instead of silently doing nothing.
  function showMessage(text, level) {
    var list = document.querySelector("ul.messages");
    if (!list) {
      list = document.createElement("ul");
      list.className = "messages";
      list.setAttribute("role", "status");
      var main = document.getElementById("main");
      main.parentNode.insertBefore(list, main);
    }
    var item = document.createElement("li");
    item.className = "message " + (level || "error");
    var span = document.createElement("span");
    span.className = "message-text";
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss this message");
    close.textContent = "×";
    item.append(span, close);
    list.append(item);
  }
  window.appShowMessage = showMessage;

  // Pages that show their own error states mark the requesting element with data-own-errors.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.target.closest && event.target.closest("[data-own-errors]")) {
      return;
    }
    var xhr = event.detail.xhr;
    var detail = "";
    try {
      detail = JSON.parse(xhr.responseText).detail || "";
    } catch (error) {
      detail = "";
    }
    var reasons = {
      403: "You do not have the right to do this in this corpus.",
      404: "This no longer exists, or you are not a member of its corpus.",
      409: "This exists already.",
      412: "Someone else changed this meanwhile. Reload the page and apply your change again.",
      413: "That is too large.",
    };
    showMessage(
      detail || reasons[xhr.status] || "The server could not do this (error " + xhr.status + ").",
      "error"
    );
  });

  document.addEventListener("htmx:sendError", function () {
    showMessage("The server could not be reached. Check your connection and try again.", "error");
  });
  // --- "Select all" over the checkboxes of one name in a form -------------------------------

  function boxesOf(form, name) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.type === "checkbox" && field.name === name;
    });
  }

  function syncChecks(form, name) {
    var boxes = boxesOf(form, name);
    var ticked = boxes.filter(function (box) {
      return box.checked;
    }).length;
    form.querySelectorAll('[data-check-all="' + name + '"]').forEach(function (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    });
    form.querySelectorAll('[data-checked-count="' + name + '"]').forEach(function (out) {
      out.textContent = ticked ? " (" + ticked + ")" : " (none yet)";
    });
  }

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field.form || field.type !== "checkbox") {
      return;
    }
    var name = field.getAttribute("data-check-all");
    if (name) {
      boxesOf(field.form, name).forEach(function (box) {
        box.checked = field.checked;
      });
    } else {
      name = field.name;
    }
    syncChecks(field.form, name);
  });

  function syncAllChecks(root) {
    root.querySelectorAll("[data-check-all]").forEach(function (all) {
      if (all.form) {
        syncChecks(all.form, all.getAttribute("data-check-all"));
      }
    });
  }
  syncAllChecks(document);
  document.addEventListener("htmx:afterSettle", function (event) {
    syncAllChecks(event.target);
  });
})();
