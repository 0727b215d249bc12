// The API's documentation page: Swagger UI (vendored in static/vendor/swagger-ui) reading the app's own
// OpenAPI document. A file of its own, not an inline script, so the page keeps the app's CSP.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("api-docs");
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    tryItOutEnabled: false,
    supportedSubmitMethods: [],
  });
});
