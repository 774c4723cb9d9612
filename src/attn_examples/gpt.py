"""A tiny GPT: the chapter "tiny-gpt".

A small decoder-only model of the guide's own parts (a token embedding, pre-norm Transformer blocks whose
attention turns queries and keys by their positions with RoPE, a last layer norm and an output layer tied to
the token embedding), trained on the
CPU on about 1 MB of Shakespeare read as bytes, and what its trained heads do: some look at the
previous token, some copy what followed an earlier occurrence of the current token (induction heads).
``python -m attn_examples train`` trains it; the guide's checkpoint lies beside this module.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

# --8<-- [end:imports]
# isort: split
import ast
import hashlib
import inspect
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from attn_examples._checks import check_bool, check_positive_int, check_probability, checked_by, checked_methods
from attn_examples.chapters import Example, Heatmap, Lines, Outputs
from attn_examples.kv_cache import KVCache, cached_attention
from attn_examples.positions import PositionalMultiHeadAttention, apply_rope, rope_angles
from attn_examples.transformer import FeedForward, TransformerBlock

DATA = Path(__file__).with_name("data")
CORPUS = DATA / "shakespeare.txt"  # its source and licence: data/README.md
CHECKPOINT = DATA / "tiny_gpt.pt"
TRAIN_COMMAND = "python -m attn_examples train --out src/attn_examples/data/tiny_gpt.pt"
# three lines of the held-out part of the corpus (Measure for Measure, III.1), on which heads are shown
SAMPLE = "To be imprison'd in the viewless winds,\nAnd blown with restless violence round about\nThe pendent world;"


# --8<-- [start:bytes]
def encode(text: str) -> torch.Tensor:
    """The UTF-8 bytes of ``text`` as token ids 0–255: a vocabulary that holds every text.

    >>> encode("Hi, ü")
    tensor([ 72, 105,  44,  32, 195, 188])
    """
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)


def decode(tokens: torch.Tensor) -> str:
    """The text of byte tokens; a character cut in the middle of its bytes shows as U+FFFD.

    >>> decode(encode("Hi, ü"))
    'Hi, ü'
    """
    return bytes(tokens.tolist()).decode("utf-8", errors="replace")


# --8<-- [end:bytes]


# --8<-- [start:model]
@dataclass(frozen=True)
class GPTConfig:
    """The sizes of a ``GPT``. The defaults are the guide's trained model."""

    vocab: int = 256
    context_length: int = 128
    d_model: int = 64
    num_heads: int = 4
    layers: int = 4
    dropout: float = 0.0


class GPTBlock(TransformerBlock):
    """A pre-norm ``TransformerBlock`` whose attention knows positions by RoPE (the chapter
    "positional-encoding") and can take the keys and values of earlier tokens from a KV cache (the chapter
    "kv-cache"): ``forward(x, cache)`` reads only the new tokens when the earlier ones are in ``cache``. Its
    weights are a ``TransformerBlock``'s, under the same names."""

    attention: PositionalMultiHeadAttention  # type: ignore[assignment]

    def __init__(self, d_model: int, num_heads: int, context_length: int, dropout: float = 0.0) -> None:
        super().__init__(d_model, num_heads, context_length, dropout=dropout)
        self.attention = PositionalMultiHeadAttention(
            d_model, d_model, context_length, num_heads, positions="rope", dropout=dropout, qkv_bias=True
        )

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:  # type: ignore[override]
        h = self.norm_1(x)
        attended = self.attention(h) if cache is None else cached_attention(self.attention, h, cache)
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.norm_2(x)))


