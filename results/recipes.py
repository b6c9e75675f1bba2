"""A run's training recipe in a few words, from its summary.json.

Every recipe flag of train_imagenet.py is recorded in the summary under a
key whose absence, or default value, means the blog's protocol; a run
with every one of them so is 'blog'. Summaries written before a key
existed therefore read as the blog's protocol too.
"""

BLOG = 'blog'


def _number(value):
    return '{:g}'.format(value)


def _plural(value, unit):
    return '{} {}{}'.format(_number(value), unit, '' if value == 1 else 's')


def _schedule(summary):
    name = summary.get('lr_schedule') or 'step'
    if name == 'step':
        return None
    floor = summary.get('lr_min') or 0
    if name == 'cosine':
        details = []
        if floor:
            details.append('to ' + _number(floor))
        if summary.get('warmup_epochs'):
            details.append('warm-up ' + _plural(summary['warmup_epochs'],
                                                 'epoch'))
        return 'cosine lr' + (' ({})'.format(', '.join(details))
                              if details else '')
    if name == 'plateau':
        details = ['patience {}'.format(summary.get('plateau_patience'))]
        if summary.get('lr_drop') is not None:
            details.append('x' + _number(summary['lr_drop']))
        if floor:
            details.append('min ' + _number(floor))
        return 'lr lowered on plateau ({})'.format(', '.join(details))
    return '{} lr'.format(name)  # a schedule newer than this module


def _initmodel(summary):
    path = summary.get('initmodel')
    if not path:
        return None
    # The last two parts: the run (or file) and where it lies.
    parts = [p for p in path.replace('\\', '/').split('/') if p]
    return 'initialized from {}'.format('/'.join(parts[-2:]) or path)


# (key, what it says when it differs from the blog's protocol), in the
# order the description lists them. A key absent, None, 0, False or ''
# is the blog's protocol.
PARTS = (
    ('label_smoothing', lambda s: 'label smoothing {}'.format(
        _number(s['label_smoothing']))),
    ('lr_schedule', _schedule),
    ('random_erase', lambda s: 'random erasing {}{}'.format(
        _number(s['random_erase']),
        '' if s.get('random_erase_fill', 'noise') == 'noise' else
        ' ({} fill)'.format(s['random_erase_fill']))),
    ('initmodel', _initmodel),
    ('freeze_features', lambda s: 'features frozen'),
    ('multi_label', lambda s: 'multi-label'),
)
KEYS = tuple(key for key, _ in PARTS)


def describe(summary):
    """'blog', or the recipe's parts joined by ', ', e.g. 'label smoothing
    0.1, cosine lr (warm-up 1 epoch), random erasing 0.5'."""
    parts = []
    for key, say in PARTS:
        if summary.get(key):
            part = say(summary)
            if part:
                parts.append(part)
    return ', '.join(parts) or BLOG


def shared(summaries):
    """The recipe all `summaries` share, or None when they differ."""
    found = {describe(s) for s in summaries}
    return found.pop() if len(found) == 1 else None
