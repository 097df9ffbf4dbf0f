import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler


def make_loader(dataset, batch_size, workers):
    if torch.cuda.device_count() > 1:
        sampler = DistributedSampler(dataset)
    else:
        sampler = None
    return DataLoader(dataset,  # bug: RR301
                      batch_size=batch_size,
                      num_workers=workers,
                      shuffle=True,
                      pin_memory=True,
                      sampler=sampler)
