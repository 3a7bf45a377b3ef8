"""A new image-to-image family is served by registering it: a throwaway x2 upscaler, registered for
one test, shows up wherever the app, the pipeline, evaluation and the benchmark list families or
read how a run is served, with no change to any of them, and is gone once unregistered. A new task
is one declaration beside it: the Gradio tab and API endpoint of its tool offer its runs."""

import json
from contextlib import contextmanager

import gradio as gr
import pytest
import torch
from torch import nn

from latent_studio.app.img2img.app import build, image_to_image_runs
from latent_studio.app.tools.img2img_bench import main as bench_main
from latent_studio.evaluation.img2img_eval import evaluate_run
from latent_studio.families import FAMILIES, IMG2IMG, family_names, translation_directions
from latent_studio.families.base import register
from latent_studio.families.img2img import PAIRED, TASKS, Img2ImgFamily, Task, declare, make_generator
from latent_studio.families.run_models import save_run
from latent_studio.inference.pipeline import colorize, translate
from latent_studio.training.trainer import new_config
from tests.img2img_helpers import photo, write_data_root


class Doubler(Img2ImgFamily):
    """Paired x2 upscaling, one way: a tiny ResNet, then each pixel doubled."""

    name = "test-doubler"
    example_dataset = "paired"
    directions = ("small_to_large",)

    @classmethod
    def defaults(cls, data):
        c = data.channels
        return {"arch": {"generator": {"kind": "resnet", "in_channels": c, "out_channels": c, "width": 4, "n_blocks": 1}}}

    def build(self) -> nn.ModuleDict:
        return nn.ModuleDict({"generator": nn.Sequential(make_generator(self.cfg.arch["generator"]), nn.Upsample(scale_factor=2))})

    def serving(self):
        return self.served_as(PAIRED, {"small_to_large": ("generator", None)}, scale=2)


@contextmanager
def registered(cls):
    register(cls)
    try:
        yield
    finally:
        FAMILIES.pop(cls.name)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_data_root(tmp_path_factory.mktemp("data"))


def test_a_registered_family_is_served_measured_and_benchmarked_as_it_describes_itself(tmp_path, data_root, capsys):
    with registered(Doubler):
        cfg = new_config(Doubler.name, "paired", 2, image_size=32)
        torch.manual_seed(0)
        save_run(tmp_path / "doubler", cfg, Doubler(cfg).build())
        run = tmp_path / "doubler"

        assert Doubler.name in family_names(IMG2IMG) and "small_to_large" in translation_directions()
        runs = image_to_image_runs([tmp_path])
        assert list(runs["translate"]) == ["doubler"] and not any(runs[t] for t in ("colorize", "upscale", "inpaint"))
        radio = next(block for block in build([tmp_path]).blocks.values() if isinstance(block, gr.Radio))
        assert "small_to_large" in [value for _, value in radio.choices]

        result = translate(photo(3, (48, 40)), run)  # its one direction; the output at twice the upload's size
        assert result.output.size == (96, 80) and result.reconstruction is None

        assert bench_main([str(run), "--size", "64", "--repeats", "1", "--json"]) == 0
        assert [row["task"] for row in json.loads(capsys.readouterr().out)] == ["translate small_to_large"]

        metrics = evaluate_run(run, data_root, write=False)  # a paired task: beside the mean photo
        assert {"baseline_l1", "baseline_psnr", "baseline_ssim"} <= set(metrics)
    assert Doubler.name not in family_names() and "small_to_large" not in translation_directions()


class Sharpener(Doubler):
    """The same network under a task of its own, declared here and nowhere else."""

    name = "test-sharpener"
    directions = ("blurred_to_sharp",)

    def serving(self):
        return self.served_as(SHARPEN, {"blurred_to_sharp": ("generator", None)}, scale=2)


@contextmanager
def declared(task: Task):
    name = declare(task)
    try:
        yield name
    finally:
        TASKS.pop(name)


SHARPEN = "test-sharpen"


def test_a_new_task_is_one_declaration_that_the_app_api_and_pipeline_read(tmp_path):
    with declared(Task(SHARPEN, "translate", "a sharpener", "the sharp photo")), registered(Sharpener):
        cfg = new_config(Sharpener.name, "paired", 2, image_size=32)
        save_run(tmp_path / "sharpener", cfg, Sharpener(cfg).build())
        assert list(image_to_image_runs([tmp_path])["translate"]) == ["sharpener"]
        app = build([tmp_path])
        dropdowns = [b for b in app.blocks.values() if isinstance(b, gr.Dropdown)]
        assert ["sharpener"] in [[value for _, value in d.choices] for d in dropdowns]  # the Translate tab offers it
        assert "/translate" in app.get_api_info()["named_endpoints"]
        assert translate(photo(3, (48, 40)), tmp_path / "sharpener").output.size == (96, 80)
        with pytest.raises(ValueError, match="test-sharpener model .* \\(a sharpener\\); this needs a colorizer"):
            colorize(photo(1, (48, 40)), tmp_path / "sharpener")


def test_a_task_whose_tool_has_no_tab_is_refused_by_name(tmp_path):
    with declared(Task(SHARPEN, "sharpen", "a sharpener", "the sharp photo")):
        with pytest.raises(ValueError, match="tools with no tab or handler: sharpen"):
            build([tmp_path])
