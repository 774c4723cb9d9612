"""The site's own code: page languages and translation freshness (``i18n``), the chapters' figures
(``figures``, drawn with ``plot``). Not part of the reader's package ``attn_examples``."""
