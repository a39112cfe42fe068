/* The A/B comparison form: several shows per arm travel as one comma-separated parameter
 * (a=1,2), like the API. */

const form = document.getElementById("experiment-form");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const pick = (id) => [...document.getElementById(id).selectedOptions].map((o) => o.value).join(",");
  const params = new URLSearchParams({ a: pick("arm-a"), b: pick("arm-b"), metric: form.metric.value });
  location.search = params.toString();
});
