"""make reproduce: the blog's experiment on Fashion-MNIST (or your lists),
in one of three budgets (tools/budgets.py):

    blog       the blog's protocol (50 epochs, lr 0.01 -> 0.001 after 30):
               hours on a GPU
    gpu-quick  the same input sizes, a few epochs: about 15 min on a GPU
    cpu        small inputs, training subsets, 2-3 epochs: at most 2 hours
               for all four networks on 2 CPU cores

    data -> class-balanced subsets -> train_imagenet.py x 4 -> the table,
    and results.evaluate of the best run (confusion matrix, thresholds)

Training runs go to result/fashion-mnist/BUDGET/<arch>/ (snapshots and
models, not committed); each finished run's summary, log and curves are
copied to results/fashion-mnist/BUDGET/ at once, with the table so far.
Started again, it skips finished runs and resumes unfinished ones through
the trainer's --resume auto. Fashion-MNIST's official split (60,000 /
10,000) is the train / test split; with --train/--val any lists work.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from budgets import BUDGETS, describe  # noqa: E402
from steps import (REPO, SUBSET_SEED, export_fashion_mnist,  # noqa: E402
                   finished, keep_files, run, write_subset)

from results import blog, published, summary, table  # noqa: E402

ARCHS = tuple(BUDGETS['blog'].plans)
KEPT = ('summary.json', 'log', 'loss.png', 'accuracy.png')


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join('{:<10} {}'.format(b.name, b.about)
                         for b in BUDGETS.values()))
    parser.add_argument('--budget', choices=sorted(BUDGETS), default='blog',
                        help='how much training (default %(default)s)')
    parser.add_argument('--gpu', default=None,
                        help='GPU id, negative for the CPU (default: 0, or '
                             '-1 for the cpu budget)')
    parser.add_argument('--arch', action='append', choices=ARCHS,
                        help='only these networks (repeatable)')
    parser.add_argument('--train', help='training list (default: '
                        'Fashion-MNIST, exported to --data)')
    parser.add_argument('--val', help='validation list (with --train)')
    parser.add_argument('--root', default=None,
                        help='folder the list paths are relative to')
    parser.add_argument('--data', default='data/fashion-mnist',
                        help='where Fashion-MNIST is exported (default '
                             '%(default)s)')
    parser.add_argument('--runs', default=None, help='training runs '
                        '(default result/fashion-mnist/BUDGET)')
    parser.add_argument('--results', default=None, help='what is kept: '
                        'table, summaries, curves, evaluation (default '
                        'results/fashion-mnist/BUDGET)')
    parser.add_argument('--loaderjob', '-j', default=str(os.cpu_count()))
    parser.add_argument('--limit-per-class', default=None, metavar='N',
                        help='export only N Fashion-MNIST images per class '
                             'and split (a smoke check)')
    parser.add_argument('--test', action='store_true',
                        help='pass --test to the trainer (a smoke check)')
    args = parser.parse_args(argv)
    if bool(args.train) != bool(args.val):
        parser.error('--train and --val go together')
    budget = BUDGETS[args.budget]
    if args.gpu is None:
        args.gpu = '-1' if budget.device == 'cpu' else '0'
    args.runs = args.runs or os.path.join('result', 'fashion-mnist',
                                          budget.name)
    args.results = args.results or os.path.join('results', 'fashion-mnist',
                                                budget.name)
    return args


def source_lists(args):
    """(train list, val list, root), exporting Fashion-MNIST if needed."""
    if args.train:
        return args.train, args.val, args.root or '.'
    export_fashion_mnist(args.data, args.limit_per_class)
    return (os.path.join(args.data, 'train.txt'),
            os.path.join(args.data, 'test.txt'), args.data)


def train_command(arch, plan, lists, val_list, root, out, args):
    command = ['python', 'train_imagenet.py', lists, val_list, '--root',
               root, '--arch', arch, '--insize', str(plan.insize),
               '--epoch', str(plan.epochs), '--lr', str(plan.lr),
               '--lr-drop-epoch', str(plan.lr_drop_epoch), '--batchsize',
               str(plan.batchsize), '--gpu', args.gpu, '--loaderjob',
               args.loaderjob, '--seed', '0', '--out', out, '--resume',
               'auto']
    if plan.bn_reestimate:
        command += ['--bn-reestimate', str(plan.bn_reestimate)]
    if args.test:
        command.append('--test')
    return command


def record_budget(run_dir, budget, plan, n_train, n_val):
    """Write the budget's choices into the run's summary.json."""
    data = summary.load(run_dir)
    data['budget'] = {
        'name': budget.name, 'plan': describe(plan, n_train),
        'validation': '{:,} images{}'.format(
            n_val, '' if budget.val_per_class is None else
            ' ({} per class of the test list)'.format(budget.val_per_class)),
    }
    summary.write(run_dir, data)


def publish(run_dirs, results_dir, budget):
    """Copy the finished runs' files and write the table so far."""
    os.makedirs(results_dir, exist_ok=True)
    for run_dir in run_dirs:
        keep_files(run_dir, results_dir, KEPT)
    with open(os.path.join(results_dir, 'table.md'), 'w',
              encoding='utf-8') as f:
        f.write(table_markdown(table.load_runs(run_dirs), budget))


