"""Token sampling: temperature, top-k, top-p (nucleus), classifier-free guidance.

Pure functions on logits ``[..., V]``: none of them modifies its input; randomness comes only from
the explicit ``torch.Generator``. Defaults (``hafm.config.SamplingConfig``) follow the authors'
inference script: temperature 0.9, top-k 250, guidance scale 3.0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def guide(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance on logits: ``uncond + scale * (cond - uncond)``.

    ``scale == 1`` returns the conditional logits; ``scale == 0`` the unconditional ones.
    """
    return uncond + scale * (cond - uncond)


def with_repeat_bias(logits: torch.Tensor, previous: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Copy of ``logits [B, K, V]`` with ``bias [B, K]`` added to the logit of each row's
    ``previous [B, K]`` token (positive: repeat it more often; negative: change more often)."""
    return logits.scatter_add(-1, previous[..., None], bias[..., None].to(logits.dtype))


def top_k_mask(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Copy of ``logits`` with all but the ``k`` largest per row set to ``-inf`` (``k <= 0``: no-op)."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits.clone()
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_mask(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Copy of ``logits`` keeping the smallest set of tokens whose probability reaches ``p``.

    The most likely token is always kept; ``p <= 0`` or ``p >= 1`` disables the filter.
    """
    if p <= 0.0 or p >= 1.0:
        return logits.clone()
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    # drop a token when the tokens before it already reach p
    drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 0.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token id per row of ``logits [..., V]`` -> ``[...]`` int64.

    ``temperature <= 0`` is greedy (argmax). Top-k runs first (on the ``k`` best only, which is
    what makes sampling cheap for V=1024), then top-p inside those. The draw happens where
    ``generator`` lives (a CPU generator also draws for logits on a GPU: one seed, one stream of
    draws, whatever the model's device).
    """
    if temperature <= 0:
        return logits.argmax(dim=-1)
    shape = logits.shape[:-1]
    flat = logits.reshape(-1, logits.shape[-1]) / temperature
    if 0 < top_k < flat.shape[-1]:
        values, ids = torch.topk(flat, top_k, dim=-1)
    else:
        values, ids = flat, None
    values = top_p_mask(values, top_p)
    probs = values.softmax(dim=-1)
    where = probs.device if generator is None else generator.device
    choice = torch.multinomial(probs.to(where), 1, generator=generator).to(probs.device)
    if ids is not None:
        choice = ids.gather(-1, choice)
    return choice.view(shape)


def sample_rows(logits: torch.Tensor, temperature: float, top_k: int, top_p: float,
                generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Like :func:`sample` for ``logits [B, ..., V]``, row ``i`` drawn with ``generators[i]`` -> ``[B, ...]``.

    A row's tokens then depend on its own generator only, never on which other rows share the
    batch: a clip generated in a batch draws what it draws alone (up to float rounding of the
    batched forward pass).
    """
    if len(generators) != logits.shape[0]:
        raise ValueError(f"need one generator per row: {len(generators)} generators, {logits.shape[0]} rows")
    return torch.stack([sample(row, temperature, top_k, top_p, g) for row, g in zip(logits, generators)])
