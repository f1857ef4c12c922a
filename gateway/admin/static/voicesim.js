// The phone simulator's voice mode: posts each press to /admin/flows/simulator/voice,
// writes the spoken screen out and plays its prompts one after the other.
// Without this script the same form posts and the page shows the words after a reload.
(function () {
  "use strict";
  var form = document.querySelector("form[data-voice-simulator]");
  if (!form) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var screen = form.querySelector("[data-voice-screen]");
  var state = form.querySelector("[data-voice-state]");
  var now = form.querySelector("[data-voice-now]");
  var keys = form.querySelector("[data-voice-keys]");
  var keypad = form.querySelector("[data-keypad]");
  var replayWrap = form.querySelector("[data-replay-wrap]");
  var PAUSE_MS = 400;
  var CHOICE_WAIT_MS = 1500;  // a choice goes after this long without a key, as on the line
  var player = new Audio();
  var queue = [];
  var last = [];
  var waits = "";
  var ended = true;
  var timer = null;
  var busy = false;

  function stop() {
    queue = [];
    player.pause();
    now.textContent = "";
  }

  function next() {
    if (!queue.length) { now.textContent = ""; return; }
    var prompt = queue.shift();
    if (prompt.pause) { window.setTimeout(next, PAUSE_MS); return; }
    now.textContent = "\u25B6 " + (prompt.text || prompt.file);
    if (!prompt.url) {
      // No recording of this prompt: its words are on the screen; go on after a moment.
      now.textContent += " (no audio)";
      window.setTimeout(next, PAUSE_MS * 2);
      return;
    }
    player.src = prompt.url;
    player.play().catch(function () { window.setTimeout(next, PAUSE_MS); });
  }
  player.addEventListener("ended", next);
  player.addEventListener("error", function () { window.setTimeout(next, PAUSE_MS); });

  function play(prompts) {
    stop();
    last = prompts || [];
    queue = last.slice();
    replayWrap.hidden = !last.length;
    next();
  }

  function send(action) {
    if (busy) { return; }
    busy = true;
    window.clearTimeout(timer);
    stop();
    var data = new FormData(form);
    data.set("action", action);
    if (action !== "press") { data.set("keys", ""); }
    fetch(form.getAttribute("action"), {
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
      waits = body.waits || "";
      if (action === "hangup") {
        state.textContent = "No call.";
      } else if (body.ended) {
        state.textContent = "Call ended: Call to start again.";
      } else {
        state.textContent = "On a call in " + (body.language_name || body.language) +
          ", waiting for " + (body.waiting_for || waits) + ".";
      }
      keys.value = "";
      play(body.prompts);
    }).catch(function (error) {
      state.textContent = "Refused: " + error.message;
    }).then(function () { busy = false; });
  }

  function press(key) {
    if (ended) { return; }
    stop();  // a key cuts the prompt short, as on the line
    window.clearTimeout(timer);
    keys.value += key;
    if (key === "#" || waits === "key" || waits === "go_on") { send("press"); return; }  // one key: taken at once
    if (waits !== "digits") { timer = window.setTimeout(function () { send("press"); }, CHOICE_WAIT_MS); }
  }

  keypad.hidden = false;
  keypad.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-key]");
    if (button) { press(button.getAttribute("data-key")); }
  });
  replayWrap.querySelector("[data-replay]").addEventListener("click", function () { play(last); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    var action = button && button.value ? button.value : "press";
    if ((action === "press" || action === "silence") && ended) { action = "dial"; }
    send(action);
  });
}());
