// The account page: copy a new API token with one click. Without JavaScript the token is selectable text.
(function () {
  "use strict";

  function selectText(input) {
    input.focus();
    input.select();
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.dataset.copy);
    var label = button.querySelector("[data-copy-label]");
    if (!input) {
      return;
    }
    button.hidden = false;
    input.addEventListener("focus", function () {
      input.select();
    });
    button.addEventListener("click", function () {
      var done = function () {
        label.textContent = "Copied";
        window.setTimeout(function () {
          label.textContent = "Copy";
        }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          selectText(input);
          label.textContent = "Press Ctrl+C";
        });
      } else {
        // Plain http on another host: no clipboard API; select it, so that Ctrl+C (or the menu) copies it.
        selectText(input);
        label.textContent = document.execCommand && document.execCommand("copy") ? "Copied" : "Press Ctrl+C";
      }
    });
  });
})();
