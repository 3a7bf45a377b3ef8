"""README's model table is the one the shipped run directories generate, and train_all.sh retrains
every shipped latent model for the steps it was trained."""

import re

from latent_studio.families import LATENT, get_family
from latent_studio.runs.files import find_runs, read_config
from latent_studio.runs.report import BEGIN, END, model_table, other_metrics
from tests.conftest import ROOT


def test_readme_model_table_matches_the_shipped_runs():
    text = (ROOT / "README.md").read_text()
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert table == model_table(ROOT / "checkpoints")
    assert "infogan-mnist" in table and "purity" in table


def test_train_all_retrains_every_shipped_latent_model_for_its_steps():
    script = (ROOT / "checkpoints" / "train_all.sh").read_text()
    lines = {m[1]: int(m[2]) for m in re.finditer(r"run (checkpoints/\S+) .*?--steps (\d+)", script)}
    shipped = {str(run.relative_to(ROOT)): read_config(run) for run in find_runs(ROOT / "checkpoints")}
    latent = {name: cfg.step for name, cfg in shipped.items() if get_family(cfg.family).kind == LATENT}
    assert len(latent) >= 10 and lines == latent


def test_image_to_image_measures_are_shown_beside_their_baselines():
    colorizer = {"test_psnr": 22.0, "gray_psnr": 22.2, "test_ssim": 0.91, "gray_ssim": 0.93, "colorfulness_ratio": 1.1,
                 "hue_within_45": 0.7, "semantic_real": 0.6, "semantic_gray": 0.3, "semantic_colorized": 0.45,
                 "semantic_gap_recovered": 0.5, "fool_rate": 0.2}
    assert other_metrics(colorizer)[1:] == ["semantic test 45% (gray 30%, real 60%: 50% of the gap)", "fool rate 20%"]
    facades = {"test_l1": 0.17, "test_psnr": 13.0, "test_ssim": 0.3, "baseline_l1": 0.18, "baseline_ssim": 0.268}
    assert other_metrics(facades) == ["L1 0.170, PSNR 13.0, SSIM 0.300 (mean photo: L1 0.180, SSIM 0.268)"]
    cyclegan = {"test_cycle_l1": 0.08, "test_target_share_ab": 0.8, "test_target_share_ba": 0.9, "checkerboard_ab": 1.2,
                "checkerboard_ba": 0.9}
    assert other_metrics(cyclegan)[1] == "checkerboard energy ×1.2 / ×0.9 of real photos"
    judged = {**cyclegan, "test_real_a_called_b": 0.19, "test_real_b_called_a": 0.27}  # the judge's own errors on real photos
    assert other_metrics(judged)[0] == ("cycle L1 0.080, classified as the target domain: A→B 80%, B→A 90% "
                                        "(real photos of that domain: 73%, 81%)")
    one_way = {"test_target_share_ab": 0.93, "identity_closer_share": 0.71, "checkerboard_ab": 1.1}
    assert other_metrics(one_way) == ["classified as the target domain: A→B 93%",
                                      "same face: closer to its input than a random target face for 71%",
                                      "checkerboard energy ×1.1 of real images"]


def test_colour_samples_are_compared_with_the_data():
    anime = {"brightness_ratio": 0.994, "saturation_ratio": 0.9, "contrast_ratio": 0.931, "near_white": 0.142,
             "near_white_real": 0.195, "channel_ratios": [1.02, 0.97, 0.951]}
    assert other_metrics(anime) == ["against the data: brightness ×0.99, saturation ×0.90, contrast ×0.93, R/G/B ×1.02/0.97/0.95, "
                                    "near-white pixels 14% (data 20%)"]
    del anime["channel_ratios"]  # measured before the channels were: the rest still shows
    assert "R/G/B" not in other_metrics(anime)[0]
    assert other_metrics({"brightness_ratio": 1.0, "contrast_ratio": 1.0}) == []  # gray digits: no colour to compare


def test_a_borrowed_judge_is_named_beside_the_numbers_it_gave():
    assert other_metrics({"fid": 15.0, "features_from": "celeba"}) == ["FID and precision / recall in the celeba judge's features"]
