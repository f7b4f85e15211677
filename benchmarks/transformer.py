"""Train steps and inference of a small Transformer encoder classifier, nnrun against PyTorch in the same run.

The model (written once, against either library's API): Embedding (vocabulary 1000, d_model 128), two
TransformerEncoderLayers (4 heads, feed-forward 256, dropout 0.1, batch first), the mean over positions and a
Linear head to 10 classes; token batches of 32 sequences of 64; a train step is forward, cross-entropy,
backward and an Adam step. Each library runs in a worker process of its own and they take turns
(``_turns.py``); ratio = nnrun throughput / PyTorch throughput, the median of the rounds' ratios and their
range. Run by hand on a quiet machine: ``python benchmarks/transformer.py [--rounds 5] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
from collections.abc import Callable
from types import ModuleType
from typing import Any

from _turns import LIBRARIES, Turns, set_thread_variables

VOCAB, D_MODEL, HEADS, FEEDFORWARD, LAYERS, CLASSES = 1000, 128, 4, 256, 2, 10
BATCH, LENGTH = 32, 64
STEPS_PER_ROUND = 10


def classifier(lib: ModuleType) -> Any:
    """The encoder classifier built from ``lib.nn`` (nnrun's and torch's take the same arguments)."""
    nn = lib.nn

    class EncoderClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FEEDFORWARD, dropout=0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, CLASSES)

        def forward(self, tokens: Any) -> Any:
            return self.head(self.encoder(self.embed(tokens)).mean(1))

    return EncoderClassifier()


def build_step(lib: ModuleType, kind: str) -> Callable[[], None]:
    """A train step ("train") or an inference ("infer": eval mode, no_grad) closure in ``lib``."""
    lib.manual_seed(0)
    model = classifier(lib)
    tokens = lib.randint(0, VOCAB, (BATCH, LENGTH))
    labels = lib.randint(0, CLASSES, (BATCH,))
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()

    def train() -> None:
        model.train()
        optimizer.zero_grad()
        loss_fn(model(tokens), labels).backward()
        optimizer.step()

    def infer() -> None:
        model.eval()
        with lib.no_grad():
            model(tokens)

    return train if kind == "train" else infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/PyTorch threads for both libraries")
    args = parser.parse_args()
    set_thread_variables(args.threads)
    versions = {lib: importlib.metadata.version(lib) for lib in LIBRARIES}
    print(
        f"nnrun {versions['nnrun']} vs torch {versions['torch']}, {args.threads} threads, one process per "
        f"library, {args.rounds} alternating rounds of {STEPS_PER_ROUND} steps; Transformer encoder "
        f"classifier, batch {BATCH} x {LENGTH} tokens, d_model {D_MODEL}, {HEADS} heads, feed-forward "
        f"{FEEDFORWARD}, {LAYERS} layers; ratio = nnrun throughput / torch throughput (median, range)"
    )
    print(f"{'step':6s} {'nnrun':>12s} {'torch':>12s} {'ratio':>6s} {'range':>9s}")
    keys = ["train", "infer"]
    with Turns(build_step, args.threads) as turns:
        times = turns.rounds(keys, dict.fromkeys(LIBRARIES, STEPS_PER_ROUND), args.rounds)
    for key in keys:
        ours = [t * 1e3 for t in times["nnrun", key]]
        theirs = [t * 1e3 for t in times["torch", key]]
        ratios = [t / o for o, t in zip(ours, theirs)]
        print(
            f"{key:6s} {statistics.median(ours):9.2f} ms {statistics.median(theirs):9.2f} ms "
            f"{statistics.median(ratios):6.2f} {min(ratios):5.2f}-{max(ratios):4.2f}"
        )


if __name__ == "__main__":
    main()
