// Live preview for the letter form (progressive enhancement: the "Preview" button works without this).
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form || !window.fetch) { return; }
  var box = document.getElementById("live-preview");
  var section = document.getElementById("preview-section");
  var token = form.querySelector("input[name=csrf_token]");
  var timer = null;
  var pending = null;

  function refresh() {
    var data = new URLSearchParams(new FormData(form));
    data.set("action", "preview");
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token ? token.value : "" },
      signal: pending.signal
    }).then(function (response) {
      if (!response.ok) { throw new Error("preview " + response.status); }
      return response.text();
    }).then(function (html) {
      // The server renders the Markdown safely (no raw HTML, sanitised) and escapes everything else.
      box.innerHTML = html;
      section.hidden = false;
    }).catch(function () { /* keep the last preview; the Preview button still works */ });
  }

  form.addEventListener("input", function (event) {
    var name = event.target && event.target.name;
    if (["body", "subject", "salutation", "sign_off", "title"].indexOf(name) === -1) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 600);
  });
})();
