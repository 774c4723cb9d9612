"""Command line: ``python -m attn_examples bench ...``, ``... agreement ...`` and ``... train ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attn_examples import results
from attn_examples._checks import check_positive_int
from attn_examples.bench import DTYPES, IMPLEMENTATIONS, MODES, Config
from attn_examples.results import BenchRecord, read_results, writable_folder


def _bench_parser(sub: argparse._SubParsersAction) -> None:
    defaults = Config()
    p = sub.add_parser(
        "bench",
        help="time every attention implementation of the guide",
        description="Time, peak memory and error of every attention implementation of the guide.",
    )
    p.add_argument("--device", default=defaults.device, choices=["cpu", "cuda", "mps"])
    p.add_argument("--dtype", default=defaults.dtype, choices=list(DTYPES))
    p.add_argument("--batch", type=int, default=defaults.batch)
    p.add_argument("--heads", type=int, default=defaults.heads)
    p.add_argument("--head-dim", type=int, default=defaults.head_dim)
    p.add_argument("--tokens", type=int, nargs="+", default=list(defaults.tokens), metavar="T")
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--causal", default="both", choices=["both", "yes", "no"])
    p.add_argument("--repeats", type=int, default=defaults.repeats, help="timed runs of each implementation")
    p.add_argument("--warmup", type=int, default=defaults.warmup, help="untimed runs first")
    p.add_argument("--threads", type=int, default=defaults.threads, help="CPU threads for PyTorch")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=[i.name for i in IMPLEMENTATIONS],
        help="measure only these implementations",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for results.jsonl, results.md and time.svg, or for decode.jsonl with --decode "
        "(default: print the table only)",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the plot (no matplotlib needed)")
    p.add_argument(
        "--decode",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="time generation instead: N new tokens without and with the KV cache (a TinyDecoder of the guide's "
        "modules; --device, --dtype, --batch, --repeats, --warmup and --threads apply)",
    )
    p.add_argument(
        "--window",
        type=int,
        default=None,
        metavar="W",
        help="time causal attention in full and within a sliding window of W keys, at each --tokens "
        "(--device, --dtype, --batch, --heads, --head-dim, --repeats, --warmup and --threads apply); "
        "--out then writes window.jsonl",
    )
    p.add_argument(
        "--kv-groups",
        type=int,
        nargs="+",
        default=None,
        metavar="G",
        help="with --decode: time GroupedQueryAttention with G key-value heads for the 4 query heads, for each G "
        "(4: multi-head, 1: multi-query); --out then writes decode-gqa.jsonl",
    )
    p.add_argument(
        "--ranks",
        type=int,
        nargs="+",
        default=None,
        metavar="P",
        help="split each --tokens sequence across P local processes (gloo on the CPU, NCCL with a GPU per "
        "process) and time ring_attention against all_gather_attention, both layouts when causal "
        "(--dtype, --batch, --heads, --head-dim, --causal, --repeats and --warmup apply); "
        "--out then writes ring.jsonl",
    )
    p.add_argument(
        "--from-jsonl",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="measure nothing: merge earlier results.jsonl files and rewrite the tables and plot into --out",
    )


def _agreement_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "agreement",
        help="largest CPU-vs-GPU and float32-vs-float64 difference of every example",
        description="Run every worked example of the guide on the CPU (float32 and float64) and "
        "on a device, and report the largest difference of each comparison.",
    )
    p.add_argument(
        "--device",
        default=None,
        choices=["cpu", "cuda", "mps"],
        help="the device compared with the CPU (default: CUDA, else MPS, else the CPU)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="folder to write results.jsonl into (default: print the table only)"
    )


def _agreement(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from attn_examples import agreement

    try:
        device = agreement.resolve_device(args.device)
        if args.out is not None:
            writable_folder(args.out)
    except (TypeError, ValueError, RuntimeError) as error:
        parser.error(str(error))
    records = agreement.run(device, log=lambda line: print(line, file=sys.stderr))
    env = agreement.environment(device)
    if args.out is None:
        print(agreement.markdown_table(records, env), end="")
    else:
        print(agreement.write_results(records, env, args.out))
    return 0


def _train_parser(sub: argparse._SubParsersAction) -> None:
    from attn_examples.gpt import GPTConfig, TrainingConfig

    model, training = GPTConfig(), TrainingConfig()
    p = sub.add_parser(
        "train",
        help="train the tiny GPT on the shipped corpus",
        description='Train the chapter "tiny-gpt"\'s model on the shipped Shakespeare, with a progress bar; '
        "every evaluation records the held-out loss and each head's previous-token and induction scores.",
    )
    p.add_argument("--steps", type=int, default=training.steps)
    p.add_argument("--batch", type=int, default=training.batch)
    p.add_argument("--seed", type=int, default=training.seed)
    p.add_argument(
        "--repeated",
        type=float,
        default=training.repeated,
        help="the fraction of each batch's windows that repeat a passage (what makes induction heads appear)",
    )
    p.add_argument("--d-model", type=int, default=model.d_model)
    p.add_argument("--layers", type=int, default=model.layers)
    p.add_argument("--heads", type=int, default=model.num_heads)
    p.add_argument(
        "--device", default=None, choices=["cpu", "cuda", "mps"], help="default: CUDA, else MPS, else the CPU"
    )
    p.add_argument("--out", type=Path, default=None, help="the checkpoint to write (default: none)")


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> int:
    import dataclasses

    import torch

    from attn_examples import gpt
    from attn_examples.device import default_device

    try:
        for name in ("steps", "batch", "d_model", "layers", "heads"):
            check_positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
        if args.d_model % args.heads:
            raise ValueError(f"--d-model must be divisible by --heads, got {args.d_model} and {args.heads}")
        if args.out is not None:
            writable_folder(args.out.parent)
        device = torch.device(args.device) if args.device is not None else default_device()
    except (TypeError, ValueError, RuntimeError) as error:
        parser.error(str(error))
    try:
        training = gpt.TrainingConfig(steps=args.steps, batch=args.batch, seed=args.seed, repeated=args.repeated)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    training = dataclasses.replace(training, eval_every=min(training.eval_every, args.steps))
    torch.manual_seed(training.seed)
    config = gpt.GPTConfig(d_model=args.d_model, layers=args.layers, num_heads=args.heads)
    model = gpt.GPT(config).to(device)
    history = gpt.training_run(model, training, log=gpt.progress(training.steps))
    last = history[-1]
    print(
        f"held-out loss {last['held_out_loss']:.3f} nats per byte after {last['step']} steps, {last['seconds']:.0f} s"
    )
    if args.out is not None:
        gpt.round_to_float16(model)  # what the checkpoint holds; its loss and scores, measured again
        _, held_out = gpt.corpus()
        published: dict[str, object] = {
            "held_out_loss": gpt.held_out_loss(model, held_out, training.eval_batches, training.batch)
        }
        published.update({name: t.tolist() for name, t in gpt.head_scores(model, gpt.SAMPLE).items()})
        provenance = {
            "command": "python -m attn_examples train " + " ".join(argv),
            "training": dataclasses.asdict(training),
            "history": history,
            "published": published,
            "torch": str(torch.__version__),
            "device": str(device),
        }
        print(gpt.save_checkpoint(model, args.out, provenance))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_examples")
    sub = parser.add_subparsers(dest="command", required=True)
    _bench_parser(sub)
    _agreement_parser(sub)
    _train_parser(sub)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.command == "agreement":
        return _agreement(parser, args)
    if args.command == "train":
        return _train(parser, args, argv[1:])
    from attn_examples import bench

    if args.from_jsonl is not None:
        if args.out is None:
            parser.error("--from-jsonl needs --out")
        try:
            env, records = read_results(args.from_jsonl[0], BenchRecord)
            for path in args.from_jsonl[1:]:
                records += read_results(path, BenchRecord)[1]
            if not records:
                raise ValueError(f"no measurement in {', '.join(map(str, args.from_jsonl))}: nothing to tabulate")
            writable_folder(args.out)
        except OSError as error:
            parser.error(f"cannot read {error.filename}: {error.strerror}")
        except ValueError as error:
            parser.error(str(error))
        for path in bench.write_results(records, env, args.out, with_plot=not args.no_plot):
            print(path)
        return 0
    config = bench.config_from_args(args)
    try:  # everything that can fail is checked before minutes of timing
        config.check()
        if args.out is not None:
            writable_folder(args.out)
        for count in args.decode or ():
            check_positive_int("each --decode count", count)
        if args.window is not None:
            check_positive_int("--window", args.window)
            if args.decode is not None:
                raise ValueError("--window and --decode time different things: give one of them")
        if args.kv_groups is not None and args.decode is None:
            raise ValueError("--kv-groups times generation: it needs --decode")
        for groups in args.kv_groups or ():
            if check_positive_int("each --kv-groups count", groups) not in (1, 2, 4):
                raise ValueError(f"each --kv-groups count must divide the 4 query heads (1, 2 or 4), got {groups}")
        for count in args.ranks or ():
            if check_positive_int("each --ranks count", count) > min(config.tokens):
                raise ValueError(
                    f"each --ranks count needs at least one token per rank, got {count} for {min(config.tokens)} tokens"
                )
        if args.ranks is not None and config.device == "mps":
            raise ValueError(
                "--ranks runs on gloo (--device cpu) or NCCL (--device cuda, a GPU per process), not on mps"
            )
        if args.ranks is not None and (args.decode is not None or args.window is not None):
            raise ValueError("--ranks, --window and --decode time different things: give one of them")
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    if args.ranks is not None:
        ring_records = bench.ring_timings(config, args.ranks, layouts=("contiguous", "zigzag"))
        env = bench.environment(config)
        if args.out is None:
            for r in ring_records:
                sent = "-" if r.sent_mib is None else f"{r.sent_mib:.2f}"
                mask = f"causal {r.layout}" if r.causal else "full"
                print(
                    f"{r.implementation:20} P={r.ranks} T={r.tokens:6} {mask:17} "
                    f"{' / '.join(f'{ms:.2f}' for ms in r.rank_ms)} ms  {r.peak_extra_mib:8.2f} MiB  "
                    f"sent {sent} MiB  error {r.max_abs_error:.1e}"
                )
        else:
            print(results.write_results(args.out / "ring.jsonl", env, ring_records))
        return 0
    if args.window is not None:
        timings = bench.window_timings(config, args.window)
        env = bench.environment(config)
        if args.out is None:
            for record in timings:
                print(
                    f"{record.implementation:16} T={record.tokens:6}  {record.median_ms:9.2f} ms  "
                    f"{record.peak_extra_mib:8.1f} MiB"
                )
        else:
            print(results.write_results(args.out / "window.jsonl", env, timings))
        return 0
    if args.decode is not None:
        groups = args.kv_groups or [None]
        rates = [rate for g in groups for rate in bench.decode_rates(config, args.decode, kv_groups=g)]
        env = bench.environment(config)
        if args.out is None:
            print(bench.decode_table(rates, env))
        else:
            name = "decode.jsonl" if args.kv_groups is None else "decode-gqa.jsonl"
            print(results.write_results(args.out / name, env, rates))
        return 0
    records = bench.run(config, log=lambda line: print(line, file=sys.stderr))
    env = bench.environment(config)
    if args.out is None:
        print(bench.markdown_table(records, env))
    else:
        for path in bench.write_results(records, env, args.out, with_plot=not args.no_plot):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
