def finetune(model, optimizer, batches, log):
    loss_sum = 0.0
    for step, batch in enumerate(batches):
        outputs = model(**batch)
        loss = outputs.loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        loss_sum += loss  # bug: RR404
        if step % 100 == 99:
            log(loss_sum / 100)
            loss_sum = 0.0
