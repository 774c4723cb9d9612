"""Time MultiHeadAttention against torch.nn.MultiheadAttention with the same weights.

CPU, float32, causal, forward in eval mode; the two are interleaved and the
medians compared. Usage: .venv/bin/python benchmarks/multihead_vs_torch.py [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from attn_examples.multihead import MultiHeadAttention, to_torch_multihead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--d-model", type=int, default=768)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    ours = MultiHeadAttention(args.d_model, args.d_model, args.tokens, args.heads, qkv_bias=True).eval()
    theirs = to_torch_multihead(ours).eval()
    x = torch.randn(args.batch, args.tokens, args.d_model)
    mask = torch.ones(args.tokens, args.tokens, dtype=torch.bool).triu(1)
    runs = {
        "attn_examples.MultiHeadAttention": lambda: ours(x),
        "torch.nn.MultiheadAttention": lambda: theirs(x, x, x, attn_mask=mask, is_causal=True, need_weights=False)[0],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        outputs = [run() for run in runs.values()]  # warm-up, and the two must agree
        torch.testing.assert_close(outputs[0], outputs[1], atol=1e-4, rtol=1e-4)
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch={args.batch} tokens={args.tokens} "
        f"d_model={args.d_model} heads={args.heads}, causal, eval, float32"
    )
    for name, median in medians.items():
        print(f"{name:35s} median {median * 1e3:8.1f} ms")
    ratio = medians["attn_examples.MultiHeadAttention"] / medians["torch.nn.MultiheadAttention"]
    print(f"ratio ours / torch: {ratio:.2f} (target ≤ 1.25)")


if __name__ == "__main__":
    main()
