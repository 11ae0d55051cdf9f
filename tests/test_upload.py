"""The upload widget's server side: files handed over once, a file over the limit dropped whatever the
browser did (a client may ignore FilePond's size check), one file in memory at a time."""
from types import SimpleNamespace

from otlab.app.upload import Upload


def chunk(name, k, total, data=b"x" * 400):
    return SimpleNamespace(event_name="upload_event", data={"name": name, "chunk": k, "total_chunks": total,
                                                             "data": data, "type": "model/obj"})


def make(limit=1000):
    files, said = [], []
    upload = Upload(lambda name, data: files.append((name, data)), said.append, limit, "otlab-upload")
    return upload, files, said


def test_a_file_under_the_limit_arrives_once_in_one_piece():
    upload, files, said = make()
    for k in (1, 2):
        upload.widget._process_event(chunk("a.obj", k, 2))
    assert files == [("a.obj", b"x" * 800)] and said == []
    upload.widget.param.trigger("value")  # another change of the widget: the same file is not handed twice
    assert len(files) == 1


def test_a_file_over_the_limit_is_dropped_on_the_server():
    upload, files, said = make()
    for k in (1, 2, 3, 4):  # 1,600 bytes in 400-byte chunks, the limit 1,000: dropped at the third
        upload.widget._process_event(chunk("big.obj", k, 4))
    assert files == [] and upload.widget._file_buffer == {}
    assert said == ["'big.obj' is over 1,000 bytes: refused."]  # once: its last chunk is ignored
    upload.widget._process_event(chunk("small.obj", 1, 1))  # the next file is taken
    assert files == [("small.obj", b"x" * 400)]


def test_two_files_at_once_are_both_dropped():
    upload, files, said = make(limit=10_000)
    upload.widget._process_event(chunk("one.obj", 1, 3))
    upload.widget._process_event(chunk("two.obj", 1, 3))
    assert upload.widget._file_buffer == {} and files == [] and len(said) == 1
