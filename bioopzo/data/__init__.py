"""Data sets (embedded: digits, mnist1d) and input encoders."""

from bioopzo.data.datasets import load_dataset
from bioopzo.data.samples import Dataset, check_labels, stratified_split, stratified_subset
from bioopzo.data.encoders import DirectEncoder, Encoder, LatencyEncoder, RateEncoder, make_encoder

__all__ = [
    "Dataset", "load_dataset", "check_labels", "stratified_split", "stratified_subset",
    "Encoder", "RateEncoder", "DirectEncoder", "LatencyEncoder", "make_encoder",
]
