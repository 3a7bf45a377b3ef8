"""Image-to-image networks: the pix2pix U-Net and PatchGAN, and the CycleGAN ResNet generator.

References:
1) pix2pix: Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks"
   https://arxiv.org/abs/1611.07004
2) CycleGAN: Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
   Adversarial Networks" https://arxiv.org/abs/1703.10593
3) reference code: https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix (models/networks.py)

Generators end in tanh, so images are expected and produced in [-1, 1]. Their forward passes are
straight-line code (loops over ModuleLists unroll at trace time, nothing branches on tensor values
or shapes), so they export with torch.export / torch.onnx.export.
"""

import torch
import torch.nn.functional as F
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Normalisation layer picked by name, so configs can choose it with a string.

    "batch" is the pix2pix default; "instance" normalises each image on its own, the CycleGAN
    default and the sensible choice at batch size 1, where batch statistics mean little. Instance
    norm is made affine so both kinds learn a per-channel scale and shift; convs that feed a norm
    therefore have no bias, since the norm would cancel it.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"unknown norm kind {kind!r}, expected 'batch' or 'instance'")


class UNetGenerator(nn.Module):
    """pix2pix generator: an encoder-decoder with skip connections between mirrored levels.

    In image-to-image translation, input and output share their low-level layout (edges,
    positions). Skips carry that detail straight across, so the bottleneck only has to encode
    global structure; a plain encoder-decoder would have to squeeze it through a 1x1 code.

    Each level halves the resolution, so H and W must be divisible by 2**depth: depth 7 takes
    128 px down to 1x1 and depth 8 does the same for 256 px. This is documented rather than checked
    so that forward stays free of shape branches. Widths double per level from `width`, capped at
    `max_width` (64, 128, 256, 512, 512, ... by default, as in the paper).

    Dropout sits in the three innermost up blocks. pix2pix keeps it active at test time as the
    generator's only source of randomness; call .train() on the Dropout modules to do the same.

    output="logits" ends in a 1x1 conv at half resolution instead of a transposed conv to tanh:
    unbounded scores per class (a colorizer's colour bins), cheap to take a softmax of, and free
    of the transposed conv's checkerboard; the colour they decode to is upsampled smoothly.

    classes > 0 adds a global branch (Iizuka, Simo-Serra and Ishikawa, "Let there be Color!",
    SIGGRAPH 2016): from the encoder's 4x4 level (at the intended size) a 1x1 and a 3x3 conv and an average
    over the whole image give one `global_width` vector per photo, which a linear layer classifies
    into `classes` labels (what the photo shows: trained by the caller's loss on forward_classes)
    and which is added to the input of each of the three innermost up blocks through its own
    projection. The projections start at zero, so a generator warm-started from one without the
    branch starts out computing exactly what that one did.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        depth: int = 7,
        width: int = 64,
        max_width: int = 512,
        dropout: float = 0.5,
        norm: str = "batch",
        output: str = "image",
        classes: int = 0,
        global_width: int = 48,
    ) -> None:
        super().__init__()
        if output not in ("image", "logits"):
            raise ValueError(f"unknown U-Net output {output!r}; use image or logits")
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        widths = [min(width * 2**i, max_width) for i in range(depth)]

        # Encoder level i: (B, widths[i-1], H/2**i, W/2**i) -> (B, widths[i], H/2**(i+1), W/2**(i+1)).
        # The activation opens each block, as in the reference code, so the skips carry the raw
        # conv/norm output (the decoder's leading ReLU then treats skip and upsampled features
        # alike). Activations are not in-place because their inputs are also the skip tensors.
        self.encoder = nn.ModuleList([nn.Conv2d(in_channels, widths[0], 4, 2, 1)])  # no norm on the image layer
        for i in range(1, depth):
            has_norm = i < depth - 1  # the innermost is 1x1 at the intended size: no statistics to take
            block = nn.Sequential(
                nn.LeakyReLU(0.2),
                nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=not has_norm),
            )
            if has_norm:
                block.append(norm_layer(norm, widths[i]))
            self.encoder.append(block)

        # Decoder, innermost level first. Up block for level i maps H/2**(i+1) -> H/2**i and takes
        # the previous up block's output concatenated with encoder level i (2 * widths[i] channels),
        # except the innermost, which takes the bottleneck alone.
        self.decoder = nn.ModuleList()
        for i in reversed(range(depth)):
            c_in = widths[i] if i == depth - 1 else 2 * widths[i]
            if i == 0 and output == "logits":  # per-pixel class scores at half resolution, upsampled by the caller
                block = nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, out_channels, 1))
            elif i == 0:
                block = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), nn.Tanh())
            else:
                block = nn.Sequential(
                    nn.ReLU(),
                    nn.ConvTranspose2d(c_in, widths[i - 1], 4, 2, 1, bias=False),
                    norm_layer(norm, widths[i - 1]),
                )
                if dropout > 0 and i >= depth - 3:
                    block.append(nn.Dropout(dropout))
            self.decoder.append(block)

        self.context_level = max(depth - 3, 0)  # the encoder level the global branch reads (4x4 at the intended size)
        self.fused = min(3, depth) if classes else 0  # up blocks, innermost first, that the global vector feeds
        if classes:
            c = widths[self.context_level]
            self.context = nn.Sequential(  # small: the shipped colorizer must stay one file under the Space's 10 MB
                nn.LeakyReLU(0.2),
                nn.Conv2d(c, global_width, 1, bias=False),
                norm_layer(norm, global_width),
                nn.ReLU(),
                nn.Conv2d(global_width, global_width, 3, 2, 1, bias=False),
                norm_layer(norm, global_width),
                nn.ReLU(),
            )
            self.context_fc = nn.Sequential(nn.Linear(global_width, global_width), nn.ReLU())
            self.classifier = nn.Linear(global_width, classes)
            up_inputs = [widths[i] if i == depth - 1 else 2 * widths[i] for i in reversed(range(depth))][: self.fused]
            self.fusion = nn.ModuleList([nn.Linear(global_width, c_in) for c_in in up_inputs])
            self.silence_fusion()

    def silence_fusion(self) -> None:
        """Zero the global branch's projections into the decoder, so the decoder sees what it saw
        without the branch (a family that re-initialises every layer calls this after it)."""
        for layer in self.fusion if self.fused else ():
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1] (logits: H/2, W/2, unbounded)."""
        return self.forward_classes(x)[0]

    def forward_classes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(output as forward gives it, the global branch's class logits (B, classes) or None without one)."""
        skips: list[torch.Tensor] = []
        for down in self.encoder:
            x = down(x)
            skips.append(x)
        vector = classes = None
        if self.fused:
            vector = self.context_fc(self.context(skips[self.context_level]).mean((2, 3)))
            classes = self.classifier(vector)
        for i, up in enumerate(self.decoder):
            if i:  # the bottleneck has nothing to concatenate
                x = torch.cat([x, skips[-1 - i]], dim=1)  # (B, 2 * C_i, H_i, W_i)
            if i < self.fused:
                x = x + self.fusion[i](vector)[:, :, None, None]
            x = up(x)  # -> (B, C_{i-1}, 2 * H_i, 2 * W_i)
        return x, classes


def receptive_field(n_layers: int) -> int:
    """Side in pixels of the input patch that one PatchDiscriminator logit sees.

    This is the scale at which D judges realism: textures larger than it are invisible to D, so
    pick n_layers to match the structures that matter (70 px, n_layers=3, is the pix2pix default).
    Walking from one output logit back to the input, a k x k conv with stride s widens a window of
    r positions to (r - 1) * s + k; padding moves windows but does not change their size. The
    stack is n_layers stride-2 convs then two stride-1 convs, all 4x4, which gives 9 * 2**n_layers - 2.
    """
    strides = [2] * n_layers + [1, 1]
    r = 1
    for s in reversed(strides):
        r = (r - 1) * s + 4
    return r


class PatchDiscriminator(nn.Module):
    """PatchGAN: scores every overlapping receptive_field(n_layers)-pixel patch as real or fake.

    Limiting each logit to a patch makes D model only local texture and sharpness (the L1 term in
    pix2pix handles low frequencies), keeps it small, and lets it run on any image size. It is
    fully convolutional and returns a map of raw logits, so the loss (BCE-with-logits, least
    squares, hinge) is averaged over the map. n_layers=3 is the paper's 70x70 PatchGAN.

    For pix2pix, D is conditioned on the source image: the caller concatenates source and (real or
    generated) target along channels and sets in_channels = source + target channels. CycleGAN
    discriminators see the image alone. Widths double per stride-2 layer, capped at 8 * width.
    """

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        widths = [width * min(2**i, 8) for i in range(n_layers + 1)]
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 4, 2, 1),  # no norm on the image layer
            nn.LeakyReLU(0.2),
        )
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1  # the last normed conv widens the field without downsampling
            self.net.extend(
                [
                    nn.Conv2d(widths[i - 1], widths[i], 4, stride, 1, bias=False),
                    norm_layer(norm, widths[i]),
                    nn.LeakyReLU(0.2),
                ]
            )
        self.net.append(nn.Conv2d(widths[-1], 1, 4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, 1, H / 2**n_layers - 2, W / 2**n_layers - 2) logits."""
        return self.net(x)


class ResnetBlock(nn.Module):
    """Two 3x3 convs around an identity shortcut, the body of the CycleGAN generator.

    The shortcut makes "leave the input alone" the default mapping, which suits translation where
    most of the image survives. Reflection padding avoids the dark borders that zero padding
    leaves in generated images.
    """

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            norm_layer(norm, channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator (Johnson et al.'s style-transfer net): downsample, transform, upsample.

    The residual blocks work at 1 / 2**n_down resolution, where 3x3 convs see a wide context
    cheaply. Convention: n_blocks=6 for 128 px, 9 for 256 px (more blocks, a wider field of view
    for larger images). H and W must be divisible by 2**n_down for the output to match the input
    size; this is documented rather than checked, to keep forward free of shape branches.

    upsample="resize" doubles the resolution with nearest-neighbour resizing then a 3x3 conv
    (Odena et al., "Deconvolution and Checkerboard Artifacts", Distill 2016): every output pixel
    gets the same number of kernel taps, so there is no period-2 grid for the generator to learn to
    hide. Nearest-neighbour copies still leave each 2x2 block flat, and the conv after it can turn
    that into a faint grid (1.7x a photo's period-2 energy, measured on summer2winter; the CycleGAN
    fine-tune train.distill_shifts takes it out of trained generators); "bilinear" resizing
    interpolates between the low-resolution features instead, and leaves none. "transpose" is the
    paper's stride-2 transposed conv, kept for the runs trained with it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 64,
        n_blocks: int = 9,
        n_down: int = 2,
        norm: str = "instance",
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        if upsample not in ("transpose", "resize", "bilinear"):
            raise ValueError(f"unknown upsample {upsample!r}; use transpose, resize or bilinear")
        # (B, in_channels, H, W) -> (B, width * 2**n_down, H / 2**n_down, W / 2**n_down)
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=False),
            norm_layer(norm, width),
            nn.ReLU(),
        )
        for i in range(n_down):
            c = width * 2**i
            self.encoder.extend([nn.Conv2d(c, 2 * c, 3, 2, 1, bias=False), norm_layer(norm, 2 * c), nn.ReLU()])

        self.blocks = nn.Sequential(*(ResnetBlock(width * 2**n_down, norm) for _ in range(n_blocks)))

        # Mirror of the encoder: each step exactly doubles H and W (output_padding=1 for the transposed conv).
        self.decoder = nn.Sequential()
        for i in reversed(range(n_down)):
            c = width * 2**i
            if upsample == "transpose":
                up = [nn.ConvTranspose2d(2 * c, c, 3, 2, 1, output_padding=1, bias=False)]
            else:  # bilinear samples half-way between pixels (align_corners False), as Pillow and OpenCV resize
                mode = "nearest" if upsample == "resize" else "bilinear"
                up = [nn.Upsample(scale_factor=2, mode=mode), nn.ReflectionPad2d(1), nn.Conv2d(2 * c, c, 3, bias=False)]
            self.decoder.extend([*up, norm_layer(norm, c), nn.ReLU()])
        self.decoder.extend([nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]."""
        return self.decoder(self.blocks(self.encoder(x)))


class UpscaleGenerator(nn.Module):
    """SRGAN's generator, small: a residual network at the input's resolution, then x2 stages of
    nearest-neighbour upsampling and a 3x3 conv (resize-convolution: no checkerboard, unlike
    sub-pixel or transposed convolutions before training removes it), added to the bicubic
    upscale of the input. The network only learns what bicubic misses (edges, texture), which is
    why it starts as good as bicubic and trains quickly."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 32, n_blocks: int = 8, scale: int = 4) -> None:
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"scale must be a power of two of at least 2, got {scale}")
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(in_channels, width, 9, padding=4), nn.PReLU(width))
        self.body = nn.Sequential(*[ResnetBlock(width, "batch") for _ in range(n_blocks)],
                                  nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))
        up: list[nn.Module] = []
        for _ in range(scale.bit_length() - 1):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, width, 3, padding=1), nn.PReLU(width)]
        self.up = nn.Sequential(*up, nn.Conv2d(width, out_channels, 3, padding=1))
        nn.init.zeros_(self.up[-1].weight)  # an untrained generator is exactly bicubic
        nn.init.zeros_(self.up[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) in [-1, 1] -> (B, C, scale * h, scale * w)."""
        features = self.head(x)
        residual = self.up(features + self.body(features))
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return base + residual
