// Progressive enhancement only: every task works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Print buttons are hidden without JavaScript (Ctrl+P still works there).
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
    // An error summary gets focus, so screen readers read it first.
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
  // htmx requests carry the session's CSRF token as a header too.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.getAttribute("data-csrf");
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
})();
