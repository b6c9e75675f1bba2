"""What a training run leaves behind, read back: the blog-format table
(`python -m results`), the evaluation of a trained model
(`python -m results.evaluate`), and the blog's own numbers as data."""
