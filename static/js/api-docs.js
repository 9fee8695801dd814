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
  });
})();
