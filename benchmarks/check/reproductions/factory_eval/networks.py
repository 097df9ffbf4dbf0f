import torch.nn as nn


class PointClassifier(nn.Module):
    def __init__(self, classes=40):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(3, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU())
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(64, classes)

    def forward(self, points):
        return self.head(self.drop(self.features(points)))


def build_classifier(name, classes):
    if name != "pointnet":
        raise ValueError(f"unknown network {name}")
    model = PointClassifier(classes)
    return model
