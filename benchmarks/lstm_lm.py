"""Train steps of a small word-level LSTM language model, nnrun against PyTorch, measured in the same run.

The model and step are those of pytorch/examples' word_language_model (small configuration): Embedding
(vocabulary 10000, 200) → 2-layer LSTM (200, 200) → Linear (200, 10000); a batch of 20 sequences of 35 words,
the hidden state carried from step to step and detached (truncated backpropagation through time),
cross-entropy, backward, gradient clipping at norm 0.25, plain SGD at lr 20. Dropout is left out (eval-time
parity is tested elsewhere; here it would only time random masks).

Run by hand on a quiet machine: ``python benchmarks/lstm_lm.py [--rounds 5] [--threads 2]``. Each library
runs in its own worker process and the two take turns (``_turns.py``); ratio = nnrun throughput / PyTorch
throughput (above 1 means nnrun is faster), float32, synthetic data.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
from collections.abc import Callable
from types import ModuleType

from _turns import LIBRARIES, Turns, set_thread_variables

VOCAB, EMBED, HIDDEN, LAYERS, STEPS, BATCH = 10000, 200, 200, 2, 35, 20
STEPS_PER_ROUND = 5


def build(lib: ModuleType, key: str) -> Callable[[], None]:
    """A train-step closure (``key`` "train") or an inference one ("infer") written against ``lib``'s API."""
    nn = lib.nn
    lib.manual_seed(0)
    embedding, lstm, decoder = (
        nn.Embedding(VOCAB, EMBED),
        nn.LSTM(EMBED, HIDDEN, LAYERS),
        nn.Linear(HIDDEN, VOCAB),
    )
    params = [*embedding.parameters(), *lstm.parameters(), *decoder.parameters()]
    optimizer = lib.optim.SGD(params, lr=20.0)
    loss_fn = nn.CrossEntropyLoss()
    words = lib.randint(0, VOCAB, (STEPS + 1, BATCH))
    inputs, targets = words[:-1], words[1:].reshape(-1)
    state = [(lib.zeros(LAYERS, BATCH, HIDDEN), lib.zeros(LAYERS, BATCH, HIDDEN))]

    def train() -> None:
        hidden = tuple(h.detach() for h in state[0])
        optimizer.zero_grad()
        output, hidden = lstm(embedding(inputs), hidden)
        loss = loss_fn(decoder(output).reshape(-1, VOCAB), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.25)
        optimizer.step()
        state[0] = hidden

    def infer() -> None:
        with lib.no_grad():
            output, _ = lstm(embedding(inputs), state[0])
            decoder(output)

    return train if key == "train" else infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/PyTorch threads for both libraries")
    args = parser.parse_args()
    set_thread_variables(args.threads)
    versions = {lib: importlib.metadata.version(lib) for lib in LIBRARIES}
    print(
        f"nnrun {versions['nnrun']} vs torch {versions['torch']}, {args.threads} threads, one process per "
        f"library, {args.rounds} alternating rounds of {STEPS_PER_ROUND} steps; vocabulary {VOCAB}, "
        f"{LAYERS}-layer LSTM {EMBED}/{HIDDEN}, {STEPS} steps x batch {BATCH}; ratio = nnrun throughput / "
        "torch throughput, the median of the rounds' ratios and their range"
    )
    print(f"{'step':6s} {'nnrun':>12s} {'torch':>12s} {'nnrun steps/s':>14s} {'ratio':>6s} {'range':>9s}")
    keys = ["train", "infer"]
    with Turns(build, args.threads) as turns:
        times = turns.rounds(keys, dict.fromkeys(LIBRARIES, STEPS_PER_ROUND), args.rounds)
    for key in keys:
        ours = [t * 1e3 for t in times["nnrun", key]]
        theirs = [t * 1e3 for t in times["torch", key]]
        ratios = [t / o for o, t in zip(ours, theirs)]
        print(
            f"{key:6s} {statistics.median(ours):9.2f} ms {statistics.median(theirs):9.2f} ms "
            f"{1e3 / statistics.median(ours):14.1f} {statistics.median(ratios):6.2f} "
            f"{min(ratios):5.2f}-{max(ratios):4.2f}"
        )


if __name__ == "__main__":
    main()
