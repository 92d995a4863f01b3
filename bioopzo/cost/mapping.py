"""Neuron-to-core mapping (cost-model.md e.3): greedy layer-wise packing on a tile mesh.

Layer l (0 = input, 1..L hidden, L+1 = readout) gets its own cores, as many as

    cores_l = max( ceil(N_l / neurons_per_core),
                   ceil(N_l N_{l-1} weight_bits / (8 synapse_memory_bytes)),   fan-in synapses
                   ceil(N_{l-1} / input_axons_per_core) )                      distinct input axons

(the input layer only needs the first term). Neuron j of layer l sits on the layer's core
floor(j cores_l / N_l), so neurons are split into contiguous, equal blocks. Cores are
numbered layer after layer and placed row-major on the mesh: core c is on tile
floor(c / cores_per_tile), tile k at column k mod tiles_east_west and row
floor(k / tiles_east_west). A message between tiles (x1, y1) and (x2, y2) takes
|x1 - x2| east-west and |y1 - y2| north-south hops (Manhattan routing); a message between
two cores of the same tile takes no hop.

Approximations (caveat 6): Loihi's compiler compresses and aligns synapse lists in ways not
published as a formula, feedback synapses (M_l, B_l, BP mirrors) are not charged to core
memory, inputs are modelled as relay neurons on their own cores, and a network larger than
one chip continues the mesh with more rows instead of modelling chip-to-chip links.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CoreMapping", "map_to_cores"]


@dataclass(frozen=True)
class CoreMapping:
    """Where every neuron sits. ``neuron_core[l][j]`` is the core of neuron j of layer l."""

    sizes: tuple
    cores_per_layer: tuple
    neuron_core: tuple          # per layer: (N_l,) int core ids
    tile_xy: np.ndarray         # (n_cores, 2): column (east-west), row (north-south)
    cores_per_tile: int

    @property
    def n_cores(self) -> int:
        return int(sum(self.cores_per_layer))

    @property
    def n_tiles(self) -> int:
        return int(math.ceil(self.n_cores / self.cores_per_tile))

    def layer_core_ids(self, l: int) -> np.ndarray:
        start = int(sum(self.cores_per_layer[:l]))
        return np.arange(start, start + self.cores_per_layer[l])

    def hops(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """East-west hops, north-south hops and 'same tile' (0/1) between core arrays."""
        a, b = self.tile_xy[src], self.tile_xy[dst]
        ew = np.abs(a[..., 0] - b[..., 0])
        ns = np.abs(a[..., 1] - b[..., 1])
        same = ((ew == 0) & (ns == 0)).astype(int)
        return ew, ns, same

    def describe(self) -> str:
        parts = [f"layer {l}: {n} neurons on {c} core{'s' if c > 1 else ''}"
                 for l, (n, c) in enumerate(zip(self.sizes, self.cores_per_layer))]
        return (f"{self.n_cores} cores on {self.n_tiles} tiles ({self.cores_per_tile} cores per "
                f"tile, row-major); " + "; ".join(parts))


def map_to_cores(sizes, profile) -> CoreMapping:
    """Greedy layer-wise packing of layers of ``sizes`` (input first) under ``profile``'s limits."""
    npc = int(profile.arch("neurons_per_core"))
    mem_bits = 8 * int(profile.arch("synapse_memory_bytes"))
    axons = int(profile.arch("input_axons_per_core"))
    wbits = int(profile.arch("weight_bits"))
    per_tile = int(profile.arch("cores_per_tile"))
    cols = int(profile.arch("tiles_east_west"))
    cores = []
    for l, n in enumerate(sizes):
        c = math.ceil(n / npc)
        if l > 0:
            c = max(c, math.ceil(n * sizes[l - 1] * wbits / mem_bits), math.ceil(sizes[l - 1] / axons))
        cores.append(max(1, c))
    neuron_core = []
    start = 0
    for n, c in zip(sizes, cores):
        neuron_core.append(start + (np.arange(n) * c) // n)
        start += c
    tiles = np.arange(start) // per_tile
    tile_xy = np.stack([tiles % cols, tiles // cols], axis=1)
    return CoreMapping(tuple(sizes), tuple(cores), tuple(neuron_core), tile_xy, per_tile)
