def train(model, optimizer, loader, accum_grad_steps):
    model.train()
    optimizer.zero_grad()
    for step, (features, labels) in enumerate(loader):
        loss = model(features, labels)  # bug: RR403
        loss.backward()
        if (step + 1) % accum_grad_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
