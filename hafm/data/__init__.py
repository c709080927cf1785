"""Data: the embedded chorale corpus (``chorales``, ``render``, ``corpus``), reading MUSDB18 /
MUSDB18-HQ trees (``musdb_io``, ``check``) and the token shards used for training (``shards``)."""
