// Keyboard-first annotation (DESIGN 4.3). The page works without this file: every form is a
// plain POST; this adds shortcuts, the duration measurement, focus after an HTMX swap and a
// draft of the ratings that survives a reload.
(function () {
  "use strict";

  var shownAt = Date.now();
  var DRAFT_PREFIX = "trenchcoat:draft:";

  function task() { return document.getElementById("task"); }
  function form() { var t = task(); return t && t.querySelector("form.task-form"); }
  function skipForm() { var t = task(); return t && t.querySelector("form[data-skip-form]"); }
  function criteria() { var f = form(); return f ? Array.prototype.slice.call(f.querySelectorAll("fieldset.criterion")) : []; }
  function reasons() { var f = skipForm(); return f ? Array.prototype.slice.call(f.querySelectorAll("input[name=reason]")) : []; }

  // The first focus on a task must not scroll: on a phone the criteria sit below the prompt
  // and the response, and focusing them scrolled the page past the prompt.
  function focusQuietly(el) { if (el) el.focus({ preventScroll: true }); }

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

  function firstInput(fieldset) {
    return fieldset && (fieldset.querySelector("input:checked") || fieldset.querySelector("input[type=radio]"));
  }

  function check(input) {
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function rate(digit) {
    var fieldset = focusedCriterion();
    if (!fieldset) return false;
    var input = fieldset.querySelector('input[type=radio][value="' + digit + '"]');
    if (!input) return false;
    check(input);
    var all = criteria();
    var next = all[all.indexOf(fieldset) + 1];
    var target = next ? firstInput(next) : form().querySelector("[data-submit]");
    if (target) target.focus();
    return true;
  }

  function choose(value) {
    var f = form();
    var input = f && f.querySelector('input[name=choice][value="' + value + '"]');
    if (!input) return false;
    check(input);
    input.focus();
    return true;
  }

  // Digits in the skip form pick a reason by its number, not a rating.
  function pickReason(digit) {
    var input = reasons()[Number(digit) - 1];
    if (!input) return false;
    input.checked = true;
    input.focus();
    return true;
  }

  function send(f) {
    if (typeof f.requestSubmit === "function") f.requestSubmit(); else f.submit();
    return true;
  }

  function submit() {
    var f = form();
    if (!f) return false;
    var duration = f.querySelector("[data-duration]");
    if (duration) duration.value = String(Date.now() - shownAt);
    return send(f);
  }

  function openSkip() {
    var t = task();
    var details = t && t.querySelector("[data-skip]");
    if (!details) return false;
    details.open = true;
    var all = reasons();
    var checked = all.filter(function (input) { return input.checked; })[0];
    var target = checked || all[0];
    if (target) target.focus();
    return true;
  }

  function toggle(selector) {
    var t = task();
    var details = t && t.querySelector(selector);
    if (!details) return false;
    details.open = !details.open;
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var target = event.target;
    var tag = target && target.tagName;
    var typing = tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox");
    if (typing) return;  // Enter in the skip note submits that form natively
    var inSkip = !!(target && target.closest && target.closest("[data-skip]"));
    var key = event.key;
    var handled = false;
    if (/^[0-9]$/.test(key)) {
      handled = inSkip ? pickReason(key) : rate(key);
    } else if (key === "a" || key === "A") {
      handled = choose("left");
    } else if (key === "b" || key === "B") {
      handled = choose("right");
    } else if (key === "t" || key === "T") {
      handled = choose("tie");
    } else if (key === "Enter") {
      if (tag === "SUMMARY" || tag === "BUTTON" || tag === "A") return;  // native behaviour
      if (inSkip) {
        var skip = skipForm();
        handled = skip ? send(skip) : false;
      } else {
        var inTaskForm = target && target.closest && target.closest("form.task-form");
        var inert = tag === "BODY" || tag === "HTML";
        if (!inTaskForm && !inert) return;
        handled = submit();
      }
    } else if (key === "s" || key === "S") {
      handled = openSkip();
    } else if (key === "?") {
      handled = toggle("[data-shortcuts]");
    }
    if (handled) event.preventDefault();
  });

  // Record the time on task for plain (mouse) submissions too.
  document.addEventListener("submit", function (event) {
    var duration = event.target.querySelector && event.target.querySelector("[data-duration]");
    if (duration && !duration.value) duration.value = String(Date.now() - shownAt);
  }, true);

  // --- Draft: what was entered on this lease, kept in the tab's sessionStorage so that a
  // reload (which returns the same lease) restores it. A page showing another lease, or
  // none, means this one was submitted, skipped or expired: its draft goes.

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }  // blocked storage
  }

  function draftKey() {
    var t = task();
    return t && t.dataset.lease ? DRAFT_PREFIX + t.dataset.lease : null;
  }

  function saveDraft() {
    var f = form(), key = draftKey(), store = storage();
    if (!f || !key || !store) return;
    var draft = { shownAt: shownAt, radios: {}, flags: [], comment: "" };
    f.querySelectorAll("input[type=radio]:checked").forEach(function (input) { draft.radios[input.name] = input.value; });
    f.querySelectorAll("input[name=flags]:checked").forEach(function (input) { draft.flags.push(input.value); });
    var comment = f.querySelector("textarea[name=comment]");
    if (comment) draft.comment = comment.value;
    try { store.setItem(key, JSON.stringify(draft)); } catch (e) { /* storage full: no draft */ }
  }

  function restoreDraft() {
    var f = form(), key = draftKey(), store = storage();
    if (!f || !key || !store) return;
    var draft;
    try { draft = JSON.parse(store.getItem(key) || "null"); } catch (e) { draft = null; }
    if (!draft) return;
    f.querySelectorAll("input[type=radio]").forEach(function (input) {
      if (draft.radios && draft.radios[input.name] === input.value) input.checked = true;
    });
    f.querySelectorAll("input[name=flags]").forEach(function (input) {
      input.checked = (draft.flags || []).indexOf(input.value) !== -1;
    });
    var comment = f.querySelector("textarea[name=comment]");
    if (comment && draft.comment) comment.value = draft.comment;
    if (typeof draft.shownAt === "number" && draft.shownAt <= Date.now()) shownAt = draft.shownAt;
  }

  function forgetOtherDrafts() {
    var store = storage(), keep = draftKey();
    if (!store) return;
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(DRAFT_PREFIX) === 0 && key !== keep) store.removeItem(key);
    }
  }

  function remember(event) {
    if (event.target.closest && event.target.closest("form.task-form")) saveDraft();
  }
  document.addEventListener("change", remember);
  document.addEventListener("input", remember);

  function ready() {
    shownAt = Date.now();
    forgetOtherDrafts();
    restoreDraft();
    var first = criteria()[0];
    if (first) {
      // The first criterion still to rate, so a restored draft continues where it stopped.
      var open = criteria().filter(function (c) { return !c.querySelector("input:checked"); })[0];
      focusQuietly(firstInput(open || first));
      return;
    }
    var f = form();
    focusQuietly(f && (f.querySelector("input[name=choice]:checked") || f.querySelector("input[name=choice]")));
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
