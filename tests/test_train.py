"""train_imagenet.py on a few dozen generated images with a tiny DenseNet."""
import os

import chainer
import numpy
import pytest

import kernels
import predict
import tiny_runs
import train_imagenet
from tiny_runs import read_log, read_summary, train_args

RUN_FILES = ['log', 'loss.png', 'accuracy.png', 'lr.png', 'cg.dot',
             'snapshot_epoch_1',
             'snapshot_epoch_2', 'model.npz', 'model_best.npz',
             'summary.json']
SUMMARY_KEYS = ['arch', 'layers', 'input', 'n_class', 'epoch',
                'train_accuracy', 'test_accuracy', 'best_test_accuracy',
                'wall_time_s', 'train_images_per_s', 'device', 'versions']




def test_two_epoch_run_writes_every_file(run):
    missing = [name for name in RUN_FILES
               if not os.path.isfile(os.path.join(run, name))]
    assert missing == []


def test_summary_records_the_run(run):
    summary = read_summary(run)
    log = read_log(run)
    assert [key for key in SUMMARY_KEYS if key not in summary] == []
    assert summary['finished'] is True
    assert summary['arch'] == 'densenet'
    assert summary['layers'] == 6  # 3 blocks x n_layer=2, from the model
    assert summary['input'] == '3x32x32'
    assert summary['n_class'] == 3
    assert summary['class_names'] == list(tiny_runs.CLASSES)
    assert summary['epoch'] == 2
    assert summary['iteration'] == log[-1]['iteration'] == 6  # 24 / 8 x 2
    assert summary['train_accuracy'] == pytest.approx(
        log[-1]['main/accuracy'])
    assert summary['test_accuracy'] == pytest.approx(
        log[-1]['validation/main/accuracy'])
    assert summary['best_test_accuracy'] == pytest.approx(
        max(e['validation/main/accuracy'] for e in log))
    assert summary['wall_time_s'] > 0
    assert summary['train_images_per_s'] > 0
    assert summary['device'].startswith('cpu')
    assert summary['cpu_kernels'] == 'kernels/'  # the default
    assert summary['versions']['chainer'] == chainer.__version__
    assert summary['versions']['numpy'] == numpy.__version__
    assert summary['n_train'] == 24 and summary['n_val'] == tiny_runs.N_VAL


def test_log_has_the_printed_entries_and_lr_drops_after_epoch_1(run):
    log = read_log(run)
    assert [e['epoch'] for e in log] == [1, 2]
    for key in ('main/loss', 'validation/main/loss', 'main/accuracy',
                'validation/main/accuracy', 'lr', 'elapsed_time'):
        assert key in log[0]
    assert [e['lr'] for e in log] == pytest.approx([0.01, 0.001])


def test_lr_schedule_flags(data, tmp_path):
    out = str(tmp_path / 'run')
    args = train_args(data, out, '--epoch', '3', '--lr', '0.02',
                      '--lr-drop-epoch', '2', '--lr-drop', '0.5')
    assert train_imagenet.main(args) == 0
    assert [e['lr'] for e in read_log(out)] == pytest.approx(
        [0.02, 0.02, 0.01])


def test_resume_from_epoch_1_snapshot_finishes_at_same_iteration(run, data,
                                                                 tmp_path):
    out = str(tmp_path / 'resumed')
    args = train_args(data, out, '--epoch', '2', '--lr-drop-epoch', '1',
                      '--resume', os.path.join(run, 'snapshot_epoch_1'))
    assert train_imagenet.main(args) == 0
    resumed, original = read_log(out), read_log(run)
    assert resumed[-1]['iteration'] == original[-1]['iteration']
    # The log and the lr schedule come back with the snapshot.
    assert [e['epoch'] for e in resumed] == [1, 2]
    assert resumed[0] == original[0]
    assert resumed[-1]['lr'] == pytest.approx(0.001)
    assert read_summary(out)['iteration'] == original[-1]['iteration']


def test_test_flag_runs_a_few_iterations(data, tmp_path):
    out = str(tmp_path / 'smoke')
    assert train_imagenet.main(train_args(data, out, '--test')) == 0
    summary = read_summary(out)
    assert summary['test_run'] is True
    assert summary['iteration'] == train_imagenet.TEST_ITERATIONS
    assert summary['n_val'] == train_imagenet.TEST_BATCH


