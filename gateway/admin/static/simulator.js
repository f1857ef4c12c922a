// The phone simulator: posts each key to /admin/flows/simulator and shows the screen.
// Without this script the same form posts and the page shows the screen after a reload.
(function () {
  "use strict";
  var form = document.querySelector("form[data-simulator]");
  if (!form) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var screen = form.querySelector("[data-screen]");
  var state = form.querySelector("[data-state]");
  var input = form.querySelector("[data-input]");
  var ended = false;

  function send(action) {
    var data = new FormData(form);
    data.set("action", action);
    // Not form.action: the buttons named "action" shadow that property.
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: new URLSearchParams(data),
      headers: { "X-CSRF-Token": meta ? meta.content : "", "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.detail || ("error " + response.status)); }
        return body;
      });
    }).then(function (body) {
      screen.textContent = body.screen || "";
      ended = body.ended;
      if (action === "hangup") {
        state.textContent = "No session.";
      } else {
        state.textContent = body.ended ? "Session ended: Dial to start again."
          : "Session open in " + (body.language_name || body.language) +
            ", calling from " + body.calling_from + ".";
      }
      input.value = "";
      input.focus();
    }).catch(function (error) {
      state.textContent = "Refused: " + error.message;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    var action = button && button.value ? button.value : "send";
    if (action === "send" && ended) { action = "dial"; }
    send(action);
  });
}());
