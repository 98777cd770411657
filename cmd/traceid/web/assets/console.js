// The traceid console's only script: copying the summary and opening every
// line at once. It writes text (textContent, value), never markup.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var copy = document.getElementById("copy");
  var summary = document.getElementById("summary");
  var status = document.getElementById("copy-status");
  if (copy && summary) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = function () { status.textContent = "Copied."; };
      var fallback = function () {
        summary.focus();
        summary.select();
        status.textContent = document.execCommand("copy") ? "Copied." : "Select the text and copy it (Ctrl+C).";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(summary.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  }
  var all = document.querySelector(".expand-all");
  if (all) {
    all.hidden = false;
    all.addEventListener("click", function () {
      var lines = document.querySelectorAll("details.line");
      var open = all.textContent === "Expand all";
      for (var i = 0; i < lines.length; i++) { lines[i].open = open; }
      all.textContent = open ? "Collapse all" : "Expand all";
    });
  }
});
