"""An LSTM reads scikit-learn's 8x8 digits row by row and names them (`hatch run examples:lstm_digits`).

    python examples/lstm_digits.py [--epochs 15] [--lr 0.01] [--batch-size 32] [--seed 0] [--plot]

Each image is a sequence of 8 steps, the 8 pixels of a row at each step, top to bottom:
the LSTM never sees the whole image at once, only its memory of the rows before. Its last
hidden state goes through one linear layer to a score per digit; cross-entropy, Adam, a
cosine learning-rate schedule and gradient clipping. About 97% test accuracy.
"""

import numpy as np
from common import digits, parse_args, plot_losses, progress

import neograd as ng
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset


class RowReader(nn.Module):
    """An LSTM over the rows of an image, then a linear layer on its final hidden state."""

    def __init__(self, hidden_size: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=8, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, classes)

    def forward(self, images: ng.Tensor) -> ng.Tensor:
        rows = images.reshape(-1, 8, 8)  # (N, 8 steps, 8 pixels)
        _, (h_n, _) = self.lstm(rows)  # h_n: (num_layers, N, hidden_size), after the last row
        return self.head(h_n[-1])


args = parse_args("lstm_digits", epochs=15, lr=0.01, batch_size=32)
ng.manual_seed(args.seed)  # the initial weights and the order of the batches

x_train, x_test, y_train, y_test = digits(flat=False)
train = TensorDataset(ng.tensor(x_train), ng.tensor(y_train))
loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)

model = RowReader()
loss_fn = nn.CrossEntropyLoss()
optimizer = ng.optim.Adam(model.parameters(), lr=args.lr)
scheduler = ng.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

losses = []
bar = progress(args.epochs)  # range(args.epochs), with a progress bar
for _ in bar:
    model.train()
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(
            model.parameters(), 1.0
        )  # NOTE: recurrent nets can have sudden huge gradients
        optimizer.step()
        losses.append(loss.item())
    scheduler.step()
    bar.set_postfix(loss=np.mean(losses[-len(loader) :]))

model.eval()
with ng.no_grad():
    predicted = model(ng.tensor(x_test)).argmax(dim=1).numpy()
print(f"test accuracy: {np.mean(predicted == y_test):.4f}")

if args.plot:
    plot_losses(losses, args.plot, "LSTM over digit rows: cross-entropy")
