"""musicnn's pretrained music-tagging CNNs, run in PyTorch from the weights in the ``musicnn`` wheel.

Four models (Pons & Serra, "musicnn: pre-trained convolutional neural networks for music audio
tagging", ISMIR-LBD 2019): ``MTT_musicnn``, ``MSD_musicnn``, ``MTT_vgg``, ``MSD_vgg``, trained on
MagnaTagATune (MTT) or the Million Song Dataset (MSD). The TF1 checkpoints are read with numpy
(``checkpoint.py``); no TensorFlow is needed. Install the weights with
``pip install --no-deps musicnn==0.1.0``.

Public API::

    load_musicnn(name) -> nn.Module
    frame_features(model, wav_16k [n]) -> [1 + n // 256, 753]      # 62.5 Hz, musicnn models only
    patch_embeddings(model, wav_16k [n], layer, hop=187) -> [n_patches, d]  # one vector per 3 s patch
    window_embeddings(model, wav_16k [n], layer, hop=187) -> [n_patches, d]  # same windows, one
                                                # front/mid-end pass over the whole input (musicnn only)
    embed(wav_16k [n], model="MTT_musicnn", layer="penultimate", exact_patches=True) -> [n_patches, d]
    log_mel(wav_16k [n]) -> [1 + n // 256, 96]

The models and their weights are covered by musicnn's ISC licence (see ``NOTICE``):

Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by Jordi Pons
(www.jordipons.me). Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above copyright notice and this
permission notice appear in all copies.
"""

from hafm.musicnn.embed import LAYER_DIMS, embed, frame_features, patch_embeddings, window_embeddings
from hafm.musicnn.frontend import FRAME_RATE, SAMPLE_RATE, log_mel
from hafm.musicnn.models import Musicnn, MusicnnVGG
from hafm.musicnn.weights import MODEL_NAMES, checkpoint_prefix, load_musicnn, tag_names

__all__ = [
    "FRAME_RATE", "LAYER_DIMS", "MODEL_NAMES", "SAMPLE_RATE", "Musicnn", "MusicnnVGG",
    "checkpoint_prefix", "embed", "frame_features", "load_musicnn", "log_mel",
    "patch_embeddings", "tag_names", "window_embeddings",
]
