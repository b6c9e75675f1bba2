"""The blog-format table: network | train acc | test acc | Layers | input,
with a recipe column when the runs were trained with different recipes."""
import json
import os

from results import blog, recipes, summary

HEADER = ('network', 'train acc', 'test acc', 'Layers', 'input')
RECIPE = 'recipe'
LEFT_ALIGNED = ('network', 'input', RECIPE)


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


def run_rows(runs, recipe_column=False):
    """One row per run; with `recipe_column`, each row ends with the run's
    recipe (see runs_table)."""
    names = [blog.network_name(run['arch']) for run in runs]
    rows = []
    for name, run in zip(names, runs):
        if names.count(name) > 1:  # tell runs of one network apart
            name = '{} ({})'.format(name, run['run_dir'])
        row = (name, percent(run.get('train_accuracy')),
               percent(run.get('test_accuracy')),
               str(run.get('layers', '-')), run.get('input', '-'))
        rows.append(row + (recipes.describe(run),) if recipe_column else row)
    return rows


def runs_table(runs):
    """(title, header, rows) of the runs' table: one recipe shared by all
    runs is said in the title; runs with different recipes get a recipe
    column, so a table never mixes recipes without saying so."""
    recipe = recipes.shared(runs)
    if recipe is not None:
        return ('These runs (recipe: {})'.format(recipe), HEADER,
                run_rows(runs))
    return ('These runs (different recipes: see the recipe column)',
            HEADER + (RECIPE,), run_rows(runs, recipe_column=True))


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


def millions(count):
    """A parameter count as people say it: 6.6 M, or 25 k when small."""
    if count >= 100000:
        return '{:.1f} M'.format(count / 1e6)
    return '{:.0f} k'.format(count / 1e3)


def parameter_count(run):
    """The run's network's parameters, rebuilt from its summary."""
    from results.run import Run
    return Run(run['run_dir']).build_model().count_params()


def load_latency(path):
    """bench/inference.py --json: {arch: batch-1 median ms} of kernels/
    (else Chainer's own functions), and a note saying what was timed."""
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        latency, sizes = {}, []
        for arch, entry in data['networks'].items():
            variants = entry['variants']
            variant = 'kernels' if 'kernels' in variants else 'chainer'
            latency[arch] = variants[variant]['median_ms']
            sizes.append('{} {}x{}'.format(arch, entry['insize'],
                                           entry['insize']))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError('{}: not a bench/inference.py --json file ({})'
                         .format(path, e))
    note = ('batch-1 ms: Chainer + kernels/ on the CPU, median, from {} '
            '(each network at its own input size: {}; {})'.format(
                path, ', '.join(sizes), data.get('machine', '')))
    return latency, note


def with_cost(header, rows, runs, latency=None):
    """The table with each run's parameter count and, given bench
    latencies by architecture, its batch-1 latency: accuracy beside
    cost, for choosing a network."""
    header = tuple(header) + ('params',) + (
        ('batch-1 ms',) if latency is not None else ())
    out = []
    for row, run in zip(rows, runs):
        row = tuple(row) + (millions(parameter_count(run)),)
        if latency is not None:
            ms = latency.get(run['arch'])
            row += ('-' if ms is None else '{:.1f}'.format(ms),)
        out.append(row)
    return header, out


def blog_rows():
    return [(name, percent(train), percent(test), str(layers), shape)
            for name, train, test, layers, shape in blog.BLOG_TABLE.values()]


def markdown(rows, header=HEADER):
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def plain(rows, header=HEADER):
    widths = [max(len(r[i]) for r in [header] + list(rows))
              for i in range(len(header))]
    # Names, shapes and recipes left-aligned, numbers right-aligned.
    fmt = '  '.join('{:<%d}' % w if name in LEFT_ALIGNED else '{:>%d}' % w
                    for name, w in zip(header, widths))
    lines = [fmt.format(*header), '  '.join('-' * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return '\n'.join(line.rstrip() for line in lines)
