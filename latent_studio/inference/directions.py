"""Directions of variation a trained generator offers, found without labels.

Two ways, both on any generator that reads z through a linear layer (every family here):

- SeFa (Shen and Zhou 2021), closed form: the first layer maps z to W z, so the unit directions
  that change its output most are the top eigenvectors of W^T W (W's right singular vectors). No
  sampling; a millisecond.
- GANSpace (Härkönen et al. 2020): PCA of the activations after the generator's first
  nonlinearity over sampled z, carried back to z by least squares (the z each principal component
  came from). It sees what the first ReLU keeps, at the cost of a few thousand forward passes
  through the first layer.

Directions come back as unit rows [K, dim] in z space (the codes and class one-hot InfoGAN and
conditional models append are left alone), largest variation first. A direction's sign is
arbitrary: what + does is for a judge to say (latent_studio.evaluation.discovered).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh)


def first_linear(generator: nn.Module, input_dim: int) -> nn.Linear | None:
    """The generator's first layer that reads its whole input, or None (a generator that starts
    with a convolution has no W for SeFa)."""
    return next((m for m in generator.modules() if isinstance(m, nn.Linear) and m.in_features == input_dim), None)


def sefa(weight: Tensor, k: int) -> Tensor:
    """The k unit directions of z ([k, dim]) that the first layer's weight ([out, dim]) stretches
    most: W's right singular vectors, in order of singular value. Spectral normalization divides W
    by a number, which changes no direction."""
    _, _, vh = torch.linalg.svd(weight.detach().double(), full_matrices=False)
    return _signed(vh[:k]).float()


def ganspace(z: Tensor, features: Tensor, k: int) -> Tensor:
    """Unit directions of z ([k, dim]) along which the features ([N, F], computed from z [N, dim])
    vary most: PCA of the features, then per component the z that best predicts its coordinate
    (least squares of z on the component coordinates, as GANSpace maps BigGAN's PCA back to z)."""
    x = features.detach().float().flatten(1)
    x = x - x.mean(0)
    _, _, v = torch.svd_lowrank(x, q=min(k + 10, *x.shape), niter=4)  # the top components only: F runs to thousands
    coords = (x @ v[:, :k]).double()  # [N, k]
    basis = torch.linalg.lstsq(coords, z.double() - z.double().mean(0)).solution  # [k, dim]: z = coords @ basis
    return _signed(basis / basis.norm(dim=1, keepdim=True)).float()


def first_activations(generator: nn.Module, inputs: Tensor) -> Tensor:
    """The output of the generator's first nonlinearity for `inputs` ([N, input_dim]), flattened."""
    layer = next((m for m in generator.modules() if isinstance(m, ACTIVATIONS)), None)
    if layer is None:
        raise ValueError("the generator has no activation layer to take GANSpace's features from")
    kept: list[Tensor] = []

    def keep(module, args, output):
        kept.append(output.flatten(1).clone())
        raise _Enough

    handle = layer.register_forward_hook(keep)
    try:
        generator(inputs)
    except _Enough:
        pass
    finally:
        handle.remove()
    return kept[0]


class _Enough(Exception):
    """Stops a forward pass once the hooked layer has given its output."""


def _signed(rows: Tensor) -> Tensor:
    """SVD's signs are arbitrary: flip each row so its largest entry is positive, so the same
    weights always give the same directions."""
    pick = rows.abs().argmax(1, keepdim=True)
    return rows * rows.gather(1, pick).sign()



def strip(base: Tensor, direction: Tensor, weights: Tensor) -> Tensor:
    """Generator inputs ([len(weights), input_dim]) that move one input ([input_dim]) along a z
    direction ([dim], the input's first dim values) by each weight: a row showing what it does."""
    moved = base.expand(len(weights), -1).clone()
    moved[:, :len(direction)] += weights[:, None].to(base) * direction.to(base)
    return moved
