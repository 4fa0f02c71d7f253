// outreach web app: refresh live parts of a page without a reload. Plain JS, no dependencies, nothing
// loaded from elsewhere. A part is any element with an id inside a [data-poll] container; the server
// sends the same ids back and only the parts that changed are replaced, so a half-typed reply survives.
"use strict";

(function () {
  function announce(text) {
    var region = document.getElementById("announcer");
    if (region) { region.textContent = text; }
  }

  // The session ended while the page was open: sign in, then come back to this page (not to the part
  // of it that was being fetched).
  function signInAgain(body) {
    var target = new URL(body.sign_in, window.location.href);
    target.searchParams.set("next", window.location.pathname + window.location.search);
    window.location.assign(target.pathname + target.search);
  }

  function stickToBottom(root) {
    root.querySelectorAll(".screen").forEach(function (screen) { screen.scrollTop = screen.scrollHeight; });
  }

  function swapParts(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    var changed = 0;
    var added = 0;
    holder.content.querySelectorAll("[id]").forEach(function (fresh) {
      if (!document.getElementById(fresh.id)) { added += 1; }
    });
    holder.content.querySelectorAll("[id]").forEach(function (fresh) {
      var current = document.getElementById(fresh.id);
      if (current && current.innerHTML !== fresh.innerHTML) {
        var screen = current.closest(".screen");
        var atBottom = screen && screen.scrollHeight - screen.scrollTop - screen.clientHeight < 40;
        var focused = current.contains(document.activeElement) ? document.activeElement : null;
        var focusHref = focused && focused.getAttribute("href");
        current.replaceWith(fresh);
        if (atBottom) { screen.scrollTop = screen.scrollHeight; }
        if (focusHref) {  // a keyboard user keeps their place when the list refreshes under them
          var again = fresh.querySelector('[href="' + focusHref.replace(/"/g, '\\"') + '"]');
          if (again) { again.focus(); }
        }
        changed += 1;
      }
    });
    return { changed: changed, added: added };
  }

  function poll(container) {
    var url = container.getAttribute("data-poll");
    var every = parseInt(container.getAttribute("data-poll-every") || "4000", 10);
    var message = container.getAttribute("data-poll-announce") || "Updated.";
    // "new": speak only when something new arrived, not when a waiting time ticked over.
    var onlyNew = container.getAttribute("data-poll-announce-on") === "new";
    function tick() {
      if (document.hidden) { window.setTimeout(tick, every); return; }
      var target = url + (url.indexOf("?") < 0 ? "?" : "&") + window.location.search.replace(/^\?/, "");
      fetch(target, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) { return response.json().then(signInAgain); }
          if (!response.ok) { return null; }
          return response.text().then(function (html) {
            var swapped = swapParts(html);
            if (onlyNew ? swapped.added > 0 : swapped.changed > 0) { announce(message); }
          });
        })
        .catch(function () { /* offline for a moment: try again on the next tick */ })
        .finally(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  // A saved reply's preview in the patient's language, fetched when the person picks one.
  function preview(select) {
    var into = document.getElementById(select.getAttribute("data-preview-into"));
    function show() {
      if (!select.value) { into.innerHTML = ""; return; }
      var target = select.getAttribute("data-preview") + "?template=" + encodeURIComponent(select.value);
      fetch(target, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) { return response.json().then(signInAgain); }
          return response.text().then(function (html) { into.innerHTML = html; });
        })
        .catch(function () { into.textContent = "The preview could not load; the reply can still be sent."; });
    }
    select.addEventListener("change", show);
    if (select.value) { show(); }
  }

  // A form that shows only the fields of the chosen kind and text source, and asks the server for live
  // feedback (languages, segments, cost, placeholder problems) a moment after each change.
  function showChosen(form) {
    var kind = form.querySelector("[data-kind-select]");
    form.querySelectorAll("[data-for-kind]").forEach(function (el) {
      el.hidden = kind && el.getAttribute("data-for-kind") !== kind.value;
    });
    form.querySelectorAll("fieldset.step").forEach(function (step) {
      var chosen = step.querySelector('input[type="radio"]:checked');
      step.querySelectorAll("[data-for-source]").forEach(function (el) {
        el.hidden = chosen && el.getAttribute("data-for-source") !== chosen.value;
      });
    });
  }

  function liveFeedback(form) {
    var into = document.getElementById(form.getAttribute("data-feedback-into"));
    var timer = null;
    function markInvalid() {
      form.querySelectorAll("textarea[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
      into.querySelectorAll("[data-invalid-field]").forEach(function (row) {
        var field = form.querySelector('[name="' + row.getAttribute("data-invalid-field") + '"]');
        if (field) { field.setAttribute("aria-invalid", "true"); }
      });
    }
    function send() {
      fetch(form.getAttribute("data-feedback"), {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (response.status === 401) { return response.json().then(signInAgain); }
        if (!response.ok) { return null; }
        return response.text().then(function (html) { into.innerHTML = html; markInvalid(); });
      }).catch(function () { /* offline for a moment: the next change asks again */ });
    }
    function changed() {
      showChosen(form);
      window.clearTimeout(timer);
      timer = window.setTimeout(send, 300);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    showChosen(form);
    markInvalid();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-feedback]").forEach(liveFeedback);
    stickToBottom(document);
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("select[data-preview]").forEach(preview);
  });
})();
