"""The digits CNN of digits_cnn.py trained data-parallel over MPI (`hatch run dist:demo`).

    mpiexec -n 2 python examples/ddp_digits.py [--epochs 15] [--lr 0.01] [--batch-size 32] [--seed 0]

Every rank runs this same script. Each trains the same model on its share of every batch
(DistributedSampler), DistributedDataParallel averages the gradients over the ranks during
backward, and every rank then takes the same optimizer step. With --batch-size 32 on 2 ranks
each rank computes 16 samples a step: the same training as the single-process example with
batches of 32, in a different order, so the same test accuracy (about 98%). Rank 0 prints.
A plain `python examples/ddp_digits.py` is a world of one process.

Give each rank one BLAS thread (`OMP_NUM_THREADS=1 mpiexec -n 2 ...`, as `hatch run dist:demo`
does): ranks that each start a thread per core fight over the cores and run many times slower.
"""

import time

import numpy as np
from common import digits, parse_args, progress

import neograd as ng
import neograd.distributed as dist
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset

args = parse_args("ddp_digits", epochs=15, lr=0.01, batch_size=32)
dist.init_process_group()
rank, world_size = dist.get_rank(), dist.get_world_size()
if args.batch_size % world_size:
    raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the {world_size} ranks")
ng.manual_seed(args.seed)  # the initial weights (DistributedDataParallel copies rank 0's anyway)

x_train, x_test, y_train, y_test = digits(flat=False)  # images of shape (1, 8, 8)
train = TensorDataset(ng.tensor(x_train), ng.tensor(y_train))
sampler = dist.DistributedSampler(train, shuffle=True, seed=args.seed)  # this rank's share
loader = DataLoader(train, batch_size=args.batch_size // world_size, sampler=sampler)

model = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (N, 16, 8, 8)
    nn.ReLU(),
    nn.MaxPool2d(2),  # (N, 16, 4, 4)
    nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (N, 32, 4, 4)
    nn.ReLU(),
    nn.MaxPool2d(2),  # (N, 32, 2, 2)
    nn.Flatten(),  # (N, 128)
    nn.Linear(128, 10),  # one score per digit
)
model = dist.DistributedDataParallel(model)  # gradients: the mean over the ranks
loss_fn = nn.CrossEntropyLoss()
optimizer = ng.optim.Adam(model.parameters(), lr=args.lr)
scheduler = ng.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

start = time.perf_counter()
bar = progress(args.epochs) if rank == 0 else range(args.epochs)
for epoch in bar:
    sampler.set_epoch(epoch)  # a new order each epoch, the same on every rank
    model.train()
    losses = []
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    scheduler.step()
    mean_loss = ng.tensor([np.mean(losses)], dtype=ng.float64)
    dist.all_reduce(mean_loss, op=dist.ReduceOp.AVG)  # the epoch's loss over all ranks
    if rank == 0:
        bar.set_postfix(loss=mean_loss.item())

model.eval()
with ng.no_grad():
    predicted = model(ng.tensor(x_test)).argmax(dim=1).numpy()
if rank == 0:
    seconds = time.perf_counter() - start
    print(f"{world_size} process(es), {seconds:.1f}s of training")
    print(f"test accuracy: {np.mean(predicted == y_test):.4f}")
dist.destroy_process_group()
