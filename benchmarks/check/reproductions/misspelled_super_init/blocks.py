import torch.nn as nn


class ConvBlock(nn.Module):
    def __init__(self, channels):
        super(ConvBlock, self).___init___()  # bug: RR104
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x):
        return self.norm(self.conv(x)).relu()
