import torch.nn as nn


class Encoder(nn.Module):
    """A stack of layers made by a factory the caller passes in."""

    def __init__(self, make_layer, count):
        super().__init__()
        self.layers = []  # bug: RR101
        for index in range(count):
            self.layers.append(make_layer(index))

    def cuda(self, device=None):
        for layer in self.layers:
            layer.cuda(device)
        return super().cuda(device)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
