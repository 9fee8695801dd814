// Starts Swagger UI on /api/v1/docs. It lives in a file, not in the page, so the page's
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
})();
