"""SRGAN: the generator starts as bicubic and learns what bicubic misses, the losses reach both
players, and evaluation measures against bicubic on held-out photos."""

from pathlib import Path

import pytest
import torch

from latent_studio.data.datasets import DatasetMissing, load_dataset
from latent_studio.data.image_quality import psnr
from latent_studio.families import StepContext, get_family
from latent_studio.families.networks.img2img import UpscaleGenerator
from latent_studio.families.srgan import bicubic, downscale, sharpness
from latent_studio.training.trainer import new_config

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def test_an_untrained_generator_is_exactly_bicubic_at_four_times_the_size():
    g = UpscaleGenerator(width=8, n_blocks=2).eval()
    lr = torch.rand(2, 3, 12, 20) * 2 - 1
    with torch.no_grad():
        out = g(lr)
    assert out.shape == (2, 3, 48, 80)
    torch.testing.assert_close(out.clamp(-1, 1), bicubic(lr, 4))


def test_scale_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        UpscaleGenerator(scale=3)


def test_downscale_is_a_quarter_and_blur_lowers_sharpness():
    hr = torch.rand(2, 3, 64, 64) * 2 - 1
    lr = downscale(hr, 4)
    assert lr.shape == (2, 3, 16, 16) and lr.min() >= -1 and lr.max() <= 1
    assert (sharpness(bicubic(lr, 4)) < 0.7 * sharpness(hr)).all()


def _photos(n: int) -> torch.Tensor:
    cfg = new_config("srgan", "photos", 10)
    try:
        test = load_dataset(cfg.data, DATA, "test")
    except DatasetMissing as e:
        pytest.skip(f"photos_128 is not in {DATA}: {e}")
    return torch.stack([test[i][0] for i in range(0, len(test), len(test) // n)][:n])


def test_a_short_training_on_real_photos_beats_bicubic_on_them():
    """Pixel loss only (the SRResNet start), 60 steps on 8 photos: the residual learns to sharpen."""
    hr = _photos(8)
    cfg = new_config("srgan", "photos", 60, overrides=[{"arch": {"generator": {"width": 16, "n_blocks": 2}},
                                                        "train": {"adv_start": 1.0, "crop": 64, "lr_g": 1e-3}}])
    fam = get_family("srgan")(cfg)
    torch.manual_seed(0)
    m = fam.build()
    ctx = StepContext(torch.device("cpu"), fam.make_optimizers(m), lambda: (hr, torch.zeros(len(hr))))
    for step in range(60):
        ctx.step = step
        fam.train_step(m, ctx)
    m.eval()
    lr = downscale(hr, 4)
    with torch.no_grad():
        ours, base = psnr((fam.upscale(m, lr) + 1) / 2, (hr + 1) / 2), psnr((bicubic(lr, 4) + 1) / 2, (hr + 1) / 2)
    assert ours.mean() > base.mean() + 0.2


def test_evaluate_reports_the_generator_beside_bicubic():
    hr = _photos(4)
    fam = get_family("srgan")(new_config("srgan", "photos", 10, overrides=[{"arch": {"generator": {"width": 8, "n_blocks": 1}}}]))
    m = fam.build().eval()
    with torch.no_grad():
        out = fam.evaluate(m, iter([(hr, torch.zeros(4))]))
    assert {"test_psnr", "test_ssim", "bicubic_psnr", "bicubic_ssim", "test_sharpness_ratio", "bicubic_sharpness_ratio"} <= set(out)
    assert out["test_psnr"] == pytest.approx(out["bicubic_psnr"], abs=1e-3)  # untrained: bicubic exactly
    assert out["bicubic_sharpness_ratio"] < 0.8 and out["test_images"] == 4


SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "srgan-photos"


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="the shipped SRGAN is not in checkpoints/")
def test_the_shipped_upscaler_beats_bicubic_on_held_out_photos():
    """SSIM above bicubic's and much sharper, on photos it never saw, as its card says."""
    from latent_studio.data.image_quality import ssim
    from latent_studio.families.run_models import load_run

    hr = _photos(16)
    run = load_run(SHIPPED)
    lr = downscale(hr, 4)
    with torch.no_grad():
        ours, base = (run.family.upscale(run.modules, lr) + 1) / 2, (bicubic(lr, 4) + 1) / 2
    true = (hr + 1) / 2
    assert ssim(ours, true).mean() > ssim(base, true).mean() + 0.01
    assert sharpness(ours).mean() > 1.4 * sharpness(base).mean()
    metrics = run.config.metrics
    assert metrics["test_ssim"] > metrics["bicubic_ssim"] and metrics["test_sharpness_ratio"] > metrics["bicubic_sharpness_ratio"]
