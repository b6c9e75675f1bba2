"""The blog-format table: network | train acc | test acc | Layers | input."""
import json
import os

from results import blog, summary

HEADER = ('network', 'train acc', 'test acc', 'Layers', 'input')


def percent(value):
    return '-' if value is None else '{:.2f}%'.format(100.0 * value)


def load_runs(run_dirs):
    """The summaries of the runs, accuracies re-read from each run's log
    (the final epoch's main/ and validation/main/accuracy, the blog's
    definition), so the table always says what the log says."""
    runs = []
    for run_dir in run_dirs:
        data = summary.load(run_dir)
        log_path = os.path.join(run_dir, 'log')
        if os.path.isfile(log_path):
            with open(log_path, encoding='utf-8') as f:
                data.update(summary.log_results(json.load(f)))
        data['run_dir'] = run_dir
        runs.append(data)
    return runs


def run_rows(runs):
    names = [blog.network_name(run['arch']) for run in runs]
    rows = []
    for name, run in zip(names, runs):
        if names.count(name) > 1:  # tell runs of one network apart
            name = '{} ({})'.format(name, run['run_dir'])
        rows.append((name, percent(run.get('train_accuracy')),
                     percent(run.get('test_accuracy')),
                     str(run.get('layers', '-')), run.get('input', '-')))
    return rows


def run_notes(runs):
    """One line per run: where it is, on what data, how long it took."""
    notes = []
    for run in runs:
        speed = run.get('train_images_per_s')
        notes.append(
            '{}: {} train / {} val images, {} of {} epochs{}, {:.0f} s{}, {}'
            .format(run['run_dir'], run.get('n_train', '?'),
                    run.get('n_val', '?'), run.get('epoch', '?'),
                    run.get('epochs_planned', '?'),
                    _status(run),
                    run.get('wall_time_s') or 0,
                    ', {:.1f} training images/s'.format(speed)
                    if speed else '', run.get('device', 'device unknown')))
    return notes


def _status(run):
    if run.get('test_run'):
        return ' (a --test smoke run)'
    return '' if run.get('finished') else ' (unfinished)'


def blog_rows():
    return [(name, percent(train), percent(test), str(layers), shape)
            for name, train, test, layers, shape in blog.BLOG_TABLE.values()]


def markdown(rows):
    lines = ['| ' + ' | '.join(HEADER) + ' |',
             '|' + '---|' * len(HEADER)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def plain(rows):
    widths = [max(len(r[i]) for r in [HEADER] + list(rows))
              for i in range(len(HEADER))]
    # Names and shapes left-aligned, numbers right-aligned.
    fmt = '  '.join('{:<%d}' % w if i in (0, 4) else '{:>%d}' % w
                    for i, w in enumerate(widths))
    lines = [fmt.format(*HEADER), '  '.join('-' * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return '\n'.join(line.rstrip() for line in lines)
