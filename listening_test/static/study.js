// Listening study page logic. Audio is fetched whole (fetch -> Blob URL) before Play is enabled;
// every play/pause/ended is reported to the server, which decides whether a clip was heard.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const page = document.body.dataset.page;
  const players = [];

  async function post(url, body, retries) {
    // Retries only network failures: the server treats repeated submissions idempotently.
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(url, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body),
        });
        let data = {};
        try { data = await r.json(); } catch (e) { /* non-JSON error page */ }
        return { ok: r.ok, status: r.status, data: data };
      } catch (err) {
        if (attempt >= (retries || 0)) return { ok: false, status: 0, data: { error: "network error, please retry" } };
        await new Promise((res) => setTimeout(res, 500 * (attempt + 1)));
      }
    }
  }

  function say(text) {
    const box = document.querySelector(".message");
    if (box) box.textContent = text || "";
  }

  function coverage(audio) {
    let sum = 0;
    for (let i = 0; i < audio.played.length; i++) sum += audio.played.end(i) - audio.played.start(i);
    return audio.duration > 0 ? Math.min(1.5, sum / audio.duration) : 0;
  }

  class Player {
    constructor(el, onChange) {
      this.el = el;
      this.token = el.dataset.token;
      this.button = el.querySelector(".play");
      this.status = el.querySelector(".status");
      this.label = el.dataset.side ? "Play " + el.dataset.side : "Play";
      this.verified = Number(el.dataset.played || 0) > 0;
      this.onChange = onChange;
      this.playPosted = Promise.resolve();
      this.audio = null;
      if (this.verified) this.status.textContent = "Played to the end";
      this.load();
    }
    async load() {
      try {
        const r = await fetch("/audio/" + this.token, { credentials: "same-origin" });
        if (!r.ok) throw new Error("HTTP " + r.status);
        this.audio = new Audio(URL.createObjectURL(await r.blob()));
        this.audio.preload = "auto";
        this.audio.addEventListener("ended", () => this.ended());
        this.audio.addEventListener("pause", () => {
          if (!this.audio.ended) this.report("pause");
          this.button.textContent = this.label;
        });
        this.button.textContent = this.label;
        this.button.disabled = false;
        this.button.addEventListener("click", () => this.toggle());
      } catch (err) {
        this.status.textContent = "Could not load the audio; please reload the page.";
      }
    }
    report(event, extra) {
      const body = Object.assign({ token: this.token, event: event,
        position_ms: Math.round(this.audio.currentTime * 1000) }, extra || {});
      return post("/api/playback", body, 3);
    }
    toggle() {
      if (!this.audio.paused) { this.audio.pause(); return; }
      players.forEach((p) => { if (p !== this && p.audio && !p.audio.paused) p.audio.pause(); });
      if (this.audio.ended) this.audio.currentTime = 0;
      const start = this.audio.currentTime;
      this.audio.play().then(() => {
        this.button.textContent = "Pause";
        this.status.textContent = "Playing\u2026";
        this.playPosted = post("/api/playback", { token: this.token, event: "play",
          position_ms: Math.round(start * 1000) }, 3);
      }).catch(() => { this.status.textContent = "Your browser blocked playback; press Play again."; });
    }
    async ended() {
      this.button.textContent = this.label;
      await this.playPosted;
      const r = await this.report("ended", { coverage: coverage(this.audio) });
      if (r.ok) {
        this.verified = true;
        this.status.textContent = "Played to the end";
      } else {
        this.status.textContent = r.data.error || "Playback could not be checked; please play it again.";
      }
      this.onChange();
    }
  }

  function setupPage() {
    const start = document.getElementById("start");
    const update = () => {
      const screens = Array.from(document.querySelectorAll("fieldset.screen"));
      screens.forEach((fs) => {
        const p = players.find((x) => x.el === fs.querySelector(".player"));
        fs.querySelectorAll("input").forEach((i) => { i.disabled = !(p && p.verified) || !!fs.dataset.answer; });
      });
      start.disabled = !(players[0].verified && screens.every((fs) => fs.dataset.answer));
    };
    document.querySelectorAll(".player").forEach((el) => players.push(new Player(el, update)));
    document.querySelectorAll("fieldset.screen").forEach((fs) => {
      fs.addEventListener("change", async (ev) => {
        const r = await post("/api/headphone", { trial: Number(fs.dataset.trial), answer: Number(ev.target.value) }, 3);
        if (r.ok) { fs.dataset.answer = ev.target.value; say(""); } else { ev.target.checked = false; say(r.data.error); }
        update();
      });
    });
    update();
  }

  function trialPage() {
    const form = document.getElementById("answer");
    const submit = form.querySelector("button[type=submit]");
    const complete = () => Array.from(form.querySelectorAll("fieldset")).every(
      (fs) => Array.from(fs.querySelectorAll(".scale")).concat(fs.classList.contains("preference") ? [fs] : [])
        .every((g) => g.querySelector("input:checked")));
    const update = () => {
      const heard = players.every((p) => p.verified);
      submit.disabled = !(heard && complete());
      if (!heard) say("Play A and B to the end to continue.");
      else if (!complete()) say("Choose a preference and give every rating.");
      else say("");
    };
    document.querySelectorAll(".player").forEach((el) => players.push(new Player(el, update)));
    form.addEventListener("change", update);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      const val = (name) => Number(form.querySelector('input[name="' + name + '"]:checked').value);
      const ratings = { A: {}, B: {} };
      form.querySelectorAll("fieldset.rating").forEach((fs) => {
        const q = fs.dataset.question;
        ratings.A[q] = val(q + "_A");
        ratings.B[q] = val(q + "_B");
      });
      const body = { trial: Number(form.dataset.trial),
        preference: form.querySelector('input[name="preference"]:checked').value, ratings: ratings };
      const r = await post("/api/answer", body, 5);
      if (r.ok) { window.location.assign(r.data.next); return; }
      say(r.data.error || "Could not save your answer; please try again.");
      submit.disabled = false;
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (page === "setup") setupPage();
    if (page === "trial") trialPage();
  });
})();
