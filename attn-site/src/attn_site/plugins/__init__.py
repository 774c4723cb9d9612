"""The site's MkDocs plugins, registered by entry points in attn-site/pyproject.toml (``attn/<name>``).

Each plugin closes one gap between the packages the site is built with; its module docstring says
which. They share :mod:`attn_site.plugins.base` (the configuration every plugin has, and the
language being built, read in one place) and :mod:`attn_site.plugins.cache` (keys, storage and
eviction of every cache under ``.cache/``).
"""
