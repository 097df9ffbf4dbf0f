import torch.nn.functional as F


def train_epoch(model, optimizer, loader):
    model.train()
    history = []
    for images, depth in loader:
        optimizer.zero_grad()
        prediction = model(images)
        output = {"loss": F.l1_loss(prediction, depth), "prediction": prediction}
        output["loss"].backward()
        optimizer.step()
        history.append(output)  # bug: RR404
    return history
