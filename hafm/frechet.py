"""Exact Fréchet distance between two Gaussians, in float64, via symmetric eigen-decompositions.

    FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1^1/2 S2 S1^1/2)

``S1 S2`` is similar to the symmetric PSD matrix ``S1^1/2 S2 S1^1/2``, so the trace of the
(non-symmetric) ``sqrtm(S1 S2)`` that the FAD libraries compute with ``scipy.linalg.sqrtm`` equals
the sum of the square roots of that matrix's eigenvalues. ``eigh``/``eigvalsh`` never return
complex values, and eigenvalues that round-off pushes below zero are clamped, so singular
covariances (frames < dimensions) give a finite, non-negative distance instead of the
"imaginary component" errors or negative FADs the sqrtm route is known for. Eigenvalues below
``d * eps * (largest)`` (numpy's ``matrix_rank`` tolerance) in a covariance whose square root is
taken are round-off of exact zeros and count as 0: otherwise their square roots (~sqrt(eps)) add
a ~1e-8 relative error on singular covariances, which is what the sqrtm route carries there
(measured against an exact nuclear-norm value in ``tools.parity``).

The reference side (S1) is usually fixed while many systems and bootstrap resamples are compared
against it, so its square root is computed once: ``prepare_reference(mu, sigma) -> Reference``.
``Reference`` stores ``S1 = V diag(w) V^T`` and the map ``T = diag(sqrt w) V^T``; then
``S1^1/2 S2 S1^1/2 = V (T S2 T^T) V^T`` has the eigenvalues of ``T S2 T^T``. One ``eigvalsh`` of
that matrix is the fast route; when S1 S2 is near-singular (n < d, or condition ~1/eps) and its
error estimate exceeds FAST_RTOL, the singular values of ``T F^T`` for any factor ``F^T F = S2``
are summed instead (``Reference.trace_sqrt``): ``S2^1/2`` when only S2 is known, the centred
frames themselves when it comes from m < d frames (an [d, m] SVD: cheap exactly where the fast
route is not exact). ``tools.parity`` checks both against an exact frame-based value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from hafm.errors import HafmError

# Symmetry is checked relative to the largest entry: np.cov output is symmetric to round-off.
SYMMETRY_RTOL = 1e-8
# An eigenvalue below -PSD_RTOL * (largest eigenvalue) is not round-off: the matrix is not a covariance.
PSD_RTOL = 1e-8
EPS = float(np.finfo(np.float64).eps)
# The fast eigvalsh route is used when its error estimate is below this share of tr sqrt(...).
FAST_RTOL = 1e-10
# Bootstrap resamples only need to be exact far below their own Monte Carlo spread (~1e-2 of the
# value with 1,000 resamples): 1e-6 keeps nearly every resample of a near-singular covariance on
# the fast route, where FAST_RTOL sends each to an SVD.
BOOTSTRAP_RTOL = 1e-6


class FrechetInputError(HafmError, ValueError):
    """Means/covariances unusable for a Fréchet distance: NaN/inf, wrong shapes, not symmetric/PSD."""


class FewFramesWarning(UserWarning):
    """Fewer frames than embedding dimensions: the covariance is singular and FD is biased upwards."""


@dataclass(frozen=True)
class Reference:
    """A reference Gaussian with its eigen-decomposition, reused across systems and resamples.

    mu: [d]; sigma: [d, d]; eigvecs: [d, d] (columns); sqrt_eigvals: [d], clamped at 0;
    n_frames: frames the statistics came from (0 when given directly).
    """

    mu: np.ndarray
    sigma: np.ndarray
    eigvecs: np.ndarray
    sqrt_eigvals: np.ndarray
    n_frames: int = 0

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])

    @property
    def trace(self) -> float:
        return float(np.trace(self.sigma))

    @property
    def sqrt_sigma(self) -> np.ndarray:
        """S1^1/2 as a [d, d] matrix (symmetric PSD)."""
        return (self.eigvecs * self.sqrt_eigvals) @ self.eigvecs.T

    def project(self, x: np.ndarray) -> np.ndarray:
        """Map row vectors into the basis where cov(projected) has the eigenvalues of S1^1/2 S2 S1^1/2.

        x: [..., d] -> [..., d], i.e. ``x @ V diag(sqrt w)``.
        """
        return (x @ self.eigvecs) * self.sqrt_eigvals

    def distance(self, mu: np.ndarray, sigma: np.ndarray) -> float:
        """Fréchet distance from this reference to N(mu, sigma); mu [d], sigma [d, d]."""
        mu, sigma = _validated(mu, sigma, "eval")
        _check_same_dim(self.mu, mu)
        t = self.eigvecs * self.sqrt_eigvals  # V diag(sqrt w) = T^T
        trace_sqrt = self.trace_sqrt(t.T @ sigma @ t, lambda: self.project(covariance_factor(sigma)))
        return self.distance_from_parts(float(np.sum((self.mu - mu) ** 2)), float(np.trace(sigma)), trace_sqrt)

    def distance_from_parts(self, mean_sq: float, trace_eval: float, trace_sqrt: float) -> float:
        """FD from |mu1-mu2|^2, tr S2 and tr sqrt(S1^1/2 S2 S1^1/2) (``trace_sqrt`` or
        ``trace_sqrt_of_factor``)."""
        value = mean_sq + self.trace + trace_eval - 2.0 * trace_sqrt
        if not np.isfinite(value):
            raise FrechetInputError(f"Fréchet distance is not finite ({value}); statistics overflow float64")
        return max(value, 0.0)

    def trace_sqrt(self, inner: np.ndarray, projected_factor: Callable[[], np.ndarray],
                   rtol: float = FAST_RTOL) -> float:
        """tr sqrt(S1^1/2 S2 S1^1/2) given ``inner = T S2 T^T``.

        Fast route: the eigenvalues of ``inner`` (one ``eigvalsh``), which carry an absolute error
        of about ``delta = eps * max(eig)``; eigenvalues at or below ``delta`` count as 0. The
        square root turns that into an error of up to ~sqrt(delta) on tiny eigenvalues, which
        matters when the product S1 S2 is near-singular (condition ~1/eps, or n < d). When the
        estimate ``sum(min(sqrt(delta), delta / (2 sqrt(eig))))`` exceeds ``rtol`` of the trace,
        the singular values of ``F T^T = project(F)`` for a factor ``F^T F = S2`` (their squares are
        those eigenvalues) are used instead: nothing is squared there, so their error stays ~eps
        relative. ``tools.parity`` checks both routes against an exact QR + nuclear-norm value.
        """
        eig = np.linalg.eigvalsh(0.5 * (inner + inner.T))
        _check_psd(eig, "eval")
        delta = EPS * max(float(eig[-1]), 0.0)
        fast = float(np.sum(np.sqrt(np.where(eig > delta, eig, 0.0))))
        lam = np.maximum(eig, delta)
        error_estimate = float(np.sum(np.minimum(np.sqrt(delta), delta / (2.0 * np.sqrt(lam)))))
        if error_estimate <= rtol * fast:
            return fast
        return self.trace_sqrt_of_factor(projected_factor())

    @staticmethod
    def trace_sqrt_of_factor(projected_factor: np.ndarray) -> float:
        """tr sqrt(S1^1/2 S2 S1^1/2) from ``project(F)`` [m, d], F^T F = S2: its nuclear norm."""
        return float(np.sum(np.linalg.svd(projected_factor, compute_uv=False)))


def prepare_reference(mu: np.ndarray, sigma: np.ndarray, n_frames: int = 0) -> Reference:
    """Validate the reference statistics and eigen-decompose sigma once (float64)."""
    mu, sigma = _validated(mu, sigma, "reference")
    w, v = np.linalg.eigh(sigma)
    _check_psd(w, "reference")
    return Reference(mu=mu, sigma=sigma, eigvecs=v, sqrt_eigvals=np.sqrt(_zero_round_off(w)),
                     n_frames=int(n_frames))


def covariance_factor(sigma: np.ndarray) -> np.ndarray:
    """S^1/2 [d, d] of a symmetric PSD covariance (a factor F with F^T F = S), round-off zeros at 0."""
    w, v = np.linalg.eigh(0.5 * (sigma + sigma.T))
    return (v * np.sqrt(_zero_round_off(w))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); mu [d], sigma [d, d].

    Float64, relative error ~1e-10 or better (see ``Reference.trace_sqrt``), clamped at 0. Raises
    FrechetInputError on NaN/inf, shape mismatch, non-symmetric or non-PSD covariances.
    """
    return prepare_reference(mu1, sigma1).distance(mu2, sigma2)


