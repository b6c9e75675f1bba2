"""Ordered, chunked parallel map for one pass over a list of images.

Chainer's iterators batch for training; a one-off pass (the mean, --check,
hashing) wants plain ordered results from worker processes, so this wraps
multiprocessing.Pool.imap. Chunks have a fixed size whatever the number of
workers, so results reduced chunk by chunk in order are identical for any
worker count.
"""
import multiprocessing

from imagedata.progress import Progress

CHUNK_SIZE = 32


def chunks(items, size=CHUNK_SIZE):
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]


def map_chunks(function, items, jobs, label, size=CHUNK_SIZE):
    """Yield function(chunk) for consecutive chunks of `items`, in order,
    using `jobs` worker processes (in this process when jobs <= 1), with a
    progress bar on stderr counting items."""
    parts = chunks(items, size)
    with Progress(len(items), label) as progress:
        if jobs <= 1 or len(parts) <= 1:
            for part in parts:
                result = function(part)
                progress.update(len(part))
                yield result
            return
        pool = multiprocessing.Pool(min(jobs, len(parts)))
        try:
            for part, result in zip(parts, pool.imap(function, parts)):
                progress.update(len(part))
                yield result
            pool.close()
        finally:
            pool.terminate()
            pool.join()
