"""From image files to training examples: lists, reader, presets, feeder."""
