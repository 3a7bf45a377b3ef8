"""Named starting points. A family's own defaults are its tuned recipe; presets add the seed
experiments worth reproducing, including the ones built to fail so users can see what failure
looks like."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    family: str | None  # None: applies to whichever GAN family --model names
    description: str
    overrides: dict = field(default_factory=dict)
    dataset: str | None = None


PRESETS: dict[str, Preset] = {
    "infogan-mnist": Preset(
        "infogan", "InfoGAN paper's MNIST setting: z of 62, one 10-way categorical code, two continuous codes in [-1, 1]",
        {"latent": {"dim": 62, "categorical": [10], "continuous": 2, "continuous_range": 1.0}}, "mnist",
    ),
    "mode-collapse": Preset(
        "dcgan", "failure mode: a 2-D latent and a tiny generator collapse onto a few digits",
        {"latent": {"dim": 2},
         "arch": {"generator": {"kind": "mlp", "hidden": [16]}, "discriminator": {"kind": "mlp", "hidden": [256, 128]}}},
        "mnist",
    ),
    "convergence-failure": Preset(
        "dcgan", "failure mode: a one-layer generator against a three-layer discriminator never converges",
        {"arch": {"generator": {"kind": "mlp", "hidden": []}, "discriminator": {"kind": "mlp", "hidden": [512, 256]}, "init": "default"}},
        "mnist",
    ),
    "seed-mlp": Preset(
        None, "the seed book's recipe: fully connected G (256, 512) and D (512, 256), no normalization, PyTorch's default "
              "init, no jittered InfoGAN codes; the baseline the tuned convolutional defaults are compared against",
        {"arch": {"generator": {"kind": "mlp", "hidden": [256, 512]}, "discriminator": {"kind": "mlp", "hidden": [512, 256]},
                  "init": "default", "q_hidden": 128},
         "train": {"info_cat_jitter": 0.0}},
    ),
    "cyclegan-book-unet": Preset(
        "cyclegan", "the GAN book's CycleGAN: a U-Net generator (4 levels, 32 to 256 wide, instance norm, no dropout), "
                    "cycle weight 10, identity weight 3",
        {"arch": {"generator": {"kind": "unet", "in_channels": 3, "out_channels": 3, "depth": 4, "width": 32, "max_width": 256,
                                "dropout": 0.0, "norm": "instance"},
                  "discriminator": {"kind": "patch", "width": 32, "n_layers": 3, "norm": "instance"}},
         "train": {"cycle_weight": 10.0, "identity_weight": 3.0}},
        "unpaired",
    ),
    "cyclegan-book-resnet": Preset(
        "cyclegan", "the GAN book's CycleGAN with a 9-block ResNet generator (32 wide), cycle weight 10, identity weight 5",
        {"arch": {"generator": {"kind": "resnet", "in_channels": 3, "out_channels": 3, "width": 32, "n_blocks": 9, "norm": "instance"},
                  "discriminator": {"kind": "patch", "width": 32, "n_layers": 3, "norm": "instance"}},
         "train": {"cycle_weight": 10.0, "identity_weight": 5.0}},
        "unpaired",
    ),
    "pix2pix-facades": Preset(
        "pix2pix", "pix2pix paper's facades setting: label map -> photo (the B half to the A half), batch 1, L1 weight 100",
        {"arch": {"direction": "BtoA"}}, "paired",
    ),
    "discogan": Preset(
        "cyclegan", "DiscoGAN (Kim et al. 2017): two coupled generators between women (A) and men (B) in CelebA, held to each "
                    "other by the reconstruction (cycle) loss alone, with no identity term; 32 wide with 3 residual blocks for 64 px faces",
        {"arch": {"generator": {"kind": "resnet", "in_channels": 3, "out_channels": 3, "width": 32, "n_blocks": 3, "norm": "instance",
                                "upsample": "resize"},
                  "discriminator": {"kind": "patch", "width": 32, "n_layers": 3, "norm": "instance"}},
         "train": {"identity_weight": 0.0, "batch_size": 4, "pool_size": 50}}, "celeba-gender",
    ),
    "vae-2d": Preset("vae", "VAE with a 2-D latent, so the whole latent plane can be drawn as a manifold", {"latent": {"dim": 2}}, "mnist"),
    "pixelcnn-book": Preset(
        "pixelcnn", "the GAN book's PixelCNN: a 7x7 type A masked conv, five residual blocks and two 1x1 type B layers, "
                    "128 wide (the default is 32 wide: the same network at a sixteenth of the compute)",
        {"arch": {"generator": {"kind": "pixelcnn", "width": 128, "blocks": 5, "kernel_size": 7}}}, "mnist",
    ),
}
