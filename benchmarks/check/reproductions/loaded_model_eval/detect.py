import torch
import torch.nn as nn


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.head = nn.Conv2d(16, 5, 1)

    def forward(self, images):
        return self.head(self.backbone(images))


class Checkpoint:
    def __init__(self, path):
        state = torch.load(path)
        self.model = Detector()
        self.model.load_state_dict(state)


def predict(path, frames):
    model = Checkpoint(path).model
    boxes = []
    with torch.inference_mode():
        for frame in frames:
            boxes.append(model(frame))  # bug: RR202
    return boxes