def test_reference_kernels_flag_runs_on_chainers_own(data, tmp_path):
    out = str(tmp_path / 'reference')
    assert train_imagenet.main(train_args(data, out, '--test',
                                          '--reference-kernels')) == 0
    assert not kernels.installed()
    assert read_summary(out)['cpu_kernels'] == 'chainer'


def test_class_count_from_labels_txt_else_largest_label(tmp_path):
    data = tiny_runs.make_data(str(tmp_path / 'data'), with_labels=False)
    out = str(tmp_path / 'nolabels')
    assert train_imagenet.main(train_args(data, out, '--test')) == 0
    assert read_summary(out)['n_class'] == 3
    assert read_summary(out)['class_names'] == ['0', '1', '2']
    with open(os.path.join(data, 'labels.txt'), 'w') as f:
        f.write('a\nb\nc\nd\n')  # a class with no images still counts
    out = str(tmp_path / 'labels')
    assert train_imagenet.main(train_args(data, out, '--test')) == 0
    assert read_summary(out)['n_class'] == 4


def test_label_outside_labels_txt_is_one_line_error(data, tmp_path, capsys):
    bad = tmp_path / 'lists'
    bad.mkdir()
    (bad / 'labels.txt').write_text('red\ngreen\n')
    (bad / 'train.txt').write_text('red/0.png 0\nblue/0.png 2\n')
    (bad / 'val.txt').write_text('red/8.png 0\n')
    args = [str(bad / 'train.txt'), str(bad / 'val.txt'), '--root',
            os.path.join(data, 'images'), '--out', str(tmp_path / 'o')]
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0
    assert 'train.txt:2' in err and 'outside the 2 classes' in err


def test_wrong_root_names_the_list_line(data, tmp_path, capsys):
    args = train_args(data, str(tmp_path / 'o'))
    args[args.index('--root') + 1] = str(tmp_path)
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err
    assert 'train.txt:1' in err and '--root' in err


def test_unknown_model_option_lists_the_valid_ones(data, tmp_path, capsys):
    args = train_args(data, str(tmp_path / 'o'), '--model-option', 'depth=3')
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err
    assert 'depth' in err and 'growth_rate' in err


def test_mean_with_blog_preprocessing_is_refused(data, tmp_path, capsys):
    mean = str(tmp_path / 'mean.npy')
    numpy.save(mean, numpy.zeros((3, 32, 32), numpy.float32))
    args = train_args(data, str(tmp_path / 'o'), '--mean', mean)
    assert train_imagenet.main(args) == 2
    assert 'blog preset subtracts no mean' in capsys.readouterr().err


def test_example_preprocessing_saves_the_mean_in_the_run(data, tmp_path):
    mean = str(tmp_path / 'mean.npy')
    numpy.save(mean, numpy.full((3, 32, 32), 100, numpy.float32))
    out = str(tmp_path / 'example')
    args = train_args(data, out, '--test', '--preprocess', 'example',
                      '--mean', mean)
    assert train_imagenet.main(args) == 0
    assert read_summary(out)['preprocess'] == 'example'
    assert read_summary(out)['mean'] == 'mean.npy'
    assert numpy.load(os.path.join(out, 'mean.npy')).mean() == 100
    image = os.path.join(data, 'images', 'blue', '9.png')
    assert predict.main(['--run', out, image]) == 0  # with the run's mean


def test_insize_trains_at_another_size(data, tmp_path):
    out = str(tmp_path / 'at20')
    assert train_imagenet.main(train_args(data, out, '--insize', '20',
                                          '--test')) == 0
    summary = read_summary(out)
    assert summary['insize'] == 20 and summary['input'] == '3x20x20'


def test_insize_a_network_cannot_take_is_one_line(data, tmp_path, capsys):
    args = train_args(data, str(tmp_path / 'x'), '--insize', '3', '--test')
    assert train_imagenet.main(args) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert err.startswith('error: --insize 3: DenseNet cannot take 3x3 '
                          'images; nearest sizes it takes: 4')


def test_predict_at_another_size_when_the_network_allows(run, capsys):
    image = os.path.join(tiny_runs._runs['data'], 'images', 'red', '0.png')
    assert predict.main(['--run', run, image, '--insize', '48']) == 0
    assert capsys.readouterr().out.startswith(image)
    assert predict.main(['--run', run, image, '--insize', '3']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'built for 32x32 images and cannot classify 3x3 ones' in err