def table_markdown(runs, budget):
    """The blog-format table, then ours beside the blog's and the
    published figures, then how each run was trained."""
    lines = ['# Fashion-MNIST, budget `{}`'.format(budget.name), '',
             'Budget: {}.'.format(budget.about), '',
             table.markdown(table.run_rows(runs)), '']
    val = runs[0].get('budget', {}).get('validation') if runs else None
    lines += ['test acc: the final epoch\'s validation accuracy on {} of '
              'Fashion-MNIST\'s official test images{}, never on training '
              'images; train acc: the final epoch\'s running accuracy on '
              'its training batches.'.format(
                  val or 'the whole list', '' if budget.val_per_class is None
                  else ' (a stratified subset, the same for every network)'),
              '', '| network | ours: test acc | the blog (34 categories of '
              'its own photos) | published for Fashion-MNIST |',
              '|---|---|---|---|']
    for record in runs:
        row = blog.blog_row(record['arch'])
        pub = published.PUBLISHED.get(record['arch'])
        lines.append('| {} | {} | {} | {} |'.format(
            blog.network_name(record['arch']),
            table.percent(record.get('test_accuracy')),
            table.percent(row[2]) if row else '-',
            '{} ({})'.format(table.percent(pub[1]), pub[0]) if pub else
            'none listed'))
    lines += ['', 'Published: {}.'.format(published.SOURCE), '',
              '| network | how it was trained | images seen | wall time | '
              'device | finished |', '|---|---|---|---|---|---|']
    for record in runs:
        lines.append('| {} | {} | {:,} | {:.1f} min | {} | {} |'.format(
            blog.network_name(record['arch']),
            record.get('budget', {}).get('plan', '-'),
            record.get('images_seen') or 0,
            (record.get('wall_time_s') or 0) / 60, record.get('device', '-'),
            'yes' if record.get('finished') else 'no'))
    total = sum(record.get('wall_time_s') or 0 for record in runs) / 60
    lines += ['', 'All {} runs together: {:.1f} min of wall time.'.format(
        len(runs), total), '']
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    budget = BUDGETS[args.budget]
    archs = args.arch or ARCHS
    train_list, val_list, root = source_lists(args)
    lists = os.path.join(args.runs, 'lists')
    val_subset = os.path.join(lists, 'val.txt')
    n_val = write_subset(os.path.join(REPO, val_list),
                         os.path.join(REPO, val_subset),
                         budget.val_per_class, SUBSET_SEED)

    started, planned_done, spent_done = time.time(), 0.0, 0.0
    done = []
    for k, arch in enumerate(archs, 1):
        plan = budget.plans[arch]
        out = os.path.join(args.runs, arch)
        if finished(os.path.join(REPO, out)) and not args.test:
            print('\n[{}/{}] {} is finished; skipped'.format(
                k, len(archs), out))
            done.append(out)
            continue
        subset = os.path.join(lists, 'train-{}.txt'.format(
            plan.train_per_class or 'all'))
        n_train = write_subset(os.path.join(REPO, train_list),
                               os.path.join(REPO, subset),
                               plan.train_per_class, SUBSET_SEED)
        print('\n[{}/{}] {}: {}'.format(k, len(archs), arch,
                                        describe(plan, n_train)))
        print(eta_line(budget, archs[k - 1:], planned_done, spent_done,
                       started), flush=True)
        begin = time.time()
        run(train_command(arch, plan, subset, val_subset, root, out, args))
        if plan.minutes:
            planned_done += plan.minutes
            spent_done += (time.time() - begin) / 60
        record_budget(os.path.join(REPO, out), budget, plan, n_train, n_val)
        done.append(out)
        publish([os.path.join(REPO, r) for r in done],
                os.path.join(REPO, args.results), budget)

    run_dirs = [os.path.join(REPO, r) for r in done]
    best = max(run_dirs, key=lambda r: summary.load(r).get(
        'test_accuracy') or 0)
    run(['python', '-m', 'results.evaluate', best, '--gpu', args.gpu,
         '--loaderjob', args.loaderjob, '--out', os.path.join(
             args.results, 'eval-' + os.path.basename(best))])
    publish(run_dirs, os.path.join(REPO, args.results), budget)
    run(['python', '-m', 'results'] + done)
    print('wrote {} ({:.1f} min)'.format(args.results,
                                          (time.time() - started) / 60))
    return 0


def eta_line(budget, remaining, planned_done, spent_done, started):
    """Minutes used so far and the expected end, from the plan's minutes
    scaled by how the finished runs kept to theirs."""
    minutes = [budget.plans[a].minutes for a in remaining]
    used = (time.time() - started) / 60
    if None in minutes:
        return 'time used so far: {:.0f} min'.format(used)
    scale = spent_done / planned_done if planned_done else 1.0
    left = sum(minutes) * scale
    return ('time used so far: {:.0f} min; about {:.0f} min to go (ETA '
            '{})'.format(used, left, time.strftime(
                '%H:%M', time.localtime(time.time() + 60 * left))))


if __name__ == '__main__':
    sys.exit(main())
