// The Print button of printable pages (the cycle report): a file, not inline code, so the
// Content-Security-Policy (script-src 'self') lets it run. Any element with data-print prints the page.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
