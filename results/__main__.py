"""python -m results RUN_DIR...: the blog-format table of training runs,
next to the blog's own table."""
import chainer_compat  # noqa: F401  (must precede chainer)

import argparse
import sys

from results import blog, summary, table
from results.run import check_model
from trainer.errors import UsageError, storage_failures


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m results',
        description='Print the blog-format table (network | train acc | '
                    'test acc | Layers | input) of training runs, next to '
                    "the blog's numbers. The runs' training recipe ('blog' "
                    'for the blog\'s protocol) is said above the table, or '
                    'in a recipe column when the runs differ.')
    parser.add_argument('runs', nargs='+', metavar='RUN_DIR',
                        help='--out directories of train_imagenet.py')
    parser.add_argument('--markdown', metavar='FILE',
                        help='also write the tables as Markdown')
    parser.add_argument('--no-blog', action='store_true',
                        help="leave out the blog's table")
    parser.add_argument('--cost', action='store_true',
                        help='add each network\'s parameter count')
    parser.add_argument('--latency', metavar='JSON',
                        help='add batch-1 latency per network from '
                             'bench/inference.py --json (implies --cost)')
    args = parser.parse_args(argv)
    try:
        runs = table.load_runs(args.runs)
        latency = (table.load_latency(args.latency) if args.latency
                   else (None, None))
        for run_dir in args.runs:  # a damaged model file is said, not hidden
            check_model(run_dir)
        return print_tables(args, runs, *latency)
    except (summary.SummaryError, UsageError, ValueError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 2


def print_tables(args, runs, latency=None, latency_note=None):
    title, header, rows = table.runs_table(runs)
    notes = table.run_notes(runs)
    if args.cost or latency is not None:
        header, rows = table.with_cost(header, rows, runs, latency)
    if latency_note:
        notes.append(latency_note)
    blog_title = "The blog's table ({})".format(blog.BLOG_SETUP)

    print('{}:\n\n{}\n'.format(title, table.plain(rows, header)))
    print('\n'.join(notes) + '\n')
    if not args.no_blog:
        print('{}:\n\n{}\n'.format(blog_title,
                                   table.plain(table.blog_rows())))
    if args.markdown:
        with storage_failures(args.markdown, 'the tables are printed '
                              'above'), \
                open(args.markdown, 'w', encoding='utf-8') as f:
            f.write('{}:\n\n{}\n\n'.format(
                title, table.markdown(rows, header)))
            f.write(''.join('- {}\n'.format(n) for n in notes) + '\n')
            if not args.no_blog:
                f.write('{}:\n\n{}\n'.format(
                    blog_title, table.markdown(table.blog_rows())))
        print('wrote {}'.format(args.markdown))
    return 0


if __name__ == '__main__':
    sys.exit(main())