class GPT(nn.Module):
    """Token ids ``(batch, tokens)`` to next-token logits ``(batch, tokens, vocab)``: token embedding,
    ``layers`` pre-norm blocks with RoPE, a last layer norm, and the token embedding again as the output
    layer (GPT-2's tied weights). ``forward(tokens, caches)`` reads only the new tokens when
    ``caches`` (one ``KVCache`` per block, from ``new_caches``) hold the earlier ones.

    >>> model = GPT(GPTConfig(context_length=16, d_model=8, num_heads=2, layers=2))
    >>> model(encode("Hello")[None]).shape
    torch.Size([1, 5, 256])
    """

    def __init__(self, config: GPTConfig | None = None) -> None:
        super().__init__()
        self.config = config = GPTConfig() if config is None else config
        self.token_embedding = nn.Embedding(config.vocab, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            GPTBlock(config.d_model, config.num_heads, config.context_length, config.dropout)
            for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.d_model)
        self.apply(_gpt2_init)

    def new_caches(self, batch: int, capacity: int) -> list[KVCache]:
        """One empty cache per block, for ``batch`` sequences of up to ``capacity`` tokens."""
        c, weight = self.config, self.token_embedding.weight
        head_dim = c.d_model // c.num_heads
        return [
            KVCache(batch, c.num_heads, head_dim, capacity, dtype=weight.dtype, device=weight.device)
            for _ in self.blocks
        ]

    def forward(self, tokens: torch.Tensor, caches: list[KVCache] | None = None) -> torch.Tensor:
        x = self.dropout(self.token_embedding(tokens))  # positions enter each head's scores, by RoPE
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.norm(x) @ self.token_embedding.weight.T


def _gpt2_init(module: nn.Module) -> None:
    """GPT-2's initialisation: weights from N(0, 0.02²), biases zero (layer norms keep ones and zeros)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


# --8<-- [end:model]


# --8<-- [start:training]
@dataclass(frozen=True)
class TrainingConfig:
    """How ``train`` runs: AdamW with weight decay on the matrices alone, a linear warm-up then a cosine
    decay of the learning rate to a tenth, the gradients' norm clipped, a held-out loss every
    ``eval_every`` steps; a fraction ``repeated`` of each batch's windows repeats a passage until it is full
    (``repeated_windows``)."""

    steps: int = 2500
    batch: int = 32
    learning_rate: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.1
    clip: float = 1.0
    eval_every: int = 250
    eval_batches: int = 8
    repeated: float = 0.5
    seed: int = 1337


def split_corpus(data: torch.Tensor, held_out: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``1 - held_out`` of the tokens to train on, the rest to measure on.

    >>> [len(part) for part in split_corpus(torch.arange(100))]
    [90, 10]
    """
    cut = int(len(data) * (1 - held_out))
    return data[:cut], data[cut:]


