// Shared by every panel on the page: onnxruntime-web is loaded once, each model once.
const G = (window.__latentStudio ||= { ort: null, sessions: new Map(), runs: 0, frames: 0, lastDraw: 0, misses: 0 });

function runtime(browser) {
  if (typeof WebAssembly !== "object") return Promise.reject(new Error("this browser has no WebAssembly"));
  G.ort ||= import(new URL(browser.runtime, location.origin).href).then((ort) => {
    ort.env.wasm.wasmPaths = new URL(browser.wasm, location.origin).href;
    ort.env.wasm.numThreads = 1;  // threads need a cross-origin isolated page; one small image needs none
    ort.env.wasm.proxy = false;
    return ort;
  });
  return G.ort;
}

function model(browser) {
  if (!G.sessions.has(browser.model)) {
    const loading = runtime(browser).then(async (ort) => {
      const session = await ort.InferenceSession.create(new URL(browser.model, location.origin).href,
                                                        { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
      return { ort, session };
    });
    loading.catch(() => G.sessions.delete(browser.model));
    G.sessions.set(browser.model, loading);
  }
  return G.sessions.get(browser.model);
}

// The generator input for the sliders' values, as latent_studio.app.sampling builds it on the server:
// the server's vector, with each slider's effect written over it (a value set at an index, a
// one-hot block, or a multiple of a direction added to z).
function generatorInput(browser, values) {
  const x = Float64Array.from(browser.base);
  const added = new Float64Array(x.length);
  for (const [id, effect] of Object.entries(browser.effects)) {
    const v = values[id];
    if (effect.set !== undefined) x[effect.set] = v;
    else if (effect.onehot !== undefined) for (let k = 0; k < effect.size; k++) x[effect.onehot + k] = k === v ? 1 : 0;
    else if (effect.add) effect.add.forEach((d, j) => { added[j] += Math.fround(v * d); });
  }
  return Float32Array.from(x, (v, j) => v + Math.fround(added[j]));
}

// [-1, 1] -> 0..255 and whole-number enlargement, inside a 2-pixel white border: latent_studio.app.imaging.picture.
function draw(canvas, pixels, browser) {
  const { size, scale, channels } = browser;
  const side = size * scale + 4;
  if (canvas.width !== side) { canvas.width = side; canvas.height = side; }
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  image.data.fill(255);
  const plane = size * size;
  const byte = (v) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5)));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const r = byte(pixels[i]);
      const g = channels === 3 ? byte(pixels[plane + i]) : r;
      const b = channels === 3 ? byte(pixels[2 * plane + i]) : r;
      for (let dy = 0; dy < scale; dy++) {
        let o = ((2 + y * scale + dy) * side + 2 + x * scale) * 4;
        for (let dx = 0; dx < scale; dx++, o += 4) { image.data[o] = r; image.data[o + 1] = g; image.data[o + 2] = b; }
      }
    }
  }
  ctx.putImageData(image, 0, 0);
}

// Chromium's range thumb: 16 CSS pixels wide at any zoom (its default theme), so the track it slides
// along is the input's width less 16.
const THUMB_PX = 16;
const RAW = "onpointerrawupdate" in window;  // Chromium, on localhost or https; elsewhere sliders draw on input

// A number as [integer, power of ten], exactly as its shortest decimal string reads ("-2.5e-3" -> [-25n, -4]).
// Blink turns the pointer's ratio into a decimal this way; doubles would break its ties the other way.
const decimal = (x) => {
  const [m, e = "0"] = String(x).split("e");
  const [i, f = ""] = m.split(".");
  return [BigInt(i + f), Number(e) - f.length];
};
const scaled = ([n, e], to) => n * 10n ** BigInt(e - to);  // the same number as an integer times 10^to (to <= e)

