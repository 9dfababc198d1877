// hushtype settings: small progressive enhancements. Every form also works without this file.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function post(url, body, asJson) {
    const headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    let payload = body;
    if (asJson) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    const response = await fetch(url, { method: "POST", headers, body: payload, credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: "unexpected answer (" + response.status + ")" }; }
    return { ok: response.ok, status: response.status, data };
  }

  function text(el, value) { if (el) el.textContent = value == null ? "" : String(value); }

  // Forms that need a confirmation (remove command, delete model).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // "Try it": run without leaving the page.
  const tryForm = document.getElementById("try-form");
  if (tryForm) {
    tryForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = document.getElementById("try-run");
      const out = document.getElementById("try-result");
      button.disabled = true;
      out.innerHTML = "";
      const running = document.createElement("p");
      running.className = "help";
      running.textContent = "Running…";
      out.appendChild(running);
      const form = new FormData(tryForm);
      const result = await post("/try", { command: form.get("command"), text: form.get("text") }, true);
      out.innerHTML = "";
      const d = result.data;
      if (d.output) {
        const pre = document.createElement("pre");
        pre.className = "text"; pre.id = "try-output"; pre.textContent = d.output;
        out.appendChild(pre);
      }
      if (d.error) {
        const p = document.createElement("p"); p.className = "alert"; p.textContent = d.error; out.appendChild(p);
      }
      if (d.model) {
        const p = document.createElement("p"); p.className = "help";
        p.textContent = d.model + (d.seconds ? " · " + d.seconds + " s" : ""); out.appendChild(p);
      }
      button.disabled = false;
    });
  }

  // Background tasks (pull, import): start with fetch, then follow the progress.
  function followJob(box, id) {
    const status = box.querySelector(".job-status");
    const bar = box.querySelector("progress");
    const err = box.querySelector(".job-error");
    async function tick() {
      let response;
      try { response = await fetch("/jobs/" + id, { headers: { "Accept": "application/json" } }); }
      catch (e) { setTimeout(tick, 1000); return; }
      if (!response.ok) { text(status, "finished"); return; }
      const job = await response.json();
      let line = job.status || "";
      if (job.total && job.completed != null) line += " (" + Math.round(job.completed / 1048576) + " / " + Math.round(job.total / 1048576) + " MB)";
      text(status, line);
      if (job.percent != null) { bar.value = job.percent; bar.textContent = job.percent + "%"; }
      if (job.error) { err.hidden = false; text(err, job.error); }
      if (!job.done) { setTimeout(tick, 500); }
      else if (job.status === "done") { text(status, "done — reloading the list…"); setTimeout(function () { window.location.assign("/models"); }, 800); }
    }
    tick();
  }

  function jobBox(id, label) {
    const box = document.createElement("div");
    box.className = "job card"; box.dataset.job = id;
    box.innerHTML = '<p><strong></strong> — <span class="job-status">starting</span></p>' +
      '<progress max="100" value="0"></progress><p class="job-error alert" hidden></p>';
    text(box.querySelector("strong"), label);
    box.querySelector("progress").setAttribute("aria-label", label);
    document.getElementById("jobs").appendChild(box);
    return box;
  }

  document.querySelectorAll("[data-job]").forEach(function (box) { followJob(box, box.dataset.job); });
  document.querySelectorAll("form.job-form").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const errorBox = form.querySelector(".form-error");
      errorBox.hidden = true;
      const result = await post(form.action, new FormData(form), false);
      if (!result.ok) { errorBox.hidden = false; text(errorBox, result.data.error || "failed"); return; }
      followJob(jobBox(result.data.id, result.data.label), result.data.id);
    });
  });

  // Microphone test: level meter while recording, then the transcript.
  const testForm = document.getElementById("voice-test-form");
  if (testForm) {
    const fill = document.getElementById("meter-fill");
    const peak = document.getElementById("meter-peak");
    const status = document.getElementById("voice-test-status");
    const transcript = document.getElementById("voice-test-transcript");
    const button = document.getElementById("voice-test-run");
    testForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const form = new FormData(testForm);
      const device = document.getElementById("device");
      if (device) form.set("device", device.value);
      button.disabled = true; transcript.hidden = true; text(status, "Starting…");
      const started = await post("/voice/test", form, false);
      if (!started.ok) { text(status, started.data.error || "failed"); button.disabled = false; return; }
      const id = started.data.id;
      async function tick() {
        const response = await fetch("/jobs/" + id, { headers: { "Accept": "application/json" } });
        const job = await response.json();
        fill.style.width = (job.level || 0) + "%";
        peak.style.left = (job.peak || 0) + "%";
        if (job.status === "recording") text(status, "Recording… " + (job.elapsed || 0).toFixed(1) + " s — speak now");
        else if (job.status === "transcribing") text(status, "Transcribing…");
        if (!job.done) { setTimeout(tick, 100); return; }
        fill.style.width = "0";
        button.disabled = false;
        if (job.error) { text(status, "Failed: " + job.error); return; }
        text(status, job.quiet ? "Done — the level was very low: check the microphone." : "Done. What Whisper heard:");
        transcript.hidden = false; text(transcript, job.transcript || "(nothing)");
      }
      tick();
    });
  }
})();
