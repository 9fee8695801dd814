// Starts Swagger UI on /api/v2/docs and /api/v1/docs, inside the portal's page. It lives in a file, not in
// the page, so the page's Content-Security-Policy can forbid inline scripts.
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");

  // Swagger UI's BaseLayout puts the operations in a <main>, and the page already has the portal's (its
  // heading, the switch between the versions and this panel): two main landmarks, which assistive
  // technologies cannot tell apart. This layout is BaseLayout's (swagger-ui 5.35.0) with the operations in a
  // named region instead; while the document loads or when it fails, BaseLayout draws its own messages.
  function PortalLayoutPlugin(system) {
    const h = system.React.createElement;
    function PortalLayout(props) {
      const { specSelectors, getComponent } = props;
      if (specSelectors.loadingStatus() !== "success" || !specSelectors.specStr()) {
        return h(getComponent("BaseLayout", true));
      }
      const Row = getComponent("Row");
      const Col = getComponent("Col");
      const Errors = getComponent("errors", true);
      const VersionPragmaFilter = getComponent("VersionPragmaFilter");
      const servers = specSelectors.servers();
      const schemes = specSelectors.schemes();
      const hasServers = Boolean(servers && servers.size);
      const hasSchemes = Boolean(schemes && schemes.size);
      const hasSecurity = Boolean(specSelectors.securityDefinitions());
      const isOAS31 = specSelectors.isOAS31();
      const isOAS32 = typeof specSelectors.isOAS32 === "function" && specSelectors.isOAS32();
      const whole = (component) => h(Row, null, h(Col, { mobile: 12, desktop: 12 }, h(getComponent(component, true))));
      return h(
        "div",
        { className: "swagger-ui" },
        h(getComponent("SvgAssets")),
        h(
          VersionPragmaFilter,
          { isSwagger2: specSelectors.isSwagger2(), isOAS3: specSelectors.isOAS3(), isOAS31, isOAS32, alsoShow: h(Errors) },
          h(Errors),
          h(Row, { className: "information-container" }, h(Col, { mobile: 12 }, h(getComponent("InfoContainer", true)))),
          hasServers || hasSchemes || hasSecurity
            ? h(
                "div",
                { className: "scheme-container" },
                h(
                  Col,
                  { className: "schemes wrapper", mobile: 12 },
                  hasServers || hasSchemes
                    ? h(
                        "div",
                        { className: "schemes-server-container" },
                        hasServers ? h(getComponent("ServersContainer", true)) : null,
                        hasSchemes ? h(getComponent("SchemesContainer", true)) : null,
                      )
                    : null,
                  hasSecurity ? h(getComponent("AuthorizeBtnContainer", true)) : null,
                ),
              )
            : null,
          h(getComponent("FilterContainer", true)),
          h(
            "section",
            { id: "operations", tabIndex: "-1", "aria-label": "Operations" },
            whole("operations"),
            isOAS31 || isOAS32 ? whole("Webhooks") : null,
            whole("Models"),
          ),
        ),
      );
    }
    return { components: { PortalLayout } };
  }

  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [PortalLayoutPlugin],
    layout: "PortalLayout",
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