// The value Chromium gives a range input dragged to clientX (SliderThumbElement::SetPositionFromPoint):
// the pointer floored to Blink's layout unit (1/64 of a device pixel), less half the thumb, over the
// track, clamped to [0, 1]; then min + ratio * (max - min) in exact decimals, snapped to the step and
// clamped by the browser itself, as it sanitizes the value of a detached range input with the same
// min, max and step. (The inputs here have no padding or border, so the track spans the whole box.)
function valueAt(input, clientX) {
  const unit = 64 * devicePixelRatio;
  const box = input.getBoundingClientRect();
  const thumb = THUMB_PX * unit, track = Math.round(box.width * unit) - thumb;
  if (!(track > 0)) return input.value;
  const at = Math.floor((clientX + scrollX) * unit) - Math.round((box.left + scrollX) * unit) - Math.trunc(thumb / 2);
  const ratio = decimal(Math.min(Math.max(at, 0), track) / track);
  const low = decimal(input.min), high = decimal(input.max);
  const e = Math.min(low[1], high[1]), power = ratio[1] + e, to = Math.min(low[1], power);
  const exact = scaled(low, to) + scaled([ratio[0] * (scaled(high, e) - scaled(low, e)), power], to);
  const probe = (G.probe ||= Object.assign(document.createElement("input"), { type: "range" }));
  Object.assign(probe, { min: input.min, max: input.max, step: input.step });
  probe.value = `${exact}e${to}`;
  return probe.value;
}

// What a slider's number shows: a name for each whole value (a class slider), else two decimals.
const shown = (s, v) => (s.names.length ? s.names[Math.round(Number(v))] ?? "" : Number(v).toFixed(2));