def random_windows(
    data: torch.Tensor, batch: int, context_length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` windows of ``context_length`` tokens from random places of ``data``, and the same windows
    one token later: the inputs and, at every position, the token to predict."""
    starts = torch.randint(len(data) - context_length, (batch,), generator=generator)
    inputs = torch.stack([data[s : s + context_length] for s in starts.tolist()])
    targets = torch.stack([data[s + 1 : s + 1 + context_length] for s in starts.tolist()])
    return inputs, targets


def repeated_windows(
    data: torch.Tensor, batch: int, context_length: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """As ``random_windows``, but each window is a passage of ``data`` repeated until the window is full, a
    passage of 8 to ``context_length // 2`` tokens, its length drawn for each window: text whose repeats
    only a model that copies from its context can predict, and only by finding where the current token
    came before, since the distance back changes from window to window. A little of it in training makes
    induction heads appear within minutes."""
    windows = []
    for _ in range(batch):
        length = int(torch.randint(8, context_length // 2 + 1, (), generator=generator))
        passage, _ = random_windows(data, 1, length, generator)
        windows.append(passage[0].repeat(context_length // length + 2)[: context_length + 1])
    repeated = torch.stack(windows)
    return repeated[:, :-1], repeated[:, 1:]


@torch.no_grad()
def held_out_loss(model: GPT, data: torch.Tensor, batches: int = 8, batch: int = 32, seed: int = 0) -> float:
    """The mean cross-entropy, in nats per byte, of ``model`` on ``batches`` fixed random windows of ``data``."""
    was_training, device = model.training, model.token_embedding.weight.device
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(batches):
        inputs, targets = random_windows(data, batch, model.config.context_length, generator)
        logits = model(inputs.to(device))
        losses.append(F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten()).item())
    model.train(was_training)
    return sum(losses) / len(losses)


def optimizer_and_schedule(
    model: GPT, config: TrainingConfig
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW with weight decay on the weight matrices and embeddings (not on biases and layer norms), and a
    learning rate that rises linearly for ``warmup`` steps, then falls along a cosine to a tenth."""
    decayed = [p for p in model.parameters() if p.dim() >= 2]
    kept = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decayed, "weight_decay": config.weight_decay}, {"params": kept, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.95))
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / config.warmup, total_iters=config.warmup)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, config.steps - config.warmup), eta_min=config.learning_rate / 10
    )
    schedule = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[config.warmup])
    return optimizer, schedule


def train(
    model: GPT,
    train_data: torch.Tensor,
    held_out_data: torch.Tensor,
    config: TrainingConfig | None = None,
    on_eval: Callable[[GPT, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place on random windows of ``train_data``; every ``config.eval_every`` steps (and at
    the end) record the step, the training loss of the last step, the held-out loss and the seconds so far,
    and pass the record to ``on_eval``. Returns the records. The same seed gives the same model."""
    config = TrainingConfig() if config is None else config
    torch.manual_seed(config.seed)  # dropout
    generator = torch.Generator().manual_seed(config.seed)  # the windows
    device = model.token_embedding.weight.device
    optimizer, schedule = optimizer_and_schedule(model, config)
    history: list[dict[str, float]] = []
    began = time.perf_counter()
    model.train()
    for step in range(1, config.steps + 1):
        inputs, targets = random_windows(train_data, config.batch, model.config.context_length, generator)
        copies = round(config.repeated * config.batch)
        if copies:  # the first windows of the batch become passages followed by themselves
            context = model.config.context_length
            inputs[:copies], targets[:copies] = repeated_windows(train_data, copies, context, generator)
        logits = model(inputs.to(device))
        loss = F.cross_entropy(logits.flatten(0, 1), targets.to(device).flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        schedule.step()
        if step % config.eval_every == 0 or step == config.steps:
            held_out = held_out_loss(model, held_out_data, config.eval_batches, config.batch)
            record = {"step": step, "loss": loss.item(), "held_out_loss": held_out}
            record["seconds"] = time.perf_counter() - began
            history.append(record)
            if on_eval is not None:
                on_eval(model, record)
    model.eval()
    return history


# --8<-- [end:training]


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    model: GPT,
    prompt: torch.Tensor,
    new_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``prompt`` ``(batch, tokens)`` followed by ``new_tokens`` tokens: the most likely one at each step when
    ``temperature`` is 0 (greedy), else one drawn from the softmax of the logits divided by ``temperature``,
    among the ``top_k`` most likely if given. With ``use_cache`` the prompt is read once and each step reads
    its one new token; without, every step reads the whole sequence again. Prompt and new tokens together
    must fit in the model's context length."""
    tokens = prompt
    caches = model.new_caches(prompt.shape[0], prompt.shape[1] + new_tokens) if use_cache else None
    step_input = prompt
    for _ in range(new_tokens):
        logits = model(step_input if use_cache else tokens, caches)[:, -1].float()
        if temperature == 0.0:
            following = logits.argmax(dim=-1, keepdim=True)
        else:
            if top_k is not None:  # every logit below the k-th largest is ruled out
                kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probabilities = torch.softmax(logits / temperature, dim=-1)
            following = torch.multinomial(probabilities.cpu(), 1, generator=generator).to(tokens.device)
        tokens = torch.cat((tokens, following), dim=1)
        step_input = following
    return tokens


# --8<-- [end:generate]


# --8<-- [start:heads]
@torch.no_grad()
def attention_maps(model: GPT, tokens: torch.Tensor) -> torch.Tensor:
    """Every head's attention weights on ``tokens`` ``(tokens,)``: ``(layers, heads, tokens, tokens)``, row
    ``i`` the weights of query ``i`` over the keys ``0…i``, as each block computes them."""
    x = model.token_embedding(tokens[None])
    maps = []
    for block in cast(list[GPTBlock], model.blocks):
        queries, keys, _ = block.attention.heads(block.norm_1(x))
        scores = queries @ keys.transpose(-2, -1) / math.sqrt(queries.shape[-1])
        hidden = torch.ones(len(tokens), len(tokens), dtype=torch.bool, device=tokens.device).triu(1)
        maps.append(torch.softmax(scores.masked_fill(hidden, float("-inf")), dim=-1)[0])
        x = block(x)
    return torch.stack(maps)


def previous_token_scores(maps: torch.Tensor) -> torch.Tensor:
    """Each head's mean weight on the token just before the query, over queries 1 onwards:
    ``(layers, heads)``, 1 for a head that always looks one token back.

    >>> previous_token_scores(torch.eye(4)[[0, 0, 1, 2]][None, None])  # each query on the key before it
    tensor([[1.]])
    """
    return maps.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=-1)


def repeated_random_tokens(length: int, seed: int = 0) -> torch.Tensor:
    """``length`` random lowercase letters, then the same ``length`` again: ``(2 * length,)`` byte tokens.
    Letters are what the model read in training, but in an order that no text has: only a model that
    copies from its context can predict the second half."""
    first = torch.randint(ord("a"), ord("z") + 1, (length,), generator=torch.Generator().manual_seed(seed))
    return torch.cat((first, first))


def induction_scores(maps: torch.Tensor) -> torch.Tensor:
    """Each head's mean weight, in the second half of a sequence made of a random half repeated, on the token
    that followed the current token's earlier occurrence (query ``i`` on key ``i - n + 1`` for halves of
    ``n``): ``(layers, heads)``, 1 for a head that always finds it.

    >>> induction_scores(torch.eye(6)[[0, 0, 1, 1, 2, 0]][None, None])  # queries 3, 4 on keys 1, 2; 5 not on 3
    tensor([[0.6667]])
    """
    n = maps.shape[-1] // 2
    return maps[..., n:, :].diagonal(offset=1, dim1=-2, dim2=-1)[..., :n].mean(dim=-1)


def head_scores(model: GPT, text: str, length: int = 48, seed: int = 0) -> dict[str, torch.Tensor]:
    """``"previous_token"`` scores on ``text`` and ``"induction"`` scores on ``repeated_random_tokens``, each
    ``(layers, heads)``."""
    device = model.token_embedding.weight.device
    on_text = attention_maps(model, encode(text).to(device))
    on_repeats = attention_maps(model, repeated_random_tokens(length, seed).to(device))
    return {"previous_token": previous_token_scores(on_text), "induction": induction_scores(on_repeats)}


# --8<-- [end:heads]


def training_run(
    model: GPT, config: TrainingConfig, log: Callable[[GPT, dict[str, float]], None] | None = None
) -> list[dict[str, Any]]:
    """``train`` on the shipped corpus, recording at each evaluation every head's previous-token score on
    ``SAMPLE`` and induction score on repeated random tokens, as nested lists ``[layer][head]``."""
    train_data, held_out_data = corpus()
    history: list[dict[str, Any]] = []

    def record(model: GPT, entry: dict[str, float]) -> None:
        scores = head_scores(model, SAMPLE)
        history.append({**entry, **{name: t.tolist() for name, t in scores.items()}})
        if log is not None:
            log(model, entry)

    start = {"step": 0, "loss": held_out_loss(model, train_data), "held_out_loss": held_out_loss(model, held_out_data)}
    record(model, {**start, "seconds": 0.0})  # the untrained model (its loss on training windows)
    train(model, train_data, held_out_data, config, on_eval=record)
    return history


def model_code_hash() -> str:
    """A hash of the code of every class and function that computes a loaded model's logits, as Python parses
    it (docstrings, comments and layout left out): a checkpoint trained with other code may not give the
    logits it gave then."""
    parts = (GPTBlock, GPT, TransformerBlock, FeedForward, PositionalMultiHeadAttention, apply_rope, rope_angles)
    trees = [ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(part)))) for part in parts]
    for node in (node for tree in trees for node in ast.walk(tree)):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):  # a docstring
            setattr(node, "body", cast(list[ast.stmt], body)[1:] or [ast.Pass()])  # noqa: B010
    return hashlib.sha256("\n".join(ast.dump(tree) for tree in trees).encode()).hexdigest()


@torch.no_grad()
def round_to_float16(model: GPT) -> GPT:
    """``model`` with every weight rounded, in place, to the nearest number float16 holds (kept in the
    model's dtype): what a checkpoint stores, at half the bytes, and what the browser computes with."""
    for p in model.parameters():
        p.copy_(p.half())
    return model


def save_checkpoint(model: GPT, path: Path, provenance: dict[str, Any]) -> Path:
    """Write ``model``'s sizes, its weights in float16 and ``provenance`` (with the model code's hash) to
    ``path``. The weights must be float16 numbers already (``round_to_float16``), so that the model
    loaded back is the model saved."""
    for name, t in model.state_dict().items():
        if not torch.equal(t.half().to(t.dtype), t):
            raise ValueError(f"{name} holds numbers that float16 cannot; round the model first with round_to_float16")
    weights = {name: t.detach().to("cpu", torch.float16) for name, t in model.state_dict().items()}
    payload = {"config": asdict(model.config), "weights": weights, "code": model_code_hash(), **provenance}
    torch.save(payload, path)
    return path


def read_checkpoint(path: Path = CHECKPOINT) -> dict[str, Any]:
    """The saved dictionary: ``config``, ``weights``, ``code`` and the provenance ``train`` recorded."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(path: Path = CHECKPOINT, dtype: torch.dtype = torch.float32) -> GPT:
    """The model saved at ``path`` (the guide's trained one by default), in ``dtype``, in evaluation mode, on
    the CPU.
    Refuses a checkpoint made by other model code, naming the command that retrains it."""
    saved = read_checkpoint(path)
    if saved["code"] != model_code_hash():
        raise ValueError(
            f"{path} was trained with other model code than this package's; retrain it with `{TRAIN_COMMAND}`"
        )
    model = GPT(GPTConfig(**saved["config"]))
    model.load_state_dict({name: t.to(dtype) for name, t in saved["weights"].items()})
    return model.to(dtype).eval()


def progress(total: int, out: Any = sys.stderr) -> Callable[[GPT, dict[str, float]], None]:
    """An ``on_eval`` for ``train`` that redraws one line: a bar, the step, the losses and the time."""

    def show(model: GPT, record: dict[str, float]) -> None:
        done = record["step"] / total
        bar = "#" * int(30 * done)
        out.write(
            f"\r[{bar:30}] step {record['step']:.0f}/{total}  loss {record['loss']:.3f}  "
            f"held-out {record['held_out_loss']:.3f}  {record['seconds']:.0f} s"
        )
        if record["step"] == total:
            out.write("\n")
        out.flush()

    return show


def corpus() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped corpus as bytes, split into training and held-out tokens."""
    return split_corpus(encode(CORPUS.read_text(encoding="utf-8")))


# The public names check their input first (attn_examples._checks.checked_by, checked_methods); the
# listings above, which the page shows, hold the computation alone.
def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")


def _check_token_ids(name: str, tokens: object, shape: str, rank: int, vocab: int = 256) -> torch.Tensor:
    if not isinstance(tokens, torch.Tensor) or tokens.dtype != torch.long:
        kind = tokens.dtype if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise TypeError(f"{name} must be a torch.long tensor of token ids {shape}, got {kind}")
    if tokens.dim() != rank:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(tokens.shape)}")
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab):
        raise ValueError(
            f"{name} must hold token ids in [0, {vocab}) (the model's vocabulary), got ids from "
            f"{tokens.min().item()} to {tokens.max().item()}"
        )
    return tokens


def _check_decode(tokens: object) -> None:
    _check_token_ids("tokens", tokens, "(tokens,)", 1)


def _fields(cls: type, args: tuple[object, ...], kwargs: dict[str, object]) -> dict[str, Any]:
    """The fields a dataclass ``cls`` would get from ``cls(*args, **kwargs)``, defaults included."""
    bound = inspect.signature(cls).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _check_config(self: GPTConfig, *args: object, **kwargs: object) -> None:
    config = _fields(GPTConfig, args, kwargs)
    for name in ("vocab", "context_length", "d_model", "num_heads", "layers"):
        check_positive_int(name, config[name])
    if config["d_model"] % config["num_heads"]:
        raise ValueError(f"d_model must be divisible by num_heads, got {config['d_model']} and {config['num_heads']}")
    check_probability("dropout", config["dropout"])


def _check_training(self: TrainingConfig, *args: object, **kwargs: object) -> None:
    config = _fields(TrainingConfig, args, kwargs)
    for name in ("steps", "batch", "warmup", "eval_every", "eval_batches"):
        check_positive_int(name, config[name])
    for name in ("learning_rate", "clip"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    decay, repeated, seed = config["weight_decay"], config["repeated"], config["seed"]
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < math.inf:
        raise ValueError(f"weight_decay must be a finite number ≥ 0, got {decay!r}")
    if isinstance(repeated, bool) or not isinstance(repeated, (int, float)) or not 0 <= repeated <= 1:
        raise ValueError(f"repeated must be a fraction in [0, 1], got {repeated!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")


def _check_gpt_init(self: GPT, config: object = None) -> None:
    if config is not None and not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")


def _check_gpt_forward(self: GPT, tokens: object, caches: object = None) -> None:
    tokens = _check_token_ids("tokens", tokens, "(batch, tokens)", 2, self.config.vocab)
    if tokens.device != self.token_embedding.weight.device:
        raise ValueError(f"tokens are on {tokens.device} but the model is on {self.token_embedding.weight.device}")
    before = 0
    if caches is not None:
        if not isinstance(caches, list) or len(caches) != len(self.blocks):
            raise TypeError(f"caches must be a list of {len(self.blocks)} KVCache, one per block (new_caches)")
        before = len(caches[0])
    if before + tokens.shape[1] > self.config.context_length:
        raise ValueError(
            f"{before} cached and {tokens.shape[1]} new tokens exceed the model's context_length, "
            f"{self.config.context_length}; keep the last {self.config.context_length} tokens"
        )


def _check_new_caches(self: GPT, batch: object, capacity: object) -> None:
    check_positive_int("batch", batch)
    if check_positive_int("capacity", capacity) > self.config.context_length:
        raise ValueError(f"capacity must be at most the context_length, {self.config.context_length}, got {capacity}")


def _check_split(data: object, held_out: object = 0.1) -> None:
    _check_token_ids("data", data, "(tokens,)", 1, vocab=2**62)
    if isinstance(held_out, bool) or not isinstance(held_out, (int, float)) or not 0 < held_out < 1:
        raise ValueError(f"held_out must be a fraction in (0, 1), got {held_out!r}")


def _check_windows(data: object, batch: object, context_length: object, generator: object) -> None:
    data = _check_token_ids("data", data, "(tokens,)", 1, vocab=2**62)
    check_positive_int("batch", batch)
    if check_positive_int("context_length", context_length) >= len(data):
        raise ValueError(f"data must hold more than context_length={context_length} tokens, got {len(data)}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")


def _check_repeated_windows(data: object, batch: object, context_length: object, generator: object) -> None:
    _check_windows(data, batch, context_length, generator)
    if cast(int, context_length) < 16:
        raise ValueError(
            f"context_length must be at least 16 (passages of 8 tokens and more, twice), got {context_length}"
        )


def _check_model(model: object) -> GPT:
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a GPT, got {type(model).__name__}")
    return model


def _check_held_out(model: object, data: object, batches: object = 8, batch: object = 32, seed: object = 0) -> None:
    model = _check_model(model)
    check_positive_int("batches", batches)
    _check_windows(data, batch, model.config.context_length, torch.Generator())
    _check_token_ids("data", data, "(tokens,)", 1, model.config.vocab)


def _check_optimizer(model: object, config: object) -> None:
    _check_model(model)
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig, got {type(config).__name__}")


def _check_train(
    model: object,
    train_data: object,
    held_out_data: object,
    config: object = None,
    on_eval: object = None,
) -> None:
    _check_optimizer(model, TrainingConfig() if config is None else config)
    context = cast(GPT, model).config.context_length
    for name, data in (("train_data", train_data), ("held_out_data", held_out_data)):
        data = _check_token_ids(name, data, "(tokens,)", 1, cast(GPT, model).config.vocab)
        if len(data) <= context:
            raise ValueError(f"{name} must hold more than context_length={context} tokens, got {len(data)}")
    if on_eval is not None and not callable(on_eval):
        raise TypeError(f"on_eval must be a function of (model, record), got {type(on_eval).__name__}")


def _check_generate(
    model: object,
    prompt: object,
    new_tokens: object,
    temperature: object = 0.0,
    top_k: object = None,
    use_cache: object = True,
    generator: object = None,
) -> None:
    model = _check_model(model)
    prompt = _check_token_ids("prompt", prompt, "(batch, tokens)", 2, model.config.vocab)
    if prompt.shape[1] == 0:
        raise ValueError("prompt must hold at least one token")
    new_tokens = check_positive_int("new_tokens", new_tokens)
    if prompt.shape[1] + new_tokens > model.config.context_length:
        raise ValueError(
            f"the prompt's {prompt.shape[1]} tokens and {new_tokens} new ones exceed the model's context_length, "
            f"{model.config.context_length}"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature < math.inf:
        raise ValueError(f"temperature must be a finite number ≥ 0 (0 for greedy), got {temperature!r}")
    if top_k is not None:
        check_positive_int("top_k", top_k)
    check_bool("use_cache", use_cache)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def _check_maps_input(model: object, tokens: object) -> None:
    model = _check_model(model)
    tokens = _check_token_ids("tokens", tokens, "(tokens,)", 1, model.config.vocab)
    if not 0 < len(tokens) <= model.config.context_length:
        raise ValueError(
            f"tokens must hold 1 to context_length={model.config.context_length} tokens, got {len(tokens)}"
        )


def _check_maps(maps: object) -> torch.Tensor:
    if not isinstance(maps, torch.Tensor) or not maps.is_floating_point():
        raise TypeError("maps must be a floating-point tensor of attention weights (layers, heads, tokens, tokens)")
    if maps.dim() != 4 or maps.shape[-1] != maps.shape[-2] or maps.shape[-1] < 2:
        raise ValueError(
            f"maps must have shape (layers, heads, tokens, tokens) with 2 tokens or more, got {tuple(maps.shape)}"
        )
    return maps


def _check_induction(maps: object) -> None:
    tokens = _check_maps(maps).shape[-1]
    if tokens % 2:
        raise ValueError(f"maps must cover an even number of tokens (a half and its repeat), got {tokens}")


def _check_repeated(length: object, seed: object = 0) -> None:
    check_positive_int("length", length)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")


def _check_head_scores(model: object, text: object, length: object = 48, seed: object = 0) -> None:
    model = _check_model(model)
    _check_text(text)
    _check_repeated(length, seed)
    if len(cast(str, text).encode()) < 2:
        raise ValueError("text must hold at least two bytes")
    if 2 * cast(int, length) > model.config.context_length:
        raise ValueError(
            f"2 * length must fit in the context_length, {model.config.context_length}, got length {length}"
        )


checked_methods(GPTConfig, __init__=_check_config)
checked_methods(TrainingConfig, __init__=_check_training)
encode = checked_by(_check_text, encode)
decode = checked_by(_check_decode, decode)
checked_methods(GPT, __init__=_check_gpt_init, forward=_check_gpt_forward, new_caches=_check_new_caches)
split_corpus = checked_by(_check_split, split_corpus)
random_windows = checked_by(_check_windows, random_windows)
repeated_windows = checked_by(_check_repeated_windows, repeated_windows)
held_out_loss = checked_by(_check_held_out, held_out_loss)
optimizer_and_schedule = checked_by(_check_optimizer, optimizer_and_schedule)
train = checked_by(_check_train, train)
generate = checked_by(_check_generate, generate)
attention_maps = checked_by(_check_maps_input, attention_maps)
previous_token_scores = checked_by(_check_maps, previous_token_scores)
induction_scores = checked_by(_check_induction, induction_scores)
repeated_random_tokens = checked_by(_check_repeated, repeated_random_tokens)
head_scores = checked_by(_check_head_scores, head_scores)


# What the guide's tools read from this chapter (attn_examples.chapters): its page, the examples that
# `python -m attn_examples agreement` compares across devices, and the data of its figures.
CHAPTER = "tiny-gpt"
PASSAGE = "the viewless winds" * 2  # a passage and its repeat, on which the figure "heads" shows two heads


def byte_labels(tokens: torch.Tensor) -> tuple[str, ...]:
    """One printable label per byte token: its character, ``␣`` for a space and ``↵`` for a new line.

    >>> byte_labels(encode("a b\\n"))
    ('a', '␣', 'b', '↵')
    """
    shown = {" ": "␣", "\n": "↵"}
    return tuple(shown.get(chr(t), chr(t)) for t in tokens.tolist())


def strongest_heads(scores: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """For each score of ``head_scores``, the ``(layer, head)`` that has the most of it, counted from 0.

    >>> strongest_heads({"induction": torch.tensor([[0.1, 0.2], [0.7, 0.3]])})
    {'induction': (1, 0)}
    """
    return {name: divmod(int(t.argmax()), t.shape[1]) for name, t in scores.items()}


def untrained_model() -> GPT:
    """The model the shipped checkpoint started from: the same sizes, initialised from the training seed."""
    saved = read_checkpoint()
    torch.manual_seed(saved["training"]["seed"])
    return GPT(GPTConfig(**saved["config"])).eval()


def _trained_logits(device: torch.device, dtype: torch.dtype) -> Outputs:
    model = load_checkpoint(dtype=dtype).to(device)
    with torch.no_grad():
        logits = model(encode(SAMPLE)[None].to(device))
    # the next-byte probabilities: what generation picks from
    return {"output": {"probabilities": torch.softmax(logits.float(), dim=-1).to(dtype)}}


AGREEMENT = (Example(CHAPTER, "the trained tiny GPT on three lines of Measure for Measure", _trained_logits),)


def _heads_figure() -> Heatmap:
    """The strongest previous-token and induction heads on ``PASSAGE``, trained and untrained."""
    published, names = read_checkpoint()["published"], ("previous_token", "induction")
    chosen = strongest_heads({name: torch.tensor(published[name]) for name in names})
    tokens = encode(PASSAGE)
    maps = [attention_maps(model, tokens) for model in (load_checkpoint(), untrained_model())]
    return Heatmap(torch.stack([m[chosen[name]] for m in maps for name in names]), byte_labels(tokens), annotate=False)


def _every_head_figure() -> Heatmap:
    """Every head of the trained model on ``PASSAGE``: a row per layer, a column per head."""
    tokens = encode(PASSAGE)
    maps = attention_maps(load_checkpoint(), tokens)
    return Heatmap(maps.flatten(0, 1), byte_labels(tokens), annotate=False, per_row=maps.shape[1])


def _history(name: str, head: tuple[int, int] | None = None) -> tuple[list[int], list[float]]:
    history = read_checkpoint()["history"]
    values = [r[name] if head is None else r[name][head[0]][head[1]] for r in history]
    return [r["step"] for r in history], values


def _scores_figure() -> Lines:
    """The scores of the strongest previous-token and induction heads at every evaluation of training."""
    published = read_checkpoint()["published"]
    lines = {}
    for name in ("previous_token", "induction"):
        layer, head = strongest_heads({name: torch.tensor(published[name])})[name]
        steps, values = _history(name, (layer, head))
        lines[f"{name} (layer {layer + 1}, head {head + 1})"] = values
    return Lines(steps, lines)


def _loss_figure() -> Lines:
    """The held-out loss, in nats per byte, at every evaluation of training."""
    steps, values = _history("held_out_loss")
    return Lines(steps, {"held_out_loss": values})


FIGURES = {"heads": _heads_figure, "every-head": _every_head_figure, "scores": _scores_figure, "loss": _loss_figure}
