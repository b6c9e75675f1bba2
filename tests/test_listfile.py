"""The shared `path label` list format."""
import pytest

from imagedata import listfile


def test_round_trip_spaces_and_unicode(tmp_path):
    pairs = [('シャツ/白い シャツ 1.jpg', 0), ('long pants/a  b.png', 12),
             ('x.png', 3)]
    path = str(tmp_path / 'train.txt')
    listfile.write_list(path, pairs)
    assert listfile.read_list(path) == pairs


def test_label_is_the_last_field(tmp_path):
    path = tmp_path / 'l.txt'
    path.write_text('dir 7/img 3.png 5\n\n', encoding='utf-8')
    assert listfile.read_list(str(path)) == [('dir 7/img 3.png', 5)]


@pytest.mark.parametrize('content,message', [
    ('a.png 0\nb.png\n', r'l\.txt:2: no label'),
    ('a.png x\n', r'l\.txt:1: label \'x\' is not an integer'),
    ('a.png -1\n', r'l\.txt:1: label -1 is negative'),
    ('a.png 0\na.png 3\n', r'l\.txt:2: label 3 is outside the 3 classes'),
    ('\n\n', r'l\.txt: list file is empty'),
])
def test_errors_name_file_and_line(tmp_path, content, message):
    path = tmp_path / 'l.txt'
    path.write_text(content, encoding='utf-8')
    with pytest.raises(listfile.ListError, match=message):
        listfile.read_list(str(path), n_class=3)


def test_missing_file(tmp_path):
    with pytest.raises(listfile.ListError, match='list file not found'):
        listfile.read_list(str(tmp_path / 'nope.txt'))


def test_labels_beside_list(tmp_path):
    names = ['トップス', 'long pants', 'shoes']
    listfile.write_labels(str(tmp_path / 'labels.txt'), names)
    where = listfile.labels_path_for(str(tmp_path / 'train.txt'))
    assert listfile.read_labels(where) == names
