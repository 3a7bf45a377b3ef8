"""How fast the explorer answers a slider move, on this machine: `python -m latent_studio.app.tools.slider_bench`.

Prints numbers, not a pass or fail. For each model, a slider move is timed the way the Sliders
view handles it (new latent state -> generator input -> image -> PNG), and the generator's part on
its own; then whole AppTest reruns of the page after a slider move. Models: the shipped runs
(checkpoints/, or LATENT_STUDIO_RUNS) and a 64x64 face-sized DCGAN of the default architecture,
untrained unless a trained 64x64 run is shipped. Set LATENT_STUDIO_CPU_THREADS to compare thread
counts (see latent_studio.app.models).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from latent_studio.app import models, session
from latent_studio.app.imaging import picture
from latent_studio.app.runs import scan, shipped_folder
from latent_studio.app.sampling import LatentState, build
from latent_studio.app.views import codes, sliders
from latent_studio.families import get_family
from latent_studio.families.device import best_device
from latent_studio.families.run_models import LoadedRun
from latent_studio.training.bench import percentile, time_ms
from latent_studio.training.trainer import new_config

PAGE = Path(__file__).resolve().parent.parent / "page.py"


def percentiles(times_ms: list[float]) -> tuple[float, float]:
    """(p50, p95) of a list of timings."""
    return statistics.median(times_ms), percentile(times_ms, 0.95)


def face_dcgan() -> LoadedRun:
    """An untrained DCGAN of the default architecture at 64x64 RGB (the CelebA model's shape)."""
    cfg = new_config("dcgan", "fake", 1, overrides=[{"data": {"image_size": 64, "channels": 3}}])
    family = get_family("dcgan")(cfg)
    device = best_device()
    modules = torch.nn.ModuleDict({"generator": family.build()["generator"]}).to(device).eval()
    return models.prepare(LoadedRun(Path("untrained-dcgan-64"), cfg, family, modules, device))


def bench_model(run: LoadedRun, repeats: int) -> dict[str, float]:
    """p50/p95 of a slider move (state to PNG) and of the generator call alone, in ms."""
    spec = run.config.latent

    moves = itertools.count()

    def slider_move() -> bytes:
        i = next(moves)
        state = LatentState(seed=0).with_z(i % spec.dim, (i % 61) / 10 - 3)  # a new value every time
        return picture(models.generate(run, build(spec, state).generator_input()).images)

    inputs = build(spec, LatentState()).generator_input()
    move = percentiles(time_ms(slider_move, repeats, warmup=5))
    gen = percentiles(time_ms(lambda: models.generate(run, inputs), repeats, warmup=5))
    return {"move_p50": move[0], "move_p95": move[1], "gen_p50": gen[0], "gen_p95": gen[1]}


def bench_rerun(model: str, view: str, panel: str, repeats: int) -> tuple[float, float]:
    """p50/p95 of a whole AppTest rerun after the first slider of the live panel `panel` moved
    (the report the browser sends while a slider is dragged), with `view` open."""
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.query_params.update(model=model, view=view)
    at.run()
    key = f"{panel}@{at.session_state[session.REVISION]}"

    moves = itertools.count()

    def move() -> None:
        at.session_state[key] = {"values": {"0": round(-2 + 0.4 * (next(moves) % 10), 2)}}
        at.run()
        assert not at.exception, at.exception

    return percentiles(time_ms(move, repeats, warmup=3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200, help="slider moves per model")
    parser.add_argument("--reruns", type=int, default=30, help="AppTest reruns per view")
    args = parser.parse_args()

    entries = [e for e in scan([shipped_folder()]) if e.explorable]
    runs = [(e.id, models.load(str(e.path), e.config.step)) for e in entries]
    if not any(run.config.data.image_size == 64 for _, run in runs):
        runs.append(("dcgan 64x64 (untrained, default architecture)", face_dcgan()))
    device = runs[0][1].device if runs else best_device()
    print(f"device {device}, torch intra-op threads {torch.get_num_threads()}, {args.repeats} slider moves per model")
    print(f"{'model':48} {'size':>6} {'move p50':>9} {'move p95':>9} {'G p50':>7} {'G p95':>7}   (ms)")
    for name, run in runs:
        r = bench_model(run, args.repeats)
        size = f"{run.config.data.image_size}px"
        print(f"{name:48} {size:>6} {r['move_p50']:9.2f} {r['move_p95']:9.2f} {r['gen_p50']:7.2f} {r['gen_p95']:7.2f}")
    infogan = [e for e in entries if e.config.family == "infogan"]
    views = [(sliders, e.id) for e in entries[:1]] + [(codes, e.id) for e in infogan[:1]]
    if views:
        print(f"\nfull AppTest rerun of the page after a slider move ({args.reruns} reruns)")
    for view, model in views:
        p50, p95 = bench_rerun(model, view.TITLE, view.PANEL, args.reruns)
        print(f"  {view.TITLE:14} {model:20} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
