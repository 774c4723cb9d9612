"""attn_examples.gpt: the model against the guide's blocks and its KV cache, training, generation, the shipped
checkpoint and its provenance, the heads' scores, and bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from attn_examples.__main__ import main
from attn_examples.gpt import (
    CHECKPOINT,
    CORPUS,
    GPT,
    PASSAGE,
    SAMPLE,
    TRAIN_COMMAND,
    GPTConfig,
    TrainingConfig,
    _heads_figure,
    _loss_figure,
    _scores_figure,
    attention_maps,
    byte_labels,
    corpus,
    decode,
    encode,
    generate,
    head_scores,
    held_out_loss,
    induction_scores,
    load_checkpoint,
    model_code_hash,
    previous_token_scores,
    random_windows,
    read_checkpoint,
    repeated_random_tokens,
    repeated_windows,
    round_to_float16,
    save_checkpoint,
    split_corpus,
    strongest_heads,
    train,
)
from attn_examples.transformer import TransformerBlock, gpt_parameters
from tests.helpers import assert_close

SMALL = GPTConfig(context_length=24, d_model=16, num_heads=2, layers=2)


def _small(seed: int = 0, dtype: torch.dtype = torch.float64) -> GPT:
    torch.manual_seed(seed)
    return GPT(SMALL).to(dtype).eval()


def _tokens(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(256, shape, generator=torch.Generator().manual_seed(seed))


def test_bytes_round_trip_any_text() -> None:
    text = "Attention — 注意力, 어텐션, chú ý"
    assert decode(encode(text)) == text
    assert int(encode(text).max()) < 256
    assert decode(encode("ü")[:1]) == "\ufffd"


def test_the_parameters_are_gpt2s_formula_without_a_position_table() -> None:
    config = GPTConfig()
    model = GPT(config)
    with_table = gpt_parameters(config.vocab, config.context_length, config.d_model, config.layers)
    expected = with_table - config.context_length * config.d_model  # RoPE learns nothing
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model.token_embedding.weight.data_ptr() != 0 and 4 * expected < 1_000_000  # float32 under 1 MB


def test_a_block_without_rope_is_the_transformer_chapters_block_with_the_same_weights() -> None:
    block = _small().blocks[0]
    block.attention.positions = None
    reference = TransformerBlock(16, 2, context_length=24).double().eval()
    reference.load_state_dict(block.state_dict())
    x = torch.randn(2, 10, 16, dtype=torch.float64)
    torch.testing.assert_close(block(x), reference(x), rtol=0, atol=1e-12)


def test_steps_through_the_kv_cache_give_the_full_forward() -> None:
    model, tokens = _small(), _tokens(2, 20)
    full = model(tokens)
    caches = model.new_caches(2, 20)
    steps = [model(tokens[:, :7], caches)] + [model(tokens[:, t : t + 1], caches) for t in range(7, 20)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=0, atol=1e-10)


def test_generation_gives_the_same_tokens_with_and_without_the_cache() -> None:
    model, prompt = _small(dtype=torch.float32), _tokens(2, 5)
    assert torch.equal(generate(model, prompt, 12), generate(model, prompt, 12, use_cache=False))
    sampled = [
        generate(
            model, prompt, 12, temperature=0.8, top_k=5, use_cache=cache, generator=torch.Generator().manual_seed(3)
        )
        for cache in (True, False)
    ]
    assert torch.equal(*sampled)
    greedy = generate(model, prompt, 12)
    assert torch.equal(generate(model, prompt, 12, temperature=2.0, top_k=1), greedy)


def test_the_loss_falls_on_a_short_run_and_the_same_seed_gives_the_same_model() -> None:
    data = encode(CORPUS.read_text(encoding="utf-8")[:20000])
    train_data, held_out = split_corpus(data)
    config = TrainingConfig(steps=30, batch=8, warmup=5, eval_every=15, eval_batches=2)
    models = [_small(dtype=torch.float32), _small(dtype=torch.float32)]
    before = held_out_loss(models[0], held_out, batches=2, batch=8)
    histories = [train(model, train_data, held_out, config) for model in models]
    assert [r["step"] for r in histories[0]] == [15, 30]
    assert histories[0][-1]["held_out_loss"] < before - 1.0  # from about ln 256 = 5.5 nats
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True))


def test_the_model_overfits_one_batch() -> None:
    one_window = encode("To be, or not to be, that is the question.")[: SMALL.context_length + 1]
    config = TrainingConfig(150, batch=4, warmup=10, eval_every=150, eval_batches=1, learning_rate=1e-2, repeated=0.0)
    history = train(_small(dtype=torch.float32), one_window, one_window, config)
    assert history[-1]["held_out_loss"] < 0.05


def test_a_saved_and_reloaded_model_gives_the_same_logits(tmp_path: Path) -> None:
    model, tokens = _small(dtype=torch.float32), _tokens(1, 12)
    with pytest.raises(ValueError, match="round the model first with round_to_float16"):
        save_checkpoint(model, tmp_path / "model.pt", {})
    before = model(tokens)
    round_to_float16(model)
    assert (model(tokens) - before).abs().max() < 1e-2
    path = save_checkpoint(model, tmp_path / "model.pt", {"command": "test"})
    reloaded = load_checkpoint(path)
    assert reloaded.config == SMALL and read_checkpoint(path)["command"] == "test"
    torch.testing.assert_close(reloaded(tokens), model(tokens), rtol=0, atol=0)


def test_a_checkpoint_of_other_model_code_is_refused_with_the_command(tmp_path: Path) -> None:
    path = save_checkpoint(round_to_float16(_small(dtype=torch.float32)), tmp_path / "model.pt", {})
    saved = read_checkpoint(path)
    torch.save({**saved, "code": "0" * 64}, path)
    with pytest.raises(ValueError, match="retrain it with `python -m attn_examples train"):
        load_checkpoint(path)


def test_the_shipped_checkpoint_matches_the_model_code() -> None:
    saved = read_checkpoint()
    assert saved["code"] == model_code_hash(), (
        f"the model code changed since {CHECKPOINT.name} was trained: retrain it with `{TRAIN_COMMAND}` "
        "(about 5 minutes on 2 CPU cores) and commit it"
    )


def test_the_shipped_checkpoint_is_the_trained_model_it_says() -> None:
    saved, model = read_checkpoint(), load_checkpoint()
    assert CHECKPOINT.stat().st_size < 2_000_000
    assert saved["command"].startswith("python -m attn_examples train")
    history = saved["history"]
    steps = saved["training"]["steps"]
    assert [r["step"] for r in history][-1] == steps and history[0]["step"] == 0
    _, held_out = corpus()
    training = TrainingConfig(**saved["training"])
    final = held_out_loss(model, held_out, training.eval_batches, training.batch)
    assert final == pytest.approx(saved["published"]["held_out_loss"], abs=1e-4)  # rounded to float16
    assert final == pytest.approx(history[-1]["held_out_loss"], abs=1e-2)  # before the rounding
    assert final < 1.7 < history[0]["held_out_loss"]  # the chapter's documented loss, nats per byte
    assert 5.0 < history[0]["held_out_loss"] < 6.0  # untrained: about ln 256


def test_the_trained_model_has_previous_token_and_induction_heads() -> None:
    model = load_checkpoint()
    scores = head_scores(model, SAMPLE)
    untrained = head_scores(GPT(model.config), SAMPLE)
    assert scores["previous_token"].max() > 0.5 > untrained["previous_token"].max()
    assert scores["induction"].max() > 0.2 > 0.05 > untrained["induction"].max()
    published = read_checkpoint()["published"]
    for name in ("previous_token", "induction"):
        torch.testing.assert_close(scores[name], torch.tensor(published[name]), rtol=0, atol=1e-4)


def test_attention_maps_are_the_weights_the_blocks_apply() -> None:
    model, tokens = _small(), _tokens(9)
    maps = attention_maps(model, tokens)
    assert maps.shape == (2, 2, 9, 9)
    assert_close(maps.sum(dim=-1), torch.ones(2, 2, 9, dtype=torch.float64))
    assert torch.equal(maps.triu(1), torch.zeros_like(maps))
    block = model.blocks[0]
    x = model.token_embedding(tokens[None])
    queries, keys, values = block.attention.heads(block.norm_1(x))
    expected = F.scaled_dot_product_attention(queries, keys, values, is_causal=True)
    torch.testing.assert_close(maps[0] @ values[0], expected[0], rtol=0, atol=1e-12)


def test_head_scores_of_made_up_maps() -> None:
    looks_back = torch.eye(6)[[0, 0, 1, 2, 3, 4]][None, None]
    assert previous_token_scores(looks_back).item() == 1.0
    assert induction_scores(looks_back).item() == 0.0
    inducting = torch.eye(6)[[0, 0, 0, 1, 2, 3]][None, None]  # second half: queries 3, 4, 5 on keys 1, 2, 3
    assert induction_scores(inducting).item() == 1.0
    tokens = repeated_random_tokens(5, seed=2)
    assert torch.equal(tokens[:5], tokens[5:]) and decode(tokens).isalpha() and decode(tokens).islower()


def test_random_windows_are_the_inputs_and_the_next_tokens() -> None:
    inputs, targets = random_windows(torch.arange(50), 4, 8, torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (4, 8)
    assert torch.equal(targets, inputs + 1)


@pytest.mark.parametrize("context_length", [32, 33])
def test_repeated_windows_repeat_a_passage_of_a_length_drawn_for_each(context_length: int) -> None:
    inputs, targets = repeated_windows(torch.arange(1000), 16, context_length, torch.Generator().manual_seed(1))
    assert inputs.shape == targets.shape == (16, context_length)
    assert torch.equal(targets[:, :-1], inputs[:, 1:])
    periods = set()
    for row in inputs:
        period = int((row[1:] - row[:-1] != 1).nonzero()[0]) + 1  # a passage of consecutive numbers
        assert 8 <= period <= context_length // 2
        assert torch.equal(row[period:], row[:-period])
        periods.add(period)
    assert len(periods) > 1


def test_the_train_command_writes_a_checkpoint_that_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.pt"
    args = ["--steps", "2", "--batch", "2", "--d-model", "16", "--layers", "1", "--heads", "2", "--device", "cpu"]
    assert main(["train", *args, "--out", str(out)]) == 0
    assert "held-out loss" in capsys.readouterr().out
    saved = read_checkpoint(out)
    assert saved["command"] == "python -m attn_examples train " + " ".join([*args, "--out", str(out)])
    assert [r["step"] for r in saved["history"]] == [0, 2]
    assert load_checkpoint(out).config == GPTConfig(d_model=16, layers=1, num_heads=2)


def test_the_train_command_refuses_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--d-model", "30", "--heads", "4"])
    assert "--d-model must be divisible by --heads" in capsys.readouterr().err


def test_each_device_gives_the_cpus_logits(device: torch.device) -> None:
    model, tokens = _small(dtype=torch.float32), _tokens(2, 10)
    expected = model(tokens)
    assert_close(model.to(device)(tokens.to(device)).cpu(), expected)


MODEL = GPT(SMALL)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: encode(b"bytes"), TypeError, "text must be a str"),
        (lambda: decode(torch.tensor([300])), ValueError, r"token ids in \[0, 256\)"),
        (lambda: MODEL(torch.tensor([[1, 256]])), ValueError, r"token ids in \[0, 256\)"),
        (lambda: MODEL(torch.tensor([[-1, 2]])), ValueError, "from -1 to 2"),
        (lambda: MODEL(torch.ones(1, 3)), TypeError, "torch.long tensor of token ids"),
        (lambda: MODEL(torch.ones(3, dtype=torch.long)), ValueError, r"shape \(batch, tokens\)"),
        (lambda: MODEL(torch.ones(1, 25, dtype=torch.long)), ValueError, "exceed the model's context_length, 24"),
        (lambda: MODEL.new_caches(1, 30), ValueError, "capacity must be at most the context_length"),
        (lambda: GPT("big"), TypeError, "config must be a GPTConfig"),
        (lambda: GPTConfig(d_model=30, num_heads=4), ValueError, "d_model must be divisible by num_heads"),
        (lambda: GPTConfig(layers=0), ValueError, "layers must be a positive integer"),
        (lambda: GPTConfig(dropout=1.5), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: TrainingConfig(learning_rate=-1.0), ValueError, "learning_rate must be a positive finite"),
        (lambda: TrainingConfig(steps=0), ValueError, "steps must be a positive integer"),
        (lambda: TrainingConfig(repeated=2), ValueError, r"repeated must be a fraction in \[0, 1\]"),
        (lambda: generate(MODEL, torch.ones(1, 20, dtype=torch.long), 5), ValueError, "exceed the model's context"),
        (lambda: generate(MODEL, torch.ones(1, 2, dtype=torch.long), 5, temperature=-1), ValueError, "temperature"),
        (lambda: generate(MODEL, torch.ones(1, 2, dtype=torch.long), 5, top_k=0), ValueError, "top_k must be"),
        (lambda: generate(MODEL, torch.ones(1, 0, dtype=torch.long), 5), ValueError, "at least one token"),
        (
            lambda: generate(torch.nn.Linear(2, 2), torch.ones(1, 2, dtype=torch.long), 5),
            TypeError,
            "model must be a GPT",
        ),
        (lambda: attention_maps(MODEL, torch.ones(30, dtype=torch.long)), ValueError, "1 to context_length=24"),
        (lambda: previous_token_scores(torch.ones(2, 3)), ValueError, r"\(layers, heads, tokens, tokens\)"),
        (lambda: induction_scores(torch.ones(1, 1, 5, 5)), ValueError, "even number of tokens"),
        (lambda: head_scores(MODEL, SAMPLE, length=20), ValueError, "2 \\* length must fit"),
        (lambda: split_corpus(torch.arange(10), held_out=1.0), ValueError, r"held_out must be a fraction in \(0, 1\)"),
        (lambda: random_windows(torch.arange(5), 2, 8, torch.Generator()), ValueError, "more than context_length=8"),
        (lambda: repeated_windows(torch.arange(50), 2, 8, torch.Generator()), ValueError, "at least 16"),
        (lambda: held_out_loss(MODEL, torch.tensor([1, 999] * 20)), ValueError, r"token ids in \[0, 256\)"),
        (lambda: train(MODEL, torch.arange(100), torch.arange(100), config="fast"), TypeError, "TrainingConfig"),
        (lambda: train(MODEL, torch.arange(100), torch.arange(300, 400)), ValueError, "held_out_data must hold"),
        (lambda: train(MODEL, torch.arange(5), torch.arange(100)), ValueError, "train_data must hold more than"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_dataclass_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMALL.layers = 3  # type: ignore[misc]


def test_the_figures_show_the_heads_and_their_growth() -> None:
    heads = _heads_figure()
    assert heads.weights.shape == (4, len(PASSAGE), len(PASSAGE))
    trained_induction, untrained_induction = heads.weights[1], heads.weights[3]
    half = len(PASSAGE) // 2
    rows = torch.arange(half, 2 * half)  # the repeat's tokens, on the token after their first occurrence
    assert trained_induction[rows, rows - half + 1].mean() > 3 * untrained_induction[rows, rows - half + 1].mean()
    scores = _scores_figure()
    induction = next(values for name, values in scores.series.items() if name.startswith("induction"))
    assert induction[0] < 0.05 < 0.2 < induction[-1]
    assert scores.x[0] == 0 and scores.x[-1] == read_checkpoint()["training"]["steps"]
    loss = _loss_figure().series["held_out_loss"]
    assert loss[-1] < loss[0] / 3


def test_byte_labels_and_strongest_heads() -> None:
    assert byte_labels(encode("to be\n")) == ("t", "o", "␣", "b", "e", "↵")
    assert strongest_heads({"previous_token": torch.tensor([[0.1, 0.9], [0.3, 0.2]])}) == {"previous_token": (0, 1)}
