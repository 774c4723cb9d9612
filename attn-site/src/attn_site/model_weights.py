"""The trained tiny GPT (``attn_examples.gpt``) as the explorer reads it: one file in the safetensors layout.

The layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a JSON header
naming each tensor's dtype, shape and byte range (padded with spaces to a multiple of 8), then the tensors'
bytes. The header's ``__metadata__`` holds the model's sizes and what the browser needs besides (RoPE's
base, the layer norms' epsilon), as strings. The weights are the checkpoint's float16 numbers as they are.
"""

from __future__ import annotations

import json
import struct

import torch


def safetensors_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """``tensors`` (float16) and ``metadata`` in the safetensors layout.

    >>> data = safetensors_bytes({"w": torch.tensor([1.0, -2.0], dtype=torch.float16)}, {"note": "x"})
    >>> length = struct.unpack("<Q", data[:8])[0]
    >>> json.loads(data[8 : 8 + length])["w"], data[8 + length :].hex()
    ({'dtype': 'F16', 'shape': [2], 'data_offsets': [0, 4]}, '003c00c0')
    """
    header: dict[str, object] = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name, tensor in tensors.items():
        if tensor.dtype != torch.float16:
            raise TypeError(f"{name} must be float16, got {tensor.dtype}")
        data = tensor.detach().cpu().contiguous().numpy().astype("<f2").tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def tiny_gpt_weights() -> bytes:
    """The shipped checkpoint of ``attn_examples.gpt``, with its sizes, for the explorer."""
    from attn_examples.gpt import read_checkpoint

    saved = read_checkpoint()
    config = saved["config"]
    metadata = {name: str(value) for name, value in config.items()}
    metadata.update(rope_base="10000.0", layer_norm_eps="1e-05", code=saved["code"])
    return safetensors_bytes(saved["weights"], metadata)
