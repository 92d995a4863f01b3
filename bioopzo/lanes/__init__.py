"""Optional device lanes (GeNN through brian2genn, brian2cuda), each in its own environment.

See docs/lanes/genn.md and docs/lanes/cuda.md. Importing this package needs nothing
beyond the default lane; each lane module imports its device package on use.
"""
