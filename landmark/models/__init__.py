"""Models: the timm embedding backbone, its weights, checkpoints, preprocessing and batch extraction."""
