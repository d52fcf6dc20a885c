// updraft's pages inside Airflow's UI (an iframe sandboxed without allow-top-navigation):
// follow the UI's theme, open links to the UI in the UI itself (its router, through the
// parent's history: same origin), and start release_updates through the REST API with
// the user's own session cookie. No inline script anywhere: the CSP allows this file only.
(function () {
  "use strict";
  var parentDoc = null;
  try { if (window.parent !== window) parentDoc = window.parent.document; } catch (e) { parentDoc = null; }

  function theme() {
    var root = document.documentElement;
    if (!parentDoc) return;
    var cls = parentDoc.documentElement.classList;
    root.classList.toggle("dark", cls.contains("dark"));
    root.classList.toggle("light", cls.contains("light"));
  }
  theme();
  if (parentDoc) {
    new MutationObserver(theme).observe(parentDoc.documentElement, { attributes: true, attributeFilter: ["class", "style"] });
  }

  // A same-site path outside /updraft/ is a page of the UI: navigate the UI, not the frame.
  function openInUi(path) {
    if (!parentDoc) { window.location.assign(path); return; }
    window.parent.history.pushState({}, "", path);
    window.parent.dispatchEvent(new PopStateEvent("popstate", { state: {} }));
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
    var url = new URL(link.getAttribute("href"), window.location.href);
    if (url.origin !== window.location.origin || url.pathname.indexOf("/updraft/") === 0) return;
    event.preventDefault();
    openInUi(url.pathname + url.search + url.hash);
  });

  var start = document.getElementById("start-release");
  if (start) {
    start.addEventListener("click", function () {
      var result = document.getElementById("start-result");
      var dag = start.getAttribute("data-dag");
      start.disabled = true;
      result.textContent = "starting…";
      fetch("/api/v2/dags/" + encodeURIComponent(dag) + "/dagRuns", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ logical_date: null, conf: { release: start.getAttribute("data-release") } })
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          start.disabled = false;
          result.textContent = "not started (" + answer.status + "): " + (answer.body.detail || "");
          return;
        }
        result.textContent = "started " + answer.body.dag_run_id;
        openInUi("/dags/" + encodeURIComponent(dag) + "/runs/" + encodeURIComponent(answer.body.dag_run_id));
      }).catch(function (error) { start.disabled = false; result.textContent = "not started: " + error; });
    });
  }
})();
