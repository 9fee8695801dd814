// Small enhancements for every page. Each page works without them.
(function () {
  "use strict";

  // What the upload page's script left for the page it opened: said here, as a status.
  var UPLOADED_KEY = "portal:uploaded";
  var notice = document.querySelector("[data-upload-notice]");
  try {
    var left = JSON.parse(window.sessionStorage.getItem(UPLOADED_KEY) || "null");
    if (left && left.path === window.location.pathname && notice) {
      notice.querySelector("[data-upload-notice-text]").textContent = left.message;
      notice.classList.add("alert", "alert--success");
      notice.hidden = false;
      notice.setAttribute("data-takes-focus", "");
    }
    window.sessionStorage.removeItem(UPLOADED_KEY);
  } catch (ignored) {
    // no storage (a private window's quota, or cookies blocked): the page is as it was
  }

  // On a narrow screen the header's links fold behind a Menu button (the CSS folds them wherever scripts run).
  document.querySelectorAll("button[data-site-menu]").forEach(function (button) {
    var header = button.closest(".site-header");
    if (!header || !document.getElementById(button.getAttribute("aria-controls"))) {
      return;
    }
    function isOpen() {
      return button.getAttribute("aria-expanded") === "true";
    }
    function setOpen(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("is-open", open);
    }
    button.addEventListener("click", function () {
      setOpen(!isOpen());
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen() && header.contains(document.activeElement)) {
        setOpen(false);
        button.focus();
      }
    });
  });

  // A list that orders a listing ("Sort by") waits for Apply, so that arrow keys only choose (WCAG 3.2.2);
  // Enter on it applies the choice, as Enter in the search field does.
  document.querySelectorAll("select[data-enter-applies]").forEach(function (select) {
    select.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.altKey && !event.ctrlKey && !event.metaKey && select.form) {
        event.preventDefault();
        select.form.requestSubmit();
      }
    });
  });

  // A link to a confirmation page opens the same confirmation as a dialog instead.
  document.querySelectorAll("a[data-opens-dialog]").forEach(function (link) {
    var dialog = document.getElementById(link.dataset.opensDialog);
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    link.addEventListener("click", function (event) {
      event.preventDefault();
      dialog.showModal();
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close(); // a click on the backdrop
      }
    });
    dialog.addEventListener("close", function () {
      link.focus();
    });
  });

  document.querySelectorAll("[data-closes-dialog]").forEach(function (button) {
    button.addEventListener("click", function () {
      button.closest("dialog").close();
    });
  });

  // A Copy button beside a value shown once (a new share link); without JavaScript the value can be selected.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var label = button.querySelector("[data-copy-label]") || button;
    if (!source) {
      return;
    }
    function copied() {
      label.textContent = "Copied";
    }
    function copyBySelection() {
      // navigator.clipboard exists only on HTTPS or localhost; the portal is often reached over plain HTTP.
      source.select();
      if (document.execCommand("copy")) {
        copied();
      }
    }
    source.addEventListener("focus", function () {
      source.select();
    });
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(copied, copyBySelection);
      } else {
        copyBySelection();
      }
    });
  });

  // Browsers play MP4 and WebM, not every container the portal stores: say so instead of a broken player.
  document.querySelectorAll("video[data-player]").forEach(function (video) {
    var fallback = document.querySelector("[data-player-fallback]");
    video.addEventListener("error", function () {
      var error = video.error;
      if (fallback && error && error.code === error.MEDIA_ERR_SRC_NOT_SUPPORTED) {
        fallback.hidden = false;
      }
    });
  });

  // A video whose copy is being made: ask now and then (less often as time goes on, for at most an hour)
  // and put the player in once the copy is ready, or say that it could not be made.
  document.querySelectorAll("[data-player-pending][data-state-url]").forEach(function (pending) {
    var template = pending.querySelector("template[data-player-template]");
    var notice = pending.querySelector("[data-player-notice]");
    var failed = pending.querySelector("[data-player-failed]");
    if (!template || !notice || !failed) {
      return;
    }
    var delay = 2000;
    var giveUpAt = Date.now() + 60 * 60 * 1000;
    function ask() {
      fetch(pending.getAttribute("data-state-url"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (state) {
          if (state && state.ready) {
            pending.replaceWith(template.content.cloneNode(true));
            return;
          }
          if (state && state.processing === "failed") {
            notice.hidden = true;
            failed.hidden = false;
            return;
          }
          later();
        })
        .catch(later);
    }
    function later() {
      if (Date.now() < giveUpAt) {
        window.setTimeout(ask, delay);
        delay = Math.min(delay * 1.5, 15000);
      }
    }
    later();
  });

  // After a form, focus goes to what answers it (a message, the heading naming the results, a link
  // shown once), in view, instead of staying at the top of a page that says nothing of what happened. Last, so that
  // the handlers above (a shown-once link selects itself on focus) are in place.
  var answer = document.querySelector("[data-takes-focus]:not([hidden])");
  if (answer) {
    answer.focus({ preventScroll: true });
    answer.scrollIntoView({ block: "center" });
  }
})();
