/* Starts Swagger UI on /api/docs (web/api_docs.py): a file, since the CSP refuses inline script. */
/* global SwaggerUIBundle */
const root = document.getElementById("swagger-ui");
if (root && window.SwaggerUIBundle) {
  SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
}
