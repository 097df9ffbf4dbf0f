"""Stands in for a training script: the transform below is the evidence for the image size."""

from __future__ import annotations

TRAIN_TRANSFORM = "transforms.RandomResizedCrop(224)"
