"""Attention mechanisms, one small module per chapter of the guide.

Every function here is shown on a page of the guide and tested by CI; see
``attn_examples.device`` for how the code picks CPU or GPU.
"""

__version__ = "0.1.0"
