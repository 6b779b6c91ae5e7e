"""The generated sample world: a deterministic synthetic set of landmark and ordinary photos used by
`make run` and the tests. `python -m samples` draws it into data/ and commits it as a data version.

This package may import `landmark` (the manifest format, params, data versions); `landmark` never
imports it.
"""
