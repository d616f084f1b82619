"""The original README's task, two noisy circles, written as in PyTorch: batch-first data, Adam, mini-batches.

    python examples/circles.py [--epochs 40] [--lr 0.03] [--batch-size 32] [--seed 0] [--plot]

examples/seed_readme.py is the original code, with its (features, examples) layout and plain
gradient descent; this is the same model trained the way you would train it in PyTorch.
About 96% test accuracy: with this noise the two circles overlap a little, so no model gets all.
"""

import numpy as np
from common import parse_args, plot_losses, progress
from sklearn.datasets import make_circles
from sklearn.model_selection import train_test_split

import neograd as ng
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset

args = parse_args("circles", epochs=40, lr=0.03, batch_size=32)
ng.manual_seed(args.seed)

X, y = make_circles(n_samples=1000, noise=0.05, random_state=100)
X, y = X.astype(np.float32), y.astype(np.float32)  # neograd's default dtype, as torch's
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
# batch-first: a row per example, (750, 2) inputs and (750, 1) targets
train = TensorDataset(ng.tensor(X_train), ng.tensor(y_train[:, None]))
loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))  # outputs a logit
loss_fn = nn.BCEWithLogitsLoss()  # sigmoid and binary cross-entropy in one stable op
optimizer = ng.optim.Adam(model.parameters(), lr=args.lr)

losses = []
bar = progress(args.epochs)  # range(args.epochs), with a progress bar
for _ in bar:
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    bar.set_postfix(loss=np.mean(losses[-len(loader) :]))

with ng.no_grad():
    predicted = model(ng.tensor(X_test)).numpy()[:, 0] > 0  # a positive logit means probability > 0.5
print(f"test accuracy: {np.mean(predicted == y_test):.4f}")

if args.plot:
    plot_losses(losses, args.plot, "circles: binary cross-entropy")
