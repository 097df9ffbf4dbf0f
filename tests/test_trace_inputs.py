"""Input synthesis from `forward`'s signature, on models built in this process (torch, no child)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from repo_reader.trace.inputs import TensorSpec, candidates  # noqa: E402


class ImageText(nn.Module):
    """CLIP's shape: `forward(image, text)`, the text as token ids."""

    def __init__(self) -> None:
        super().__init__()
        self.context_length = 12
        self.conv = nn.Conv2d(3, 4, 3)
        self.token_embedding = nn.Embedding(100, 4)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.conv(image).mean() + self.token_embedding(text).mean()


def test_token_ids_beside_an_image_take_the_models_context_length_and_vocabulary() -> None:
    first = next(iter(candidates(ImageText(), (), (), small=False)))
    image, text = first.args
    assert isinstance(image, TensorSpec) and image.dtype == torch.float32 and image.shape[:2] == (2, 3)
    assert isinstance(text, TensorSpec) and (text.shape, text.dtype, text.high) == ((2, 12), torch.int64, 100)
    args, _ = first.build(torch.device("cpu"))
    ImageText()(*args)  # runs: ids within the vocabulary, the image the first convolution's size


class DiffusionUNet(nn.Module):
    """guided-diffusion's shape: `forward(x, timesteps)`, one diffusion step per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.time = nn.Linear(1, 8)  # registered before the convolution the image enters
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        emb = self.time(timesteps[:, None].float())  # (B, 8)
        return self.conv(x) + emb[:, :, None, None]


class EDMDenoiser(DiffusionUNet):
    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:  # a noise level per sample
        return super().forward(x, sigma.log())


@pytest.mark.parametrize(("model", "dtype"), [(DiffusionUNet(), torch.int64), (EDMDenoiser(), torch.float32)])
def test_a_diffusion_step_is_one_number_per_sample(model: nn.Module, dtype: torch.dtype) -> None:
    ladder = list(candidates(model, (), (), small=False))
    assert [candidate.args[0].shape for candidate in ladder[:2]] == [(2, 1), (2, 3, 32, 32)]  # the Linear's, then the Conv's
    image, step = ladder[1].args
    assert isinstance(step, TensorSpec) and (step.shape, step.dtype) == ((2,), dtype)
    args, _ = ladder[1].build(torch.device("cpu"))
    assert model(*args).shape == image.shape[:1] + (8,) + image.shape[2:]


class SizedUNet(DiffusionUNet):
    """Keeps the size it was built for, as guided-diffusion's UNetModel does (`self.image_size`)."""

    def __init__(self, image_size: int) -> None:
        super().__init__()
        self.image_size = image_size


def test_the_size_the_built_model_keeps_comes_before_a_scripts_option_default() -> None:
    from repo_reader.trace.request import SizeHint

    hint = SizeHint("image-size", 256, "scripts/image_sample.py:12: --image_size 256")
    ladder = candidates(SizedUNet(image_size=48), (), (hint,), small=False)
    conv_inputs = [c for c in ladder if len(c.args[0].shape) == 4]
    assert [c.args[0].shape[2:] for c in conv_inputs[:2]] == [(48, 48), (256, 256)]
    assert "size 48 from `self.image_size`" in conv_inputs[0].reason
