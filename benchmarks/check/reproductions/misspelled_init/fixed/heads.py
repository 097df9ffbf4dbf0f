import torch.nn as nn


class ClassifierHead(nn.Module):
    def __init__(self, features, classes):
        super().__init__()
        self.norm = nn.LayerNorm(features)
        self.fc = nn.Linear(features, classes)

    def forward(self, x):
        return self.fc(self.norm(x))
