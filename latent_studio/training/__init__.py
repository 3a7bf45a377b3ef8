"""Making runs: the one trainer loop, its presets, weight averaging, distributed training, background
jobs and the inverter's training."""
