export default function ({ data, parentElement, setStateValue }) {
  let root = parentElement.querySelector(".pad");
  if (!root) {
    root = document.createElement("div");
    root.className = "pad";
    root.innerHTML = '<canvas aria-label="Drawing pad" role="img"></canvas>' +
      '<div class="buttons"><button type="button" class="use">Use this drawing</button>' +
      '<button type="button" class="clear">Clear</button></div>';
    parentElement.appendChild(root);
    const canvas = root.querySelector("canvas");
    canvas.width = canvas.height = data.size;
    const ctx = canvas.getContext("2d");
    const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, data.size, data.size); };
    clear();
    ctx.strokeStyle = "#fff"; ctx.lineWidth = data.brush; ctx.lineCap = "round"; ctx.lineJoin = "round";
    let last = null;
    const at = (e) => { const r = canvas.getBoundingClientRect();
                        return [(e.clientX - r.left) * data.size / r.width, (e.clientY - r.top) * data.size / r.height]; };
    canvas.addEventListener("pointerdown", (e) => { canvas.setPointerCapture(e.pointerId); last = at(e);
                                                     ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...last); ctx.stroke(); });
    canvas.addEventListener("pointermove", (e) => { if (!last) return; const p = at(e);
                                                     ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke(); last = p; });
    const end = () => { last = null; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    root.querySelector(".clear").addEventListener("click", clear);
    root.querySelector(".use").addEventListener("click", () => root.send(canvas.toDataURL("image/png")));
  }
  root.send = (url) => setStateValue("drawing", url);  // the latest render's setter
}
