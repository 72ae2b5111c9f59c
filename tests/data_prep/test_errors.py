from data_prep.errors import InputError


def test_message_is_one_line_naming_the_file_and_line():
    assert str(InputError("a/b.wav", "empty file")) == "a/b.wav: empty file"
    error = InputError("m.tsv", "missing text", line=7)
    assert str(error) == "m.tsv:7: missing text" and error.path == "m.tsv" and error.line == 7
