"""Command line: python -m latent_studio train | list | evaluate | export | inverter | bench | classifier | presets
| card | push-run | space."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from pathlib import Path


def _interrupt(signum, frame) -> None:
    """SIGTERM before the trainer's own handler is in place: stop like Ctrl-C, with a message."""
    raise KeyboardInterrupt


def _train(args: argparse.Namespace) -> int:
    from latent_studio.runs.config import parse_override
    from latent_studio.training.trainer import new_config, saved_config, train

    overrides = [parse_override(s) for s in args.set]
    if args.batch_size:
        overrides.append({"train": {"batch_size": args.batch_size}})
    if args.resume:  # the run's own config; only the step target may change
        cfg = saved_config(args.out)
        cfg.train.steps = args.steps or cfg.train.steps
    else:
        cfg = new_config(args.model, args.dataset, args.steps or 1000, args.preset, args.image_size, args.dataset_path,
                         args.seed, overrides)
    command = "python -m latent_studio " + shlex.join(sys.argv[1:])
    final = train(cfg, args.out, args.resume, args.data_root, args.download, args.device, not args.no_progress, command).config
    if not args.resume and final.step == 0:
        print(f"{args.out}: stopped before the first step; nothing was written", file=sys.stderr)
        return 130
    print(f"{args.out}: {final.family} at step {final.step}/{final.train.steps}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from latent_studio.runs.files import CheckpointError, find_runs, read_config

    if args.markdown:
        from latent_studio.runs.report import model_table

        print(model_table(args.folder))
        return 0
    rows = []
    for run in find_runs(args.folder):
        try:
            cfg = read_config(run)
            rows.append({"run": str(run), "family": cfg.family, "dataset": cfg.data.dataset, "step": cfg.step,
                         "steps": cfg.train.steps, "preset": cfg.preset, "metrics": cfg.metrics})
        except CheckpointError as e:
            rows.append({"run": str(run), "error": str(e)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no runs under {args.folder}")
    for r in rows:
        if "error" in r:
            print(f"{r['run']}  ERROR {r['error']}")
            continue
        m = r["metrics"]
        keys = [k for k in EVALUATED if isinstance(m.get(k), (int, float))] or [k for k in TRAINING if isinstance(m.get(k), (int, float))]
        metrics = "  ".join(f"{k}={m[k]:.4g}" for k in keys)
        if m.get("eval_step", r["step"]) != r["step"]:
            metrics += f"  (evaluated at step {m['eval_step']})"
        print(f"{r['run']}  {r['family']:<8} {r['dataset']:<14} step {r['step']}/{r['steps']}  {metrics}")
    return 0


# What `list` prints: the measured numbers `evaluate` wrote, or the last losses for a run not evaluated yet.
EVALUATED = ("fid", "fid_floor", "inception_score", "precision", "recall", "purity", "class_accuracy", "test_accuracy",
             "attribute_directions", "test_psnr", "gray_psnr", "test_ssim", "colorfulness_ratio", "hue_within_45", "test_l1",
             "test_cycle_l1", "test_target_share_ab", "test_target_share_ba")
TRAINING = ("d_loss", "g_loss", "loss", "wasserstein", "info_loss", "q_cat_acc", "images_per_s")


def _bench(args: argparse.Namespace) -> int:
    from latent_studio.training.bench import compare, run

    rows = compare(args.rounds) if args.compare else run(args.families, args.steps)
    print(json.dumps(rows, indent=2) if args.json else "\n".join(_table(rows, COMPARE_COLUMNS if args.compare else BENCH_COLUMNS)))
    return 0


# The benchmark tables' columns: (header, how to print a row's value in it).
BENCH_COLUMNS = [
    ("family   ", lambda r: f"{r['family']:<9}"), (" size", lambda r: f"{r['image_size']:>3}x{r['channels']}"),
    ("device", lambda r: f"{r['device']:<6}"), ("G params", lambda r: f"{r['generator_params']:>9,}"),
    ("G ms/img (b=1)", lambda r: f"{r['gen_ms_per_image_batch1_p50']:>14.3f}"),
    ("batch", lambda r: f"{r['gen_batch']:>5}"), ("G ms/img (batch)", lambda r: f"{r['gen_ms_per_image_batched']:>16.4f}"),
    ("train img/s", lambda r: f"{r['train_images_per_s']:>11.1f}"),
]
COMPARE_COLUMNS = [
    ("case             ", lambda r: f"{r['case']:<17}"), ("batch", lambda r: f"{r['batch_size']:>5}"),
    ("reference img/s", lambda r: f"{r['reference_images_per_s']:>15.3g}"), ("ours img/s", lambda r: f"{r['ours_images_per_s']:>10.3g}"),
    ("speedup", lambda r: f"{r['speedup']:>6.2f}x"), ("ours", lambda r: f"{r['ours']} on {r['device']}"),
]


def _table(rows: list[dict], columns: list) -> list[str]:
    """A header line, then a line per row, each cell as wide as the wider of its header and value."""
    cells = [[header for header, _ in columns]] + [[show(r) for _, show in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return [" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip() for line in cells]


def parser() -> argparse.ArgumentParser:
    from latent_studio.data.datasets import DATASETS
    from latent_studio.families import family_names

    p = argparse.ArgumentParser(prog="python -m latent_studio", description="Train, list and benchmark Latent Studio models.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model into a run directory (or --resume one)")
    t.add_argument("--model", help=f"family: {', '.join(family_names())}")
    t.add_argument("--dataset", help=", ".join(DATASETS))
    t.add_argument("--dataset-path", help="the dataset's folder, relative to the data root or absolute")
    t.add_argument("--image-size", type=int, help="28, 32, 64 or 128 (default: the dataset's own)")
    t.add_argument("--steps", type=int, help="total generator steps (default 1000; with --resume, a new total)")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--out", required=True, help="run directory to write")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--preset", help="a named recipe (python -m latent_studio presets)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-root", help="folder holding the datasets (default: $LATENT_STUDIO_DATA, else ./data)")
    t.add_argument("--download", action="store_true", help="allow torchvision to download MNIST / Fashion-MNIST")
    t.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config field, e.g. train.lr_g=1e-4")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to metrics.jsonl)")
    t.set_defaults(run=_train)

    ls = sub.add_parser("list", help="list run directories with family, dataset, step and metrics")
    ls.add_argument("folder", nargs="?", default="checkpoints")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--markdown", action="store_true", help="README's model table")
    ls.set_defaults(run=_list)

    b = sub.add_parser("bench", help="generator latency and training images/s per family on this machine")
    b.add_argument("--families", nargs="*")
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--json", action="store_true")
    b.add_argument("--compare", action="store_true",
                   help="side by side: each family's default recipe against the same recipe with every speed-up off")
    b.add_argument("--rounds", type=int, default=3, help="with --compare: alternations of the two (medians are reported)")
    b.set_defaults(run=_bench)

    e = sub.add_parser("evaluate", help="measure a run (FID, IS, precision/recall, code purity, ...) into its config.json")
    e.add_argument("run_dir", metavar="RUN")
    e.add_argument("--samples", type=int, default=10000)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--data-root")
    e.add_argument("--json", action="store_true")
    e.set_defaults(run=_evaluate)

    x = sub.add_parser("export", help="write a latent run's generator as ONNX (<run>/generator.onnx) for the browser's sliders")
    x.add_argument("run_dir", metavar="RUN")
    x.set_defaults(run=_export)

    inv = sub.add_parser("inverter", help="train a latent run's inverter (image -> latent: the explorer's Your image view), measure it")
    inv.add_argument("run_dir", metavar="RUN")
    inv.add_argument("--steps", type=int, default=4000, help="training steps, each a fresh batch of the run's samples (default 4000)")
    inv.add_argument("--seconds", type=float, help="stop training once it has used this many CPU seconds, whatever --steps says")
    inv.add_argument("--data-root", help="where the run's dataset is, for the measures on held-out test images")
    inv.add_argument("--measure-only", action="store_true", help="measure the run's inverter.safetensors again, without training")
    inv.add_argument("--no-progress", action="store_true")
    inv.set_defaults(run=_inverter)

    c = sub.add_parser("classifier", help="train and ship the evaluation classifier for a dataset")
    c.add_argument("dataset", help="mnist, fashion-mnist or celeba")
    c.add_argument("--epochs", type=int, default=3)
    c.add_argument("--data-root")
    c.set_defaults(run=_classifier)

    pr = sub.add_parser("presets", help="list the named presets")
    pr.set_defaults(run=lambda a: _presets())

    cd = sub.add_parser("card", help="write each run's Hub model card (<run>/README.md) from its config.json")
    cd.add_argument("run_dirs", nargs="+", metavar="RUN")
    cd.set_defaults(run=_card)

    pu = sub.add_parser("push-run", help="upload a run to a Hub model repo, with its model card (load it back by repo id)")
    pu.add_argument("run_dir", metavar="RUN")
    pu.add_argument("repo_id", metavar="USER/NAME")
    pu.add_argument("--token", help="a Hugging Face write token (default: $HF_TOKEN, else the login `hf auth login` saved)")
    pu.add_argument("--private", action="store_true")
    pu.set_defaults(run=_push_run)

    sp = sub.add_parser("space", help="assemble the Hugging Face Space's folder; with --repo-id and a token, upload it")
    sp.add_argument("out", metavar="OUT", help="a new folder to assemble the Space in")
    sp.add_argument("--repo-id", metavar="USER/NAME", help="the Space to create or update")
    sp.add_argument("--token", help="a Hugging Face write token (default: $HF_TOKEN); without one, only says what would go up")
    sp.add_argument("--private", action="store_true")
    sp.set_defaults(run=_space)
    return p


def _card(args: argparse.Namespace) -> int:
    from latent_studio.families import kind_of
    from latent_studio.families.run_models import read_known_config
    from latent_studio.runs.cards import hub_card
    from latent_studio.runs.files import CARD

    for run in map(Path, args.run_dirs):
        cfg = read_known_config(run)
        (run / CARD).write_text(hub_card(run, cfg, kind_of(cfg.family)))
        print(run / CARD)
    return 0


def _push_run(args: argparse.Namespace) -> int:
    from latent_studio.families import kind_of
    from latent_studio.families.run_models import read_known_config
    from latent_studio.runs.cards import hub_card
    from latent_studio.runs.hub import push_run

    run = Path(args.run_dir)
    cfg = read_known_config(run)
    url = push_run(run, args.repo_id, hub_card(run, cfg, kind_of(cfg.family), args.repo_id), args.token or None, args.private)
    print(f"{url}: load it with load_run({args.repo_id!r}), or LATENT_STUDIO_HUB_RUNS={args.repo_id} streamlit run app.py")
    return 0


def _space(args: argparse.Namespace) -> int:
    from latent_studio.deploy import assemble, upload
    from latent_studio.runs.hub import is_repo_id

    if args.repo_id and not is_repo_id(args.repo_id):
        raise ValueError(f"--repo-id {args.repo_id!r} is not a Hub repo id (owner/name)")
    token = args.token or os.environ.get("HF_TOKEN")
    space = assemble(args.out)
    print(space.summary())
    if not (args.repo_id and token):
        print(f"nothing uploaded: give --repo-id USER/NAME and --token (or HF_TOKEN) to upload {args.out} to that Space")
        return 0
    print(f"uploaded: {upload(space, args.repo_id, token, args.private)}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from latent_studio.evaluation.evaluate import evaluate_run

    results = evaluate_run(args.run_dir, args.data_root, args.samples, args.seed)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:<28} {v}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from latent_studio.inference.onnx_export import export_onnx

    path = export_onnx(args.run_dir)
    print(f"{path}: {path.stat().st_size / 2**20:.1f} MB, matches torch")
    return 0


def _inverter(args: argparse.Namespace) -> int:
    from latent_studio.families import LATENT
    from latent_studio.families.run_models import load_run
    from latent_studio.inference.inversion import INVERTER
    from latent_studio.training.inverter import measure_saved, train_and_measure

    if args.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {args.steps}")
    run = load_run(args.run_dir)
    if run.family.kind != LATENT:
        raise ValueError(f"{args.run_dir} is a {run.config.family} run: only latent runs (GANs, VAEs) have a latent to invert")
    if args.measure_only:
        measures = measure_saved(run, args.data_root)
        print("\n".join(f"{key:<28} {value}" for key, value in measures.items() if key != "digit_mapping"))
        return 0
    progress = None if args.no_progress else (lambda step, loss: print(f"step {step}: loss {loss:.4f}", file=sys.stderr, flush=True))
    info = train_and_measure(run, args.steps, args.seconds, args.data_root, "python -m latent_studio " + shlex.join(sys.argv[1:]), progress)
    print(f"{run.path / INVERTER}: {info['steps']} steps in {info['seconds']} s, {info['file_mb']} MB")
    for key, value in info["measures"].items():
        if key != "digit_mapping":
            print(f"{key:<28} {value}")
    return 0


def _classifier(args: argparse.Namespace) -> int:
    from latent_studio.families.classifier import classifier_path, train_classifier

    meta = train_classifier(args.dataset, args.data_root, args.epochs, command="python -m latent_studio " + shlex.join(sys.argv[1:]))
    print(f"{classifier_path(args.dataset)}: test accuracy {meta['test_accuracy']:.4f} in {meta['train_seconds']} s")
    return 0


def _presets() -> int:
    from latent_studio.training.presets import PRESETS

    for name, p in PRESETS.items():
        print(f"{name:<20} {p.family or 'any':<8} {p.dataset or '':<14} {p.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run a command; errors a user can fix are one line on stderr and exit status 2, and Ctrl-C or
    SIGTERM before training begins (loading torch or the data) exits 130 with a message."""
    try:
        signal.signal(signal.SIGTERM, _interrupt)
        # held until the trainer's own handler (a flag, never an exception) is in place: raised inside a
        # C++ -> Python call during start-up, KeyboardInterrupt aborts the process instead
        held = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        args = parser().parse_args(argv)
        if args.run is not _train:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
        from latent_studio.data.datasets import DatasetMissing
        from latent_studio.runs.files import CheckpointError

        try:
            return args.run(args)
        except (CheckpointError, DatasetMissing, FileExistsError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("interrupted before training began; nothing was written", file=sys.stderr)
        return 130


def _exit(status: int) -> None:
    """Leave with the status main chose. An interrupt that passes through torch's C++ (which runs Python
    code through the C API; start-up holds the signals until the trainer handles them, later calls do not)
    can leave the interpreter flagged as killed by Ctrl-C, so a normal exit would end as SIGINT instead of
    130; after an interrupt nothing is left to finish, so the process ends here, streams flushed."""
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(status)


def run() -> None:
    """The console script `latent-studio` and `python -m latent_studio`."""
    _exit(main())
