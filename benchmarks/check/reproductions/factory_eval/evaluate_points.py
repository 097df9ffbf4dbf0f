import torch

from networks import build_classifier


def accuracy(checkpoint, loader):
    classifier = build_classifier("pointnet", 40)
    classifier.load_state_dict(torch.load(checkpoint))
    correct = total = 0
    with torch.no_grad():
        for points, target in loader:
            pred = classifier(points).argmax(1)  # bug: RR202
            correct += (pred == target).sum().item()
            total += len(target)
    return correct / total
