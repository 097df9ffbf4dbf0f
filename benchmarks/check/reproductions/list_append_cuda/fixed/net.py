import torch.nn as nn


class Encoder(nn.Module):
    """A stack of layers made by a factory the caller passes in."""

    def __init__(self, make_layer, count):
        super().__init__()
        self.layers = nn.ModuleList(make_layer(index) for index in range(count))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