export default function ({ data, parentElement, setStateValue }) {
  const browser = data.browser;
  let root = parentElement.querySelector(".live");
  if (!root) {
    root = document.createElement("div");
    root.className = "live";
    root.innerHTML = '<div class="picture"><canvas role="img"></canvas><p class="status"></p></div><div class="panel"></div>';
    parentElement.appendChild(root);
  }
  const panel = root.querySelector(".panel");
  panel.timing = data.timing;  // THROTTLE_MS and SETTLE_MS, from live_sliders.py
  if (!panel.moved) {
    panel.moved = {};  // slider id -> value, for the sliders moved in this panel
    panel.send = () => { clearTimeout(panel.timer); panel.timer = null; panel.report({ ...panel.moved }); };
  }
  panel.report = (values) => setStateValue("values", values);  // the latest render's setter
  panel.fail = (reason) => setStateValue("failed", reason);
  panel.browser = browser && !root.failed ? browser : null;
  root.classList.toggle("in-browser", !!panel.browser);
  if (panel.browser) root.style.gridTemplateColumns = `${browser.layout[0]}fr ${browser.layout[1]}fr`;
  panel.style.gridTemplateColumns = `repeat(${data.columns}, minmax(0, 1fr))`;
  const canvas = root.querySelector("canvas");
  const status = root.querySelector(".status");
  const round = (v) => Number(v.toFixed(data.decimals));

  // Draws the image for the sliders' current values; while a frame is being computed, further
  // moves only mark it stale, so a fast drag never queues frames behind the pointer.
  panel.render = async () => {
    const b = panel.browser;
    if (!b) return;
    if (panel.busy) { panel.stale = true; return; }
    panel.busy = true;
    try {
      do {
        panel.stale = false;
        const values = Object.fromEntries(data.sliders.map((s) => [s.id, s.id in panel.moved ? panel.moved[s.id] : s.value]));
        const x = generatorInput(b, values);
        const { ort, session } = await model(b);
        G.runs += 1;
        const start = performance.now();
        const out = await session.run({ latent: new ort.Tensor("float32", x, [1, x.length]) });
        draw(canvas, out.image.data, b);
        const ms = performance.now() - start;
        G.frames += 1; G.lastDraw = performance.now();
        canvas.setAttribute("aria-label", "generated image");
        status.textContent = `browser · onnxruntime-web (wasm) · ${ms.toFixed(1)} ms per generation (1 image)`;
      } while (panel.stale);
    } catch (error) {
      root.failed = true;  // the server draws from now on (latent_studio.app.views.show.browser_model)
      root.classList.remove("in-browser");
      panel.fail(String(error && error.message || error).slice(0, 300));
    } finally {
      panel.busy = false;
    }
  };

  const ids = new Set(data.sliders.map((s) => s.id));
  for (const row of [...panel.children]) if (!ids.has(row.dataset.id)) row.remove();
  data.sliders.forEach((s, index) => {
    let row = panel.querySelector(`[data-id="${s.id}"]`);
    if (!row) {
      row = document.createElement("label");
      row.className = "row";
      row.dataset.id = s.id;
      row.innerHTML = '<span class="name"></span><output></output><input type="range">';
      const input = row.querySelector("input");
      // The slider's value in the panel, shown and drawn (the server hears on release) or, without
      // the browser path, reported within THROTTLE_MS; nothing happens when it is the value already taken.
      const take = (value) => {
        const v = round(Number(value));
        if (panel.moved[row.dataset.id] === v) return false;
        panel.moved[row.dataset.id] = v;
        row.querySelector("output").textContent = shown(row.slider, value);
        if (panel.browser) panel.render();
        else if (!panel.timer) panel.timer = setTimeout(panel.send, panel.timing.throttle_ms);
        return true;
      };
      input.addEventListener("pointerdown", () => { row.dragging = true; row.byPointer = true; });
      input.addEventListener("pointerup", () => {
        row.dragging = false;
        // A guess the browser never took (it kept its value, so no input event came): the browser's value stands.
        if (row.guess !== undefined) { row.guess = undefined; take(input.value); }
      });
      // Chromium moves the slider, and fires input, only at the next animation frame after the pointer
      // moved, and an image computed then misses that frame: start it as soon as the pointer moves. With
      // the pointer captured by the slider's thumb, these reach the input wherever the pointer is. A guess
      // of the value the slider already has is no move (unless it corrects a wrong guess). Three wrong
      // guesses (a browser whose thumb is not this one) and the page stops guessing.
      if (RAW) input.addEventListener("pointerrawupdate", (event) => {
        if (!row.dragging || !panel.browser || event.pointerType !== "mouse" || G.misses >= 3) return;
        const guess = valueAt(input, event.clientX);
        if (guess !== input.value || row.guess !== undefined) { row.guess = guess; take(guess); }
      });
      input.addEventListener("input", () => {
        const guess = row.guess;
        row.guess = undefined;
        if (take(input.value) && guess !== undefined) G.misses += 1;  // drawn again: the browser took another value
      });
      input.addEventListener("change", () => {
        row.dragging = false;
        const byPointer = row.byPointer;
        row.byPointer = false;
        // A key press changes the value and releases at once: with the image drawn here, wait for the
        // keys to rest, so holding an arrow key reruns the page once, not once per step.
        if (panel.browser && !byPointer) { clearTimeout(panel.timer); panel.timer = setTimeout(panel.send, panel.timing.settle_ms); }
        else panel.send();
      });
    }
    // Keep the order of data.sliders, moving a row only when it is out of place: moving the row
    // being dragged would end the drag.
    if (panel.children[index] !== row) panel.insertBefore(row, panel.children[index] || null);
    const input = row.querySelector("input");
    row.slider = s;
    row.querySelector(".name").textContent = s.label;
    input.setAttribute("aria-label", s.label);
    Object.assign(input, { min: s.low, max: s.high, step: s.step });
    if (!row.dragging) {  // never pull the thumb from under the pointer
      input.value = s.value;  // the browser snaps the thumb to the step; the number shows the value
      row.querySelector("output").textContent = shown(s, s.value);
    }
  });
  // A new state from the server (a release, another seed or code): draw it, once.
  const drawn = JSON.stringify([browser && browser.base, data.sliders.map((s) => s.value)]);
  if (panel.browser && root.drawn !== drawn) { root.drawn = drawn; panel.render(); }
}
