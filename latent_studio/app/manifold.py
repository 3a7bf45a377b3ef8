"""A VAE's latent plane: where its encoder puts real test images, and a plotly scatter of them.

The test set is read with the run's own DataSpec (the same size, channels and normalization it
was trained on), so the points are where the encoder puts images like its training data.
"""

from __future__ import annotations

import plotly.graph_objects as go
from torch import Tensor

from latent_studio.evaluation.evaluate import encode_test_set
from latent_studio.families.run_models import LoadedRun
from latent_studio.runs.files import ENCODED_TEST, read_weights


def encoded_test_set(run: LoadedRun, root: str) -> tuple[Tensor, Tensor]:
    """Encoder means and labels of the test set: stored in the run by `evaluate` (so a server
    without the dataset, a public Space, still draws the scatter), else encoded from `root`
    (raises latent_studio.data.datasets.DatasetMissing when the data is not there either)."""
    stored = run.path / ENCODED_TEST
    if stored.is_file():
        tensors = read_weights(stored)
        return tensors["means"], tensors["labels"]
    return encode_test_set(run, root)


def scatter(means: Tensor, labels: Tensor, class_names: list[str], current: tuple[float, float]) -> go.Figure:
    """The encoded points, one color per class, with the explorer's current z marked."""
    figure = go.Figure()
    for k in sorted(labels.unique().tolist()):
        points = means[labels == k]
        name = class_names[k] if 0 <= k < len(class_names) else str(k)
        figure.add_trace(go.Scattergl(x=points[:, 0].tolist(), y=points[:, 1].tolist(), mode="markers", name=name,
                                      marker=dict(size=4, opacity=0.7)))
    figure.add_trace(go.Scatter(x=[current[0]], y=[current[1]], mode="markers", name="current z",
                                marker=dict(symbol="x", size=14, color="black", line=dict(width=2))))
    figure.update_layout(height=520, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="z[0]", yaxis_title="z[1]",
                         legend=dict(itemsizing="constant"))
    figure.update_yaxes(scaleanchor="x", scaleratio=1)
    return figure