def gaussian_stats(embeddings: np.ndarray, what: str = "embeddings") -> tuple[np.ndarray, np.ndarray]:
    """Mean [d] and covariance [d, d] (ddof=1, as every FAD library) of frames [n_frames, d].

    Warns (FewFramesWarning) when n_frames < d.
    """
    x = validate_frames(embeddings, what)
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def validate_frames(embeddings: np.ndarray, what: str = "embeddings") -> np.ndarray:
    """Check frames [n_frames, d] (finite, >= 2 frames) and return them as float64."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise FrechetInputError(f"{what}: expected frames of shape [n_frames, d], got {x.shape}")
    if x.shape[0] < 2:
        raise FrechetInputError(f"{what}: a covariance needs at least 2 frames, got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise FrechetInputError(f"{what}: embeddings contain NaN or inf")
    warn_if_few_frames(x.shape[0], x.shape[1], what)
    return x


def warn_if_few_frames(n_frames: int, dim: int, what: str) -> None:
    if n_frames < dim:
        warnings.warn(f"{what}: {n_frames} frames < {dim} dimensions: the covariance is singular and "
                      "the Fréchet distance is biased; use more or overlapping frames",
                      FewFramesWarning, stacklevel=3)


def _validated(mu: np.ndarray, sigma: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1:
        raise FrechetInputError(f"{what}: mean must have shape [d], got {mu.shape}")
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise FrechetInputError(f"{what}: covariance must have shape ({d}, {d}) to match the mean, "
                                f"got {sigma.shape}")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise FrechetInputError(f"{what}: mean or covariance contains NaN or inf")
    scale = float(np.max(np.abs(sigma))) if sigma.size else 0.0
    asym = float(np.max(np.abs(sigma - sigma.T))) if sigma.size else 0.0
    if asym > SYMMETRY_RTOL * max(scale, np.finfo(np.float64).tiny):
        raise FrechetInputError(f"{what}: covariance is not symmetric (max |S - S^T| = {asym:.3g}, "
                                f"max |S| = {scale:.3g})")
    return mu, 0.5 * (sigma + sigma.T)


def _check_psd(eigvals: np.ndarray, what: str) -> None:
    top = float(np.max(np.abs(eigvals))) if eigvals.size else 0.0
    low = float(np.min(eigvals)) if eigvals.size else 0.0
    if low < -PSD_RTOL * top:
        raise FrechetInputError(f"{what}: covariance is not positive semi-definite "
                                f"(smallest eigenvalue {low:.3g}, largest {top:.3g})")


def _zero_round_off(eigvals: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with round-off around exact zeros (|w| <= d eps max w) set to 0."""
    if eigvals.size == 0:
        return eigvals
    tol = eigvals.size * EPS * max(float(np.max(eigvals)), 0.0)
    return np.where(eigvals > tol, eigvals, 0.0)


def _check_same_dim(mu_ref: np.ndarray, mu: np.ndarray) -> None:
    if mu.shape != mu_ref.shape:
        raise FrechetInputError(f"dimension mismatch: reference has d={mu_ref.shape[0]}, eval has d={mu.shape[0]}")
