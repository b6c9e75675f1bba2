"""From a folder-per-class tree to path/label lists (python -m labeling)."""
