"""README's model table, generated from the run directories so it never drifts from them."""

from __future__ import annotations

from pathlib import Path

from latent_studio.runs.cards import fine_tune_source
from latent_studio.runs.files import CheckpointError, find_runs, read_config

BEGIN, END = "<!-- model-table:begin -->", "<!-- model-table:end -->"


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell: one line, no column breaks."""
    return " ".join(text.split()).replace("|", "/")


def _pct(value) -> str:
    return f"{100 * value:.0f}%"


def other_metrics(m: dict) -> list[str]:
    """The numbers particular to a kind of model: InfoGAN purity, class accuracy, face directions,
    how samples spread over the classes, a likelihood model's test NLL, and the image-to-image
    measures against their baselines (the gray input, the mean photo, bicubic, a blur fill)."""
    channels, judge = m.get("channel_ratios"), m.get("features_from")
    m = {k: v for k, v in m.items() if isinstance(v, (int, float))}  # a hand-edited text value is not a measure
    out = [f"{k} {_fmt(m[k])}" for k in ("purity", "class_accuracy", "test_accuracy", "attribute_directions") if k in m]
    if {"gray_psnr", "test_psnr", "test_ssim", "gray_ssim", "colorfulness_ratio"} <= m.keys():
        out.append(f"PSNR {m['test_psnr']:.2f} (gray {m['gray_psnr']:.2f}), SSIM {m['test_ssim']:.3f} (gray {m['gray_ssim']:.3f}), "
                   f"colorfulness {_pct(m['colorfulness_ratio'])} of real"
                   + (f", hue within 45° {_pct(m['hue_within_45'])}" if "hue_within_45" in m else ""))
        if m.get("semantic_gap_recovered") is not None:
            out.append(f"semantic test {_pct(m['semantic_colorized'])} (gray {_pct(m['semantic_gray'])}, real {_pct(m['semantic_real'])}: "
                       f"{_pct(m['semantic_gap_recovered'])} of the gap)")
        if "fool_rate" in m:
            out.append(f"fool rate {_pct(m['fool_rate'])}")
    elif {"test_l1", "test_psnr", "test_ssim"} <= m.keys():
        out.append(f"L1 {m['test_l1']:.3f}, PSNR {m['test_psnr']:.1f}, SSIM {m['test_ssim']:.3f}"
                   + (f" (mean photo: L1 {m['baseline_l1']:.3f}, SSIM {m['baseline_ssim']:.3f})" if "baseline_ssim" in m else ""))
    if {"test_cycle_l1", "test_target_share_ab", "test_target_share_ba"} <= m.keys():
        out.append(f"cycle L1 {m['test_cycle_l1']:.3f}, classified as the target domain: "
                   f"A→B {_pct(m['test_target_share_ab'])}, B→A {_pct(m['test_target_share_ba'])}"
                   + (f" (real photos of that domain: {_pct(1 - m['test_real_b_called_a'])}, {_pct(1 - m['test_real_a_called_b'])})"
                      if {"test_real_a_called_b", "test_real_b_called_a"} <= m.keys() else ""))
    elif "test_target_share_ab" in m:  # one way only
        out.append(f"classified as the target domain: A→B {_pct(m['test_target_share_ab'])}")
    if "identity_closer_share" in m:
        out.append(f"same face: closer to its input than a random target face for {_pct(m['identity_closer_share'])}")
    if {"test_psnr", "test_ssim", "bicubic_psnr", "bicubic_ssim"} <= m.keys():
        out.append(f"PSNR {m['test_psnr']:.2f} (bicubic {m['bicubic_psnr']:.2f}), "
                   f"SSIM {m['test_ssim']:.3f} (bicubic {m['bicubic_ssim']:.3f}), "
                   f"sharpness {_pct(m['test_sharpness_ratio'])} of the true photos' (bicubic {_pct(m['bicubic_sharpness_ratio'])})")
    if {"test_hole_psnr", "blur_hole_psnr"} <= m.keys():
        out.append(f"hole PSNR {m['test_hole_psnr']:.2f} (blur fill {m['blur_hole_psnr']:.2f})"
                   + (f", fool rate {_pct(m['fool_rate'])} (blur fill {_pct(m['blur_fool_rate'])})" if "blur_fool_rate" in m else ""))
    if "test_nll_bits_per_dim" in m:
        out.append(f"test NLL {m['test_nll_bits_per_dim']:.4f} bits per pixel ({m['test_nll_nats']:.1f} nats per digit)")
    if {"saturation_ratio", "brightness_ratio", "contrast_ratio", "near_white", "near_white_real"} <= m.keys():  # colour samples
        tint = ("/".join(f"{c:.2f}" for c in channels)
                if isinstance(channels, list) and len(channels) == 3 and all(isinstance(c, (int, float)) for c in channels) else None)
        out.append(f"against the data: brightness ×{m['brightness_ratio']:.2f}, saturation ×{m['saturation_ratio']:.2f}, "
                   f"contrast ×{m['contrast_ratio']:.2f}" + (f", R/G/B ×{tint}" if tint else "")
                   + f", near-white pixels {_pct(m['near_white'])} (data {_pct(m['near_white_real'])})")
    if isinstance(judge, str):
        out.append(f"FID and precision / recall in the {_cell(judge)} judge's features")
    if "class_share_min" in m:
        out.append(f"class shares {_pct(m['class_share_min'])} to {_pct(m['class_share_max'])}")
    if {"checkerboard_ab", "checkerboard_ba"} <= m.keys():
        out.append(f"checkerboard energy ×{m['checkerboard_ab']:.1f} / ×{m['checkerboard_ba']:.1f} of real photos")
    elif "checkerboard_ab" in m:
        out.append(f"checkerboard energy ×{m['checkerboard_ab']:.1f} of real images")
    return out


def model_table(root: str | Path) -> str:
    """One markdown row per run: what it is, what it cost, what it measured."""
    lines = [
        "| run | family | dataset | steps | train time | hardware | domain FID (floor) | IS | precision / recall | other measures |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in find_runs(root):
        name = Path(run).relative_to(root).as_posix()
        try:
            cfg = read_config(run)
        except CheckpointError as e:
            lines.append(f"| {name} | cannot be read: {_cell(str(e))} |" + " – |" * 8)
            continue
        m, card = cfg.metrics, cfg.card
        fid = f"{_fmt(m.get('fid'))} ({_fmt(m.get('fid_floor'))})" if "fid" in m else "–"
        pr = f"{_fmt(m.get('precision'))} / {_fmt(m.get('recall'))}" if "precision" in m else "–"
        extra = other_metrics(m)
        minutes = f"{card.get('train_seconds', 0) / 60:.0f} min" if "train_seconds" in card else "–"
        before = fine_tune_source(card)
        if "train_seconds" in before:  # a fine-tune: the run it started from cost time too
            minutes += f" (+{before['train_seconds'] / 60:.0f} min: {Path(before['run']).name})"
        family = f"{cfg.family} ({cfg.preset})" if cfg.preset else cfg.family
        lines.append(f"| {name} | {family} | {cfg.data.dataset} | {cfg.step} | {minutes} | {_cell(card.get('hardware', '–'))} | {fid} | "
                     f"{_fmt(m.get('inception_score'))} | {pr} | {', '.join(extra) or '–'} |")
    return "\n".join(lines)

