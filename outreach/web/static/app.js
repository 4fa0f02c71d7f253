// outreach web app: refresh live parts of a page without a reload. Plain JS, no dependencies, nothing
// loaded from elsewhere. A part is any element with an id inside a [data-poll] container; the server
// sends the same ids back and only the parts that changed are replaced, so a half-typed reply survives.
"use strict";

(function () {
  function announce(text) {
    var region = document.getElementById("announcer");
    if (region) { region.textContent = text; }
  }

  function stickToBottom(root) {
    root.querySelectorAll(".screen").forEach(function (screen) { screen.scrollTop = screen.scrollHeight; });
  }

  function swapParts(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    var changed = 0;
    holder.content.querySelectorAll("[id]").forEach(function (fresh) {
      var current = document.getElementById(fresh.id);
      if (current && current.innerHTML !== fresh.innerHTML) {
        var screen = current.closest(".screen");
        var atBottom = screen && screen.scrollHeight - screen.scrollTop - screen.clientHeight < 40;
        current.replaceWith(fresh);
        if (atBottom) { screen.scrollTop = screen.scrollHeight; }
        changed += 1;
      }
    });
    return changed;
  }

  function poll(container) {
    var url = container.getAttribute("data-poll");
    var every = parseInt(container.getAttribute("data-poll-every") || "4000", 10);
    var message = container.getAttribute("data-poll-announce") || "Updated.";
    function tick() {
      if (document.hidden) { window.setTimeout(tick, every); return; }
      var target = url + (url.indexOf("?") < 0 ? "?" : "&") + window.location.search.replace(/^\?/, "");
      fetch(target, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) {
            return response.json().then(function (body) { window.location.assign(body.sign_in); });
          }
          if (!response.ok) { return null; }
          return response.text().then(function (html) {
            if (swapParts(html) > 0) { announce(message); }
          });
        })
        .catch(function () { /* offline for a moment: try again on the next tick */ })
        .finally(function () { window.setTimeout(tick, every); });
    }
    window.setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    stickToBottom(document);
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
