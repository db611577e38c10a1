// Keyboard-first annotation (DESIGN 4.3). The page works without this file: every form is a
// plain POST; this adds shortcuts, the duration measurement and focus after an HTMX swap.
(function () {
  "use strict";

  var shownAt = Date.now();

  function task() { return document.getElementById("task"); }
  function form() { var t = task(); return t && t.querySelector("form.task-form"); }
  function criteria() { var f = form(); return f ? Array.prototype.slice.call(f.querySelectorAll("fieldset.criterion")) : []; }

  function focusedCriterion() {
    var el = document.activeElement;
    var fieldset = el && el.closest ? el.closest("fieldset.criterion") : null;
    if (fieldset) return fieldset;
    var all = criteria();
    for (var i = 0; i < all.length; i++) {
      if (!all[i].querySelector("input:checked")) return all[i];
    }
    return all[0] || null;
  }

  function focusInput(fieldset) {
    if (!fieldset) return;
    var input = fieldset.querySelector("input:checked") || fieldset.querySelector("input[type=radio]");
    if (input) input.focus();
  }

  function rate(digit) {
    var fieldset = focusedCriterion();
    if (!fieldset) return false;
    var input = fieldset.querySelector('input[type=radio][value="' + digit + '"]');
    if (!input) return false;
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    var all = criteria();
    var next = all[all.indexOf(fieldset) + 1];
    if (next) {
      focusInput(next);
    } else {
      var button = form().querySelector("[data-submit]");
      if (button) button.focus();
    }
    return true;
  }

  function choose(value) {
    var f = form();
    var input = f && f.querySelector('input[name=choice][value="' + value + '"]');
    if (!input) return false;
    input.checked = true;
    input.focus();
    return true;
  }

  function submit() {
    var f = form();
    if (!f) return false;
    var duration = f.querySelector("[data-duration]");
    if (duration) duration.value = String(Date.now() - shownAt);
    if (typeof f.requestSubmit === "function") f.requestSubmit(); else f.submit();
    return true;
  }

  function toggle(selector, open) {
    var t = task();
    var details = t && t.querySelector(selector);
    if (!details) return null;
    details.open = open === undefined ? !details.open : open;
    return details;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var target = event.target;
    var tag = target && target.tagName;
    var typing = tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox");
    if (typing) return;  // Enter in the skip form's fields submits that form natively
    var key = event.key;
    var handled = false;
    if (/^[0-9]$/.test(key)) {
      handled = rate(key);
    } else if (key === "a" || key === "A") {
      handled = choose("left");
    } else if (key === "b" || key === "B") {
      handled = choose("right");
    } else if (key === "t" || key === "T") {
      handled = choose("tie");
    } else if (key === "Enter") {
      var inTaskForm = target && target.closest && target.closest("form.task-form");
      var inert = tag === "BODY" || tag === "HTML";
      if (!inTaskForm && !inert) return;  // links, summaries, the skip form: native behaviour
      if (inTaskForm && tag === "SUMMARY") return;
      handled = submit();
    } else if (key === "s" || key === "S") {
      var details = toggle("[data-skip]", true);
      if (details) { var select = details.querySelector("select"); if (select) select.focus(); handled = true; }
    } else if (key === "?") {
      handled = toggle("[data-shortcuts]") !== null;
    }
    if (handled) event.preventDefault();
  });

  // Record the time on task for plain (mouse) submissions too.
  document.addEventListener("submit", function (event) {
    var duration = event.target.querySelector && event.target.querySelector("[data-duration]");
    if (duration && !duration.value) duration.value = String(Date.now() - shownAt);
  }, true);

  function ready() {
    shownAt = Date.now();
    var first = criteria()[0];
    if (first) { focusInput(first); return; }
    var f = form();
    var choice = f && f.querySelector("input[name=choice]");
    if (choice) choice.focus();
  }

  // A refused submission (400/403/404/409) comes back with the task and the reason: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var t = task();
    if (t && !t.querySelector("[data-error]")) ready();
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
