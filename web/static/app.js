// The menu on a phone: the header shows one row and a menu button that
// opens the navigation (and the workspace switcher and log out), and
// Escape closes it again. Without script the button stays hidden and the
// menu stays open, so every link is still there.
(function () {
  "use strict";
  var button = document.getElementById("menu-button");
  var menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) { return; }
  function show(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }
  show(false);
  button.hidden = false;
  document.documentElement.classList.add("has-menu-button");
  button.addEventListener("click", function () {
    show(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      show(false);
      button.focus();
    }
  });
})();

// Live sync progress on the connections page. Without it, "Sync now" still
// works: the page reloads and shows the latest run.
(function () {
  "use strict";
  document.querySelectorAll("[data-progress-url]").forEach(function (el) {
    if (!window.EventSource) { return; }
    var source = new EventSource(el.getAttribute("data-progress-url"));
    var bar = el.querySelector("progress");
    var text = el.querySelector("[data-progress-text]");
    source.addEventListener("progress", function (event) {
      var run = JSON.parse(event.data);
      if (bar && run.total) { bar.max = run.total; bar.value = run.read; }
      if (text) { text.textContent = run.text; }
      if (run.done) { source.close(); }
    });
    source.addEventListener("error", function () { source.close(); });
  });
})();

// A registration waiting for its vendor: when the vendor decides, the page
// says so and shows the decision (reason, protection) without a reload by
// hand. Without it the page is as fresh as its last load.
(function () {
  "use strict";
  document.querySelectorAll("[data-status-url]").forEach(function (el) {
    if (!window.EventSource) { return; }
    var source = new EventSource(el.getAttribute("data-status-url"));
    source.addEventListener("status", function (event) {
      var now = JSON.parse(event.data);
      source.close();
      el.textContent = now.text;
      window.location.reload();
    });
    source.addEventListener("error", function () { source.close(); });
  });
})();

// The time zone in Settings: a member who has none yet gets the browser's
// filled in, to look over and save. Without script the field stays empty
// and times are told in UTC until the member types one.
(function () {
  "use strict";
  document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
    if (input.value || !window.Intl || !Intl.DateTimeFormat) { return; }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) { input.value = zone; }
  });
})();
