"""predict.py in batch mode: folders and list files in, one model load,
JSON lines or CSV out."""
import csv
import json
import os

import predict
import tiny_runs


def _images(data):
    root = os.path.join(data, 'images')
    return root, sorted(os.path.join(root, name, k)
                        for name in tiny_runs.CLASSES
                        for k in os.listdir(os.path.join(root, name)))


def test_jsonl_has_one_object_per_image_of_a_folder(run, data, tmp_path,
                                                    capsys):
    root, images = _images(data)
    out = tmp_path / 'p.jsonl'
    assert predict.main(['--run', run, root, '--jsonl', '-o', str(out),
                         '--batchsize', '7', '--top-k', '2']) == 0
    records = [json.loads(line) for line in
               out.read_text(encoding='utf-8').splitlines()]
    assert [r['path'] for r in records] == images
    for r in records:
        assert r['label'] in tiny_runs.CLASSES
        assert r['label'] == r['top_k'][0]['label']
        assert r['probability'] == r['top_k'][0]['probability']
        assert len(r['top_k']) == 2
        assert r['top_k'][0]['probability'] >= r['top_k'][1]['probability']


def test_batches_give_the_answers_of_single_images(run, data, tmp_path):
    root, images = _images(data)
    answers = {}
    for batchsize in ('1', '32'):
        out = tmp_path / 'p{}.jsonl'.format(batchsize)
        assert predict.main(['--run', run, root, '--jsonl', '-o', str(out),
                             '--batchsize', batchsize]) == 0
        answers[batchsize] = [json.loads(line) for line in
                              out.read_text().splitlines()]
    for one, many in zip(answers['1'], answers['32']):
        assert one['label'] == many['label']
        assert abs(one['probability'] - many['probability']) < 1e-5


def test_a_list_file_with_labels_and_a_bad_image_gives_csv(run, data,
                                                           tmp_path, capsys):
    (tmp_path / 'broken.png').write_bytes(b'not a png')
    listed = tmp_path / 'some.txt'
    listed.write_text('\ufeffred/0.png 0\nblue/1.png\n{} 2\n'.format(
        tmp_path / 'broken.png'), encoding='utf-8')
    assert predict.main(['--run', run, '--list', str(listed), '--root',
                         os.path.join(data, 'images'), '--csv',
                         '--threshold', '0.99']) == 1
    captured = capsys.readouterr()
    rows = list(csv.reader(captured.out.splitlines()))
    assert rows[0][:3] == ['path', 'label', 'probability']
    assert rows[0][-1] == 'unsure'
    assert [os.path.basename(r[0]) for r in rows[1:]] == ['0.png', '1.png']
    assert all(r[1] in tiny_runs.CLASSES for r in rows[1:])
    assert 'broken.png' in captured.err


def test_no_images_and_an_unreadable_list_are_one_line_errors(run, tmp_path,
                                                              capsys):
    assert predict.main(['--run', run, '--list',
                         str(tmp_path / 'none.txt')]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and 'none.txt' in err
    assert len(err.splitlines()) == 1


def test_an_output_that_cannot_be_written_is_one_line(run, data, tmp_path,
                                                      capsys):
    root, _ = _images(data)
    target = tmp_path / 'no' / 'such' / 'folder' / 'p.jsonl'
    assert predict.main(['--run', run, root, '--jsonl', '-o',
                         str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith('error: ') and 'p.jsonl' in err[-1]
    assert not any('Traceback' in line for line in err)


def test_a_list_that_is_not_utf8_names_its_line(run, tmp_path, capsys):
    listed = tmp_path / 'latin1.txt'
    listed.write_bytes(b'red/0.png 0\nbleu/\xe9t\xe9.png 2\n')
    assert predict.main(['--run', run, '--list', str(listed)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and err[-1].startswith('error: ')
    assert 'latin1.txt:2' in err[-1] and '0xe9' in err[-1]
