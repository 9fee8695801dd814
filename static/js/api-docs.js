// Starts Swagger UI on /api/v1/docs and /api/v2/docs. It lives in a file, not in the page, so the page's
// Content-Security-Policy can forbid inline scripts.
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No calls to the public validator: the page works with no internet.
    validatorUrl: null,
    displayRequestDuration: true,
    // Signed in to the pages, "Try it out" works without "Authorize": the browser sends the
    // session cookie, and a change sent with it needs the page's CSRF token. A request that
    // carries a token (after "Authorize") needs none and is left as it is.
    requestInterceptor: function (request) {
      const csrf = root.dataset.csrfToken;
      const headers = request.headers || {};
      if (csrf && !headers.Authorization && !["GET", "HEAD", "OPTIONS"].includes((request.method || "GET").toUpperCase())) {
        headers["X-CSRFToken"] = csrf;
        request.headers = headers;
      }
      return request;
    },
  });

  // Swagger UI's outline skips a level (its title is an h1, each group of routes an h3) and leaves
  // the title and its description outside any landmark. The levels are told to assistive
  // technologies with aria-level, and the description is a named region; both are set again
  // whenever Swagger UI redraws (opening a route draws its headings anew).
  const LEVELS = [
    [".opblock-tag", "2"],
    [".models h4", "2"],
    [".opblock h4", "3"],
    [".opblock h5", "4"],
  ];
  function mendOutline() {
    LEVELS.forEach(function ([selector, level]) {
      root.querySelectorAll(selector).forEach(function (heading) {
        if (heading.getAttribute("aria-level") !== level) {
          heading.setAttribute("aria-level", level);
        }
      });
    });
    root.querySelectorAll(".information-container:not([role])").forEach(function (info) {
      info.setAttribute("role", "region");
      info.setAttribute("aria-label", "About this API");
    });
  }
  let pending = false;
  new MutationObserver(function () {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        mendOutline();
      });
    }
  }).observe(root, { childList: true, subtree: true });
})();
