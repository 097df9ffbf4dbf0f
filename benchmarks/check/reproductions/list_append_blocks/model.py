import torch.nn as nn


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        return x + self.proj(x).relu()


class Tower(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.stages = []  # bug: RR101
        for _ in range(depth):
            self.stages.append(Residual(width))
        self.out = nn.Linear(width, 1)

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        return self.out(x)
